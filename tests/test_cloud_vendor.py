"""The cloud client against a loopback stand-in for the vendor (openplatform + OSS + aigen).

The client keeps the vendor's host names and reaches the stand-in as its HTTP proxy, so the
upload flow, the signatures and every form field are checked as the vendor would have.
"""

from __future__ import annotations

import io
import socket

import numpy as np
import pytest
from PIL import Image
from vendor_standin import AIGEN_HOST, VendorStandIn

from scribbleseg.cloud import CloudError, Credentials, RetryPolicy, segment_via_cloud
from scribbleseg.request import request_from_arrays
from scribbleseg_editor.options import SegmentOptions

VENDOR_ENDPOINT = f"http://{AIGEN_HOST}"
FAST_RETRIES = RetryPolicy(attempts=2, first_delay_s=0.05)


@pytest.fixture
def vendor(monkeypatch: pytest.MonkeyPatch):
    with VendorStandIn() as standin:
        _route_through(monkeypatch, standin.proxy_url)
        yield standin


def _route_through(monkeypatch: pytest.MonkeyPatch, proxy_url: str) -> None:
    for name in ("no_proxy", "NO_PROXY", "HTTP_PROXY", "ALIBABA_CLOUD_ACCESS_KEY_ID",
                 "ALIBABA_CLOUD_ACCESS_KEY_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("http_proxy", proxy_url)


def _keys(vendor: VendorStandIn, secret: str | None = None) -> Credentials:
    return Credentials(vendor.state.access_key_id, secret or vendor.state.secret)


def _request():
    rng = np.random.default_rng(7)
    image = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    positive = np.zeros((48, 64), bool)
    positive[10:20, 10:40] = True
    negative = np.zeros((48, 64), bool)
    negative[15:18, 30:50] = True
    mask = np.zeros((48, 64), bool)
    mask[30:40, 5:15] = True
    options = SegmentOptions(postprocess="edgerefine", feather=False)
    return request_from_arrays(image, positive, negative, mask, options)


@pytest.mark.parametrize("signature", ["v3", "v1"])
def test_vendor_upload_flow_gives_the_alpha(vendor: VendorStandIn, signature: str) -> None:
    request = _request()
    alpha = segment_via_cloud(request, endpoint=VENDOR_ENDPOINT, credentials=_keys(vendor),
                              upload="oss", signature=signature, retries=FAST_RETRIES)
    assert vendor.refusals == []
    expected = ((request.mask >= 0.5) | request.positive) & ~request.negative
    assert alpha.dtype == np.uint8 and alpha.shape == (48, 64)
    np.testing.assert_array_equal(alpha, np.where(expected, 255, 0))
    [call] = vendor.calls
    assert call["ReturnForm"] == "only_alpha" and call["ReturnFormat"] == "PNG"
    assert call["EdgeFeathering"] == "false" and call["PostprocessOption"] == "edgerefine"
    sent_image = Image.open(io.BytesIO(vendor.uploaded(call["ImageUrl"])))
    np.testing.assert_array_equal(np.asarray(sent_image.convert("RGB")), request.image)


def test_auto_upload_uses_the_vendor_flow_when_direct_upload_is_not_advertised(
    vendor: VendorStandIn,
) -> None:
    alpha = segment_via_cloud(_request(), endpoint=VENDOR_ENDPOINT, credentials=_keys(vendor),
                              retries=FAST_RETRIES)
    assert alpha.any()
    assert len(vendor.calls) == 1
    # The only refusal is the vendor's answer to the capability probe (a bare GET /).
    assert [(r.host, r.code) for r in vendor.refusals] == [(AIGEN_HOST, "InvalidAction.NotFound")]


def test_wrong_secret_is_a_clear_error_without_the_secret(vendor: VendorStandIn) -> None:
    with pytest.raises(CloudError) as caught:
        segment_via_cloud(_request(), endpoint=VENDOR_ENDPOINT,
                          credentials=_keys(vendor, "not-the-secret"), upload="oss",
                          retries=FAST_RETRIES)
    error = caught.value
    assert error.code == "SignatureDoesNotMatch" and error.http_status == 400
    assert error.request_id and error.request_id in str(error)
    assert "AccessKeySecret" in error.message  # says what to check
    assert "not-the-secret" not in str(error) and "not-the-secret" not in repr(error)


def test_unknown_access_key_names_the_settings_to_fix(vendor: VendorStandIn) -> None:
    with pytest.raises(CloudError) as caught:
        segment_via_cloud(_request(), endpoint=VENDOR_ENDPOINT, upload="oss",
                          credentials=Credentials("LTAI-unknown", "x"), signature="v1",
                          retries=FAST_RETRIES)
    assert caught.value.code == "InvalidAccessKeyId.NotFound"
    assert caught.value.http_status == 404
    assert "ALIBABA_CLOUD_ACCESS_KEY_ID" in caught.value.message


def test_retired_vendor_endpoint_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as closed:  # a port nothing listens on: the vendor host is gone
        closed.bind(("127.0.0.1", 0))
        _route_through(monkeypatch, f"http://127.0.0.1:{closed.getsockname()[1]}")
        with pytest.raises(CloudError) as caught:
            segment_via_cloud(_request(), endpoint=VENDOR_ENDPOINT, upload="oss",
                              credentials=Credentials("id", "secret"), retries=FAST_RETRIES)
    assert caught.value.code == "Cloud.Unreachable"
    assert "taken down on 2025-10-14" in caught.value.message
