"""One validated segmentation request, built from files (`decode_request`) or arrays
(`request_from_arrays`), and `run`, the one function that segments it.

Every front end (CLI, desktop host, cloud API) builds a `SegmentRequest` and calls `run`. The
options are scribbleseg_editor.options.SegmentOptions; the cloud API's parameter names
(ReturnForm, ...) are translated by `options_from_api_params`, at the API's edge only.

The array rules live here, for the request path and the public Python API alike:
- image: HxWx3 uint8 RGB, each side within the limits;
- strokes: HxW of any dtype, nonzero = set -> bool;
- current mask: HxW, the fraction of each pixel selected -> float32 in [0, 1]: bool is 0 / 1,
  uint8 is 0..255 (value / 255), a float array is taken as it is.

Integrated mask: one RGB image, R = mask, G = positive strokes, B = negative strokes. A channel
that selects something (a stroke pixel set, a mask pixel selected) replaces the separately given
input of the same role; one that selects nothing leaves that input as it was (or absent).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

import scribbleseg
from scribbleseg import imageio
from scribbleseg_editor.errors import ScribbleSegError
from scribbleseg_editor.limits import check_size
from scribbleseg_editor.options import (
    POSTPROCESS_CHOICES,
    RETURN_FORMATS,
    RETURN_FORMS,
    SELECTED_FRACTION,
    SegmentOptions,
    check_choice,
)

if TYPE_CHECKING:
    from scribbleseg.engine.pipeline import PreparedImage

# The cloud API's spellings (../shared/specs/cloud-api.md): values match case-insensitively
# after trimming spaces, an empty value means "not given", JPEG is a spelling of JPG.
FORMAT_SPELLINGS = {"PNG": "PNG", "JPG": "JPG", "JPEG": "JPG"}
_BOOLEAN_SPELLINGS = {"true": True, "false": False}


@dataclass(frozen=True, eq=False)
class SegmentRequest:
    """Image HxWx3 uint8 RGB; positive and negative HxW bool, mask HxW float32 in [0, 1] (the
    fraction of each pixel selected); None = not given."""

    image: np.ndarray
    mask: np.ndarray | None = None
    positive: np.ndarray | None = None
    negative: np.ndarray | None = None
    options: SegmentOptions = field(default_factory=SegmentOptions)


def options_from_api_params(params: Mapping[str, str]) -> SegmentOptions:
    """SegmentOptions from the cloud API's parameters (ReturnForm, ReturnFormat,
    EdgeFeathering, PostprocessOption); other names are ignored, a refusal names the parameter."""
    given = {name: str(value).strip() for name, value in params.items() if str(value).strip()}
    options: dict[str, object] = {}
    if "ReturnForm" in given:
        options["return_form"] = given["ReturnForm"].lower()
        check_choice("ReturnForm", options["return_form"], RETURN_FORMS)
    if "ReturnFormat" in given:
        spelled = given["ReturnFormat"]
        options["return_format"] = FORMAT_SPELLINGS.get(spelled.upper(), spelled)
        check_choice("ReturnFormat", options["return_format"], RETURN_FORMATS)
    if "EdgeFeathering" in given:
        spelled = given["EdgeFeathering"]
        if spelled.lower() not in _BOOLEAN_SPELLINGS:
            raise ScribbleSegError(
                "InvalidParameter", f"EdgeFeathering must be true or false; got {spelled!r}."
            )
        options["feather"] = _BOOLEAN_SPELLINGS[spelled.lower()]
    if "PostprocessOption" in given:
        options["postprocess"] = given["PostprocessOption"].lower()
        check_choice("PostprocessOption", options["postprocess"], POSTPROCESS_CHOICES)
    return SegmentOptions(**options)


def decode_request(
    *,
    image: bytes,
    mask: bytes | None = None,
    positive: bytes | None = None,
    negative: bytes | None = None,
    integrated: bytes | None = None,
    params: Mapping[str, str] | None = None,
) -> SegmentRequest:
    """Validate and decode the files of one call (see imageio for limits and pixel rules)."""
    options = options_from_api_params(params or {})
    pixels = imageio.decode_image(image)
    shape = pixels.shape[:2]
    inputs = {
        "mask": None if mask is None else imageio.decode_mask(mask, shape),
        "positive": None if positive is None
        else imageio.decode_marks(positive, "positive strokes", shape),
        "negative": None if negative is None
        else imageio.decode_marks(negative, "negative strokes", shape),
    }
    if integrated is not None:
        mask_channel, positive_channel, negative_channel = imageio.decode_integrated(
            integrated, shape
        )
        if selects_something(mask_channel):
            inputs["mask"] = mask_channel
        for role, channel in (("positive", positive_channel), ("negative", negative_channel)):
            if channel.any():
                inputs[role] = channel
    return SegmentRequest(image=pixels, options=options, **inputs)


def request_from_arrays(
    image: np.ndarray,
    positive: np.ndarray | None = None,
    negative: np.ndarray | None = None,
    mask: np.ndarray | None = None,
    options: SegmentOptions | None = None,
) -> SegmentRequest:
    """Validate arrays (the module docstring's rules) into a request."""
    image = check_image(image)
    shape = image.shape[:2]
    return SegmentRequest(
        image=image,
        mask=mask_from_array(mask, shape),
        positive=strokes_from_array(positive, "positive strokes", shape),
        negative=strokes_from_array(negative, "negative strokes", shape),
        options=options or SegmentOptions(),
    )


def run(request: SegmentRequest, prepared: PreparedImage | None = None) -> np.ndarray:
    """Segment the request: the HxW uint8 alpha. `prepared`: request.image prepared earlier
    (a cache of prepared images); without it the image is prepared with the installed models."""
    if prepared is None:
        prepared = scribbleseg.prepare(request.image)  # heavy imports (scipy, maxflow) on first use
    elif prepared.shape != request.image.shape[:2]:
        raise ScribbleSegError(
            "InternalError", f"The prepared image is {prepared.shape}, the request's "
            f"{request.image.shape[:2]}."
        )
    return prepared.segment(
        request.positive, request.negative, request.mask,
        postprocess=request.options.postprocess, feather=request.options.feather,
    )


def check_image(image: object) -> np.ndarray:
    """The image as HxWx3 uint8 within the size limits, or a refusal saying what it is."""
    if not (isinstance(image, np.ndarray) and image.dtype == np.uint8
            and image.ndim == 3 and image.shape[2] == 3):
        raise ScribbleSegError(
            "InvalidParameter",
            f"The image must be an HxWx3 uint8 RGB array; got {_describe(image)}.",
        )
    check_size(image.shape[1], image.shape[0])
    return image


def strokes_from_array(
    array: object, label: str, shape: tuple[int, int]
) -> np.ndarray | None:
    """HxW strokes of any dtype (nonzero = set) -> bool; None stays None."""
    if array is None:
        return None
    _check_plane(array, label, shape)
    return array.astype(bool, copy=False)


def mask_from_array(array: object, shape: tuple[int, int]) -> np.ndarray | None:
    """HxW current mask -> float32 fraction in [0, 1]: bool 0 / 1, uint8 / 255, float as is."""
    if array is None:
        return None
    _check_plane(array, "mask", shape)
    if array.dtype == bool:
        return array.astype(np.float32)
    if array.dtype == np.uint8:
        return array.astype(np.float32) / 255.0
    if np.issubdtype(array.dtype, np.floating):
        fraction = array.astype(np.float32, copy=False)
        if not (np.isfinite(fraction).all() and fraction.min() >= 0.0 and fraction.max() <= 1.0):
            raise ScribbleSegError(
                "InvalidParameter",
                "The mask's values must be fractions from 0 to 1 (a float array); got values "
                f"from {array.min()} to {array.max()}.",
            )
        return fraction
    raise ScribbleSegError(
        "InvalidParameter",
        f"The mask must be bool, uint8 (0..255) or float (0..1); got dtype {array.dtype}.",
    )


def selects_something(mask: np.ndarray | None) -> bool:
    """Whether a mask fraction selects at least one pixel (options.SELECTED_FRACTION)."""
    return mask is not None and bool((mask >= SELECTED_FRACTION).any())


def _check_plane(array: object, label: str, shape: tuple[int, int]) -> None:
    if not (isinstance(array, np.ndarray) and array.ndim == 2):
        raise ScribbleSegError(
            "InvalidParameter", f"The {label} must be an HxW array; got {_describe(array)}."
        )
    imageio.check_same_shape(array.shape, shape, label)


def _describe(value: object) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    return f"a {type(value).__name__}"
