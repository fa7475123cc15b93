"""The request model: API parameters, files in, integrated mask, arrays in."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from scribbleseg.request import (
    decode_request,
    options_from_api_params,
    request_from_arrays,
)
from scribbleseg_editor.errors import ScribbleSegError
from scribbleseg_editor.limits import MAX_MASK_BYTES
from scribbleseg_editor.options import SegmentOptions

HEIGHT, WIDTH = 48, 64


def png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, "PNG")
    return buffer.getvalue()


def photo() -> np.ndarray:
    return np.random.default_rng(3).integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8)


def region(rows: slice, columns: slice) -> np.ndarray:
    marks = np.zeros((HEIGHT, WIDTH), bool)
    marks[rows, columns] = True
    return marks


MASK = region(slice(10, 40), slice(10, 50))
POSITIVE = region(slice(20, 23), slice(15, 45))
NEGATIVE = region(slice(2, 5), slice(0, 64))


def stroke_layer(marks: np.ndarray, colour: tuple[int, int, int]) -> bytes:
    """What an editor exports: a transparent layer with the strokes painted opaque."""
    layer = np.zeros((*marks.shape, 4), np.uint8)
    layer[marks] = (*colour, 255)
    return png(layer)


def refusal(call, **kwargs) -> ScribbleSegError:
    with pytest.raises(ScribbleSegError) as caught:
        call(**kwargs)
    return caught.value


# --- options --------------------------------------------------------------------------------

def test_defaults_are_the_cloud_apis() -> None:
    options = options_from_api_params({})
    assert options == SegmentOptions(postprocess="maskrefine", feather=True,
                                     return_form="rgb_alpha", return_format="PNG")


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"ReturnForm": "only_alpha"}, {"return_form": "only_alpha"}),
        ({"ReturnForm": "White_Background"}, {"return_form": "white_background"}),
        ({"ReturnFormat": "jpg"}, {"return_format": "JPG"}),
        ({"ReturnFormat": "JPEG"}, {"return_format": "JPG"}),
        ({"ReturnFormat": "png"}, {"return_format": "PNG"}),
        ({"EdgeFeathering": "false"}, {"feather": False}),
        ({"EdgeFeathering": "FALSE"}, {"feather": False}),
        ({"EdgeFeathering": "True"}, {"feather": True}),
        ({"PostprocessOption": "edgerefine"}, {"postprocess": "edgerefine"}),
        ({"PostprocessOption": " MaskRefine "}, {"postprocess": "maskrefine"}),
        ({"EdgeFeathering": ""}, {}),  # an empty value is "not given"
        ({"Action": "InteractiveScribbleSegmentation", "ImageUrl": "http://x/a.png"}, {}),
    ],
)
def test_option_spellings(params: dict, expected: dict) -> None:
    assert options_from_api_params(params) == SegmentOptions(**expected)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ReturnForm", "rgba"), ("ReturnForm", "alpha"),
        ("ReturnFormat", "GIF"), ("ReturnFormat", "WEBP"),
        ("EdgeFeathering", "yes"), ("EdgeFeathering", "1"), ("EdgeFeathering", "on"),
        ("PostprocessOption", "none"), ("PostprocessOption", "refine"),
    ],
)
def test_bad_option_values_are_refused_naming_the_parameter(name: str, value: str) -> None:
    error = refusal(options_from_api_params, params={name: value})
    assert error.code == "InvalidParameter"
    assert name in error.message and repr(value) in error.message


def test_bad_options_from_python_are_refused_too() -> None:
    error = refusal(SegmentOptions, return_form="rgb_alpha", feather="true")
    assert error.code == "InvalidParameter" and "feather" in error.message


# --- files in -------------------------------------------------------------------------------

def test_decode_request_reads_every_input() -> None:
    request = decode_request(
        image=png(photo()),
        mask=png(MASK.astype(np.uint8) * 255),
        positive=stroke_layer(POSITIVE, (0, 200, 0)),
        negative=stroke_layer(NEGATIVE, (0, 0, 0)),
        params={"ReturnForm": "only_alpha", "PostprocessOption": "edgerefine"},
    )
    assert (request.image == photo()).all()
    assert request.mask.dtype == np.float32 and (request.mask == MASK).all()
    assert (request.positive == POSITIVE).all()
    assert (request.negative == NEGATIVE).all()
    assert request.options == SegmentOptions(return_form="only_alpha", postprocess="edgerefine")


def test_inputs_not_given_are_none() -> None:
    request = decode_request(image=png(photo()), positive=stroke_layer(POSITIVE, (255, 0, 0)))
    assert request.mask is None and request.negative is None
    assert request.options == SegmentOptions()


def integrated_png(mask: np.ndarray, positive: np.ndarray, negative: np.ndarray) -> bytes:
    return png(np.dstack([mask, positive, negative]).astype(np.uint8) * 255)


def test_integrated_mask_equals_the_separate_inputs() -> None:
    separate = decode_request(
        image=png(photo()),
        mask=png(MASK.astype(np.uint8) * 255),
        positive=stroke_layer(POSITIVE, (0, 200, 0)),
        negative=stroke_layer(NEGATIVE, (200, 0, 0)),
    )
    integrated = decode_request(
        image=png(photo()), integrated=integrated_png(MASK, POSITIVE, NEGATIVE)
    )
    for role in ("mask", "positive", "negative"):
        assert (getattr(integrated, role) == getattr(separate, role)).all(), role


def test_integrated_channels_override_only_where_they_carry_marks() -> None:
    other_positive = region(slice(30, 33), slice(15, 45))
    request = decode_request(
        image=png(photo()),
        positive=stroke_layer(other_positive, (0, 200, 0)),
        negative=stroke_layer(region(slice(40, 42), slice(0, 64)), (0, 0, 0)),
        integrated=integrated_png(np.zeros_like(MASK), POSITIVE, NEGATIVE),
    )
    assert (request.positive == POSITIVE).all()  # the G channel replaced the positive file
    assert (request.negative == NEGATIVE).all()  # the B channel replaced the negative file
    assert request.mask is None  # the R channel is empty and no mask was given


def test_empty_integrated_channel_keeps_the_separate_input() -> None:
    request = decode_request(
        image=png(photo()),
        mask=png(MASK.astype(np.uint8) * 255),
        integrated=integrated_png(np.zeros_like(MASK), POSITIVE, np.zeros_like(MASK)),
    )
    assert (request.mask == MASK).all()
    assert (request.positive == POSITIVE).all()
    assert request.negative is None


@pytest.mark.parametrize(
    ("role", "label"),
    [("mask", "mask"), ("positive", "positive strokes"), ("negative", "negative strokes"),
     ("integrated", "integrated mask")],
)
def test_mask_size_mismatch_names_the_input(role: str, label: str) -> None:
    wrong = png(np.zeros((HEIGHT, WIDTH + 1, 3), np.uint8))
    error = refusal(decode_request, image=png(photo()), **{role: wrong})
    assert error.code == "InvalidParameter"
    assert label in error.message and f"{WIDTH + 1}x{HEIGHT}" in error.message


@pytest.mark.parametrize(
    ("role", "label"),
    [("mask", "mask"), ("positive", "positive strokes"), ("negative", "negative strokes"),
     ("integrated", "integrated mask")],
)
def test_mask_files_over_5_mb_name_the_input(role: str, label: str) -> None:
    error = refusal(decode_request, image=png(photo()), **{role: bytes(MAX_MASK_BYTES + 1)})
    assert error.code == "InvalidFile.Size"
    assert label in error.message and "5 MB" in error.message


def test_bad_option_is_refused_before_any_file_is_decoded() -> None:
    error = refusal(decode_request, image=b"not an image", params={"ReturnForm": "bad"})
    assert error.code == "InvalidParameter" and "ReturnForm" in error.message


def test_bad_image_is_named() -> None:
    error = refusal(decode_request, image=png(np.zeros((20, 64, 3), np.uint8)))
    assert error.code == "InvalidImage.Resolution" and "image" in error.message


def test_a_soft_mask_file_is_read_as_the_fraction_selected() -> None:
    """Alpha / 255 for a cut-out (transparency), brightness / 255 for a gray mask: a feathered
    result fed back means what it showed, not more."""
    fraction = np.zeros((HEIGHT, WIDTH), np.uint8)
    fraction[MASK] = 255
    fraction[8:10, 10:50] = 100  # a soft fringe
    cut_out = png(np.dstack([photo(), fraction]))
    gray = png(fraction)
    for data in (cut_out, gray):
        request = decode_request(image=png(photo()), mask=data)
        np.testing.assert_array_equal(request.mask, fraction / np.float32(255))
    integrated = decode_request(image=png(photo()), integrated=png(np.dstack(
        [fraction, POSITIVE * np.uint8(255), np.zeros_like(fraction)])))
    np.testing.assert_array_equal(integrated.mask, fraction / np.float32(255))
    assert (integrated.positive == POSITIVE).all()


# --- arrays in ------------------------------------------------------------------------------

def test_arrays_strokes_nonzero_is_set_mask_is_a_fraction() -> None:
    request = request_from_arrays(
        photo(), positive=POSITIVE.astype(np.uint8), negative=NEGATIVE * np.uint8(255),
        mask=MASK,
    )
    assert request.positive.dtype == bool and (request.positive == POSITIVE).all()
    assert (request.negative == NEGATIVE).all()
    assert request.mask.dtype == np.float32 and (request.mask == MASK).all()
    assert request.options == SegmentOptions()
    soft = np.arange(HEIGHT * WIDTH, dtype=np.uint32).reshape(HEIGHT, WIDTH) % 256
    as_uint8 = request_from_arrays(photo(), mask=soft.astype(np.uint8)).mask
    np.testing.assert_array_equal(as_uint8, soft.astype(np.float32) / 255)
    as_float = request_from_arrays(photo(), mask=as_uint8).mask
    np.testing.assert_array_equal(as_float, as_uint8)


@pytest.mark.parametrize(
    "image",
    [np.zeros((HEIGHT, WIDTH, 3), np.float32), np.zeros((HEIGHT, WIDTH), np.uint8),
     np.zeros((HEIGHT, WIDTH, 4), np.uint8), [[0, 0, 0]]],
)
def test_arrays_bad_image(image) -> None:
    error = refusal(request_from_arrays, image=image)
    assert error.code == "InvalidParameter" and "HxWx3 uint8" in error.message


def test_arrays_image_resolution() -> None:
    error = refusal(request_from_arrays, image=np.zeros((16, 5000, 3), np.uint8))
    assert error.code == "InvalidImage.Resolution" and "5000x16" in error.message


def test_arrays_mask_shape_mismatch() -> None:
    error = refusal(request_from_arrays, image=photo(), negative=np.zeros((HEIGHT, 10), bool))
    assert error.code == "InvalidParameter" and "negative strokes" in error.message
    error = refusal(request_from_arrays, image=photo(), mask=np.zeros((HEIGHT, WIDTH, 3), bool))
    assert error.code == "InvalidParameter" and "mask" in error.message
