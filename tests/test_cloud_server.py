"""The cloud client against the project's own API server (scribbleseg.server), on loopback."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from scribbleseg.cloud import CloudError, Credentials, RetryPolicy, segment_via_cloud
from scribbleseg.request import request_from_arrays, run
from scribbleseg.server.cloud import CloudServer, CloudSettings
from scribbleseg.server.results import LocalDiskStore
from scribbleseg_editor.options import SegmentOptions

KEY_ID, SECRET = "test-key", "test-secret"
FAST_RETRIES = RetryPolicy(attempts=2, first_delay_s=0.05)


def _serve(settings: CloudSettings, results: Path) -> Iterator[str]:
    server = CloudServer(settings, LocalDiskStore(results))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.url
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def signed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = CloudSettings(keys={KEY_ID: SECRET}, workers=1, queue=4)
    yield from _serve(settings, tmp_path_factory.mktemp("results"))


@pytest.fixture(scope="module")
def unsigned_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from _serve(CloudSettings(keys=None, workers=1), tmp_path_factory.mktemp("results"))


@pytest.fixture(autouse=True)
def no_ambient_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
                 "http_proxy", "HTTP_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SCRIBBLESEG_CONFIG_DIR", str(tmp_path))


@pytest.fixture(scope="module")
def disc():
    """A request (a bright disc on a noisy dark background, a stroke inside it and one
    outside), the disc, and the local engine's alpha for it (computed once: it is slow)."""
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[:96, :128]
    disc = (yy - 48) ** 2 + (xx - 60) ** 2 < 30**2
    image = np.where(disc[..., None], 210, 40) + rng.integers(-20, 20, (96, 128, 3))
    positive = np.zeros((96, 128), bool)
    positive[44:52, 45:75] = True
    negative = np.zeros((96, 128), bool)
    negative[5:10, 5:120] = True
    request = request_from_arrays(image.astype(np.uint8), positive, negative,
                                  options=SegmentOptions(postprocess="edgerefine"))
    local = run(request)
    return request, disc, local


@pytest.mark.parametrize("signature", ["v3", "v1"])
def test_direct_upload_gives_the_local_engines_mask(
    signed_server: str, disc, signature: str
) -> None:
    request, shape, local = disc
    alpha = segment_via_cloud(request, endpoint=signed_server, upload="direct",
                              signature=signature, credentials=Credentials(KEY_ID, SECRET),
                              retries=FAST_RETRIES)
    np.testing.assert_array_equal(alpha, local)
    assert ((alpha >= 128) == shape).mean() > 0.95  # and it is the disc


def test_credentials_from_the_environment(
    signed_server: str, disc, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", KEY_ID)
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", SECRET)
    request, _, local = disc
    alpha = segment_via_cloud(request, endpoint=signed_server, upload="direct",
                              retries=FAST_RETRIES)
    np.testing.assert_array_equal(alpha, local)


def test_unsigned_calls_reach_an_unsigned_loopback_server(unsigned_server: str, disc) -> None:
    request, _, local = disc
    alpha = segment_via_cloud(request, endpoint=unsigned_server, upload="direct",
                              retries=FAST_RETRIES)
    np.testing.assert_array_equal(alpha, local)


def test_auto_upload_finds_direct_upload(signed_server: str, disc) -> None:
    request, _, local = disc
    alpha = segment_via_cloud(request, endpoint=signed_server,
                              credentials=Credentials(KEY_ID, SECRET), retries=FAST_RETRIES)
    np.testing.assert_array_equal(alpha, local)


@pytest.mark.parametrize("signature", ["v3", "v1"])
def test_wrong_secret_is_refused_with_the_servers_code(
    signed_server: str, disc, signature: str
) -> None:
    request = disc[0]
    with pytest.raises(CloudError) as caught:
        segment_via_cloud(request, endpoint=signed_server, upload="direct", signature=signature,
                          credentials=Credentials(KEY_ID, "wrong-secret"), retries=FAST_RETRIES)
    error = caught.value
    assert (error.code, error.http_status) == ("AuthFailed", 403)
    assert error.request_id and "AccessKeySecret" in error.message
    assert "wrong-secret" not in str(error)


def test_unsigned_call_to_a_signed_server_says_where_keys_go(signed_server: str, disc) -> None:
    request = disc[0]
    with pytest.raises(CloudError) as caught:
        segment_via_cloud(request, endpoint=signed_server, upload="direct", retries=FAST_RETRIES)
    assert caught.value.code == "AuthFailed"
    assert "ALIBABA_CLOUD_ACCESS_KEY_ID" in caught.value.message
