"""Answer files: each ReturnForm in each ReturnFormat decodes to the right mode, size and pixels."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from scribbleseg.output import encode_result, over_white
from scribbleseg_editor.errors import ScribbleSegError
from scribbleseg_editor.options import SegmentOptions

HEIGHT, WIDTH = 40, 72


def photo() -> np.ndarray:
    picture = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    picture[:, :, 0] = 200
    picture[:, :, 2] = np.linspace(0, 255, WIDTH, dtype=np.uint8)
    return picture


def alpha() -> np.ndarray:
    """Object on the left half, a soft ramp in the middle, background on the right."""
    values = np.zeros((HEIGHT, WIDTH), np.uint8)
    values[:, :32] = 255
    values[:, 32:40] = np.linspace(224, 32, 8, dtype=np.uint8)
    return values


def encoded(form: str, fmt: str) -> tuple[Image.Image, str]:
    options = SegmentOptions(return_form=form, return_format=fmt)
    data, content_type = encode_result(photo(), alpha(), options)
    return Image.open(io.BytesIO(data)), content_type


def test_rgb_alpha_png_is_the_exact_cut_out() -> None:
    picture, content_type = encoded("rgb_alpha", "PNG")
    assert (picture.format, picture.mode, picture.size) == ("PNG", "RGBA", (WIDTH, HEIGHT))
    assert content_type == "image/png"
    pixels = np.asarray(picture)
    assert (pixels[:, :, :3] == photo()).all() and (pixels[:, :, 3] == alpha()).all()


def test_only_alpha_png_is_the_mask() -> None:
    picture, content_type = encoded("only_alpha", "PNG")
    assert (picture.mode, picture.size, content_type) == ("L", (WIDTH, HEIGHT), "image/png")
    assert (np.asarray(picture) == alpha()).all()


def test_only_alpha_jpg_is_a_gray_jpeg() -> None:
    picture, content_type = encoded("only_alpha", "JPG")
    assert (picture.format, picture.mode, content_type) == ("JPEG", "L", "image/jpeg")
    assert np.abs(np.asarray(picture).astype(int) - alpha()).mean() < 3


def test_white_background_png() -> None:
    picture, _ = encoded("white_background", "PNG")
    assert (picture.mode, picture.size) == ("RGB", (WIDTH, HEIGHT))
    pixels = np.asarray(picture)
    assert (pixels[:, :32] == photo()[:, :32]).all()
    assert (pixels[:, 40:] == 255).all()


@pytest.mark.parametrize("form", ["rgb_alpha", "white_background"])
def test_jpg_without_alpha_gets_a_white_background(form: str) -> None:
    picture, content_type = encoded(form, "JPG")
    assert (picture.format, picture.mode, content_type) == ("JPEG", "RGB", "image/jpeg")
    pixels = np.asarray(picture).astype(int)
    assert np.abs(pixels[:, 44:] - 255).max() <= 8
    assert np.abs(pixels[:, 4:28] - photo()[:, 4:28]).mean() < 4


def test_over_white_mixes_by_alpha() -> None:
    image = np.array([[[0, 100, 255]] * 3], np.uint8)
    weights = np.array([[0, 128, 255]], np.uint8)
    mixed = over_white(image, weights)
    assert (mixed[0, 0] == 255).all() and (mixed[0, 2] == image[0, 2]).all()
    assert mixed[0, 1].tolist() == [127, 177, 255]  # (100 * 128 + 255 * 127) / 255 = 177.2


def test_alpha_of_the_wrong_size_is_an_engine_fault() -> None:
    with pytest.raises(ScribbleSegError) as caught:
        encode_result(photo(), alpha()[:, :10], SegmentOptions())
    assert caught.value.code == "InternalError.Algo"
