"""Reading the service's result file: the alpha comes back whatever form the server chose."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from scribbleseg.cloud import CloudError
from scribbleseg.cloud.client import alpha_from_result

ALPHA = np.tile(np.arange(0, 256, 4, dtype=np.uint8), (48, 1))  # 48x64


def _png(picture: Image.Image) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, "PNG")
    return buffer.getvalue()


def test_only_alpha_result_is_the_alpha() -> None:
    data = _png(Image.fromarray(ALPHA, "L"))
    np.testing.assert_array_equal(alpha_from_result(data, (48, 64), "id"), ALPHA)


def test_rgb_alpha_result_gives_its_alpha_channel() -> None:
    rgba = np.dstack([np.full((48, 64, 3), 200, np.uint8), ALPHA])
    data = _png(Image.fromarray(rgba, "RGBA"))
    np.testing.assert_array_equal(alpha_from_result(data, (48, 64), "id"), ALPHA)


def test_result_of_another_size_is_refused_before_decoding() -> None:
    data = _png(Image.fromarray(ALPHA, "L"))
    with pytest.raises(CloudError) as caught:
        alpha_from_result(data, (64, 64), "req-7")
    assert caught.value.code == "Cloud.BadResponse"
    assert "64x48" in caught.value.message and "req-7" in caught.value.message


def test_result_that_is_no_image_is_a_clear_error() -> None:
    with pytest.raises(CloudError) as caught:
        alpha_from_result(b"<html>expired</html>", (48, 64), None)
    assert caught.value.code == "Cloud.BadResponse"
    assert "could not be decoded" in caught.value.message
