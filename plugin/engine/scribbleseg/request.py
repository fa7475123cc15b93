"""One validated segmentation request, built from files (`decode_request`) or arrays.

The fields are the cloud API's parameters (../shared/specs/cloud-api.md). Option values are
matched case-insensitively after trimming spaces, an empty value means "not given", and
ReturnFormat accepts JPEG as a spelling of JPG. Every refusal is a ScribbleSegError with the API
code and a message that names the input.

Integrated mask: one RGB image, R = mask, G = positive strokes, B = negative strokes. A channel
with at least one set pixel replaces the separately given input of the same role; a channel with
no set pixel leaves that input as it was (or absent).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from scribbleseg import imageio
from scribbleseg_editor.errors import ScribbleSegError
from scribbleseg_editor.limits import check_size

RETURN_FORMS = ("rgb_alpha", "only_alpha", "white_background")
RETURN_FORMATS = ("PNG", "JPG")
POSTPROCESS_OPTIONS = ("edgerefine", "maskrefine")
_FORMAT_SPELLINGS = {"PNG": "PNG", "JPG": "JPG", "JPEG": "JPG"}
_BOOLEAN_SPELLINGS = {"true": True, "false": False}


@dataclass(frozen=True)
class SegmentOptions:
    """How to segment and what to send back; defaults are the cloud API's."""

    return_form: str = "rgb_alpha"
    return_format: str = "PNG"
    edge_feathering: bool = True
    postprocess: str = "maskrefine"

    def __post_init__(self) -> None:
        _check_choice("ReturnForm", self.return_form, RETURN_FORMS)
        _check_choice("ReturnFormat", self.return_format, RETURN_FORMATS)
        _check_choice("PostprocessOption", self.postprocess, POSTPROCESS_OPTIONS)
        if not isinstance(self.edge_feathering, bool):
            raise ScribbleSegError(
                "InvalidParameter",
                f"EdgeFeathering must be true or false; got {self.edge_feathering!r}.",
            )

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> SegmentOptions:
        """Options from the API's parameter names; other names in `params` are ignored."""
        given = {name: str(value).strip() for name, value in params.items() if str(value).strip()}
        options: dict[str, object] = {}
        if "ReturnForm" in given:
            options["return_form"] = given["ReturnForm"].lower()
        if "ReturnFormat" in given:
            spelled = given["ReturnFormat"]
            options["return_format"] = _FORMAT_SPELLINGS.get(spelled.upper(), spelled)
        if "EdgeFeathering" in given:
            spelled = given["EdgeFeathering"]
            options["edge_feathering"] = _BOOLEAN_SPELLINGS.get(spelled.lower(), spelled)
        if "PostprocessOption" in given:
            options["postprocess"] = given["PostprocessOption"].lower()
        return cls(**options)


@dataclass(frozen=True, eq=False)
class SegmentRequest:
    """Image HxWx3 uint8 RGB; mask, positive and negative HxW bool or None (not given)."""

    image: np.ndarray
    mask: np.ndarray | None = None
    positive: np.ndarray | None = None
    negative: np.ndarray | None = None
    options: SegmentOptions = field(default_factory=SegmentOptions)


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
    options = SegmentOptions.from_params(params or {})
    pixels = imageio.decode_image(image)
    shape = pixels.shape[:2]
    marks = {
        role: None if data is None else imageio.decode_marks(data, label, shape)
        for role, label, data in (
            ("mask", "mask", mask),
            ("positive", "positive strokes", positive),
            ("negative", "negative strokes", negative),
        )
    }
    if integrated is not None:
        channels = imageio.decode_integrated(integrated, shape)
        for role, channel in zip(("mask", "positive", "negative"), channels, strict=True):
            if channel.any():
                marks[role] = channel
    return SegmentRequest(image=pixels, options=options, **marks)


def request_from_arrays(
    image: np.ndarray,
    positive: np.ndarray | None = None,
    negative: np.ndarray | None = None,
    mask: np.ndarray | None = None,
    options: SegmentOptions | None = None,
) -> SegmentRequest:
    """Validate arrays: image HxWx3 uint8 RGB; marks HxW of any dtype, nonzero = set."""
    if not (isinstance(image, np.ndarray) and image.dtype == np.uint8
            and image.ndim == 3 and image.shape[2] == 3):
        raise ScribbleSegError(
            "InvalidParameter",
            f"The image must be an HxWx3 uint8 RGB array; got {_describe(image)}.",
        )
    check_size(image.shape[1], image.shape[0])
    marks = {
        role: _marks_from_array(array, label, image.shape[:2])
        for role, label, array in (
            ("mask", "mask", mask),
            ("positive", "positive strokes", positive),
            ("negative", "negative strokes", negative),
        )
    }
    return SegmentRequest(image=image, options=options or SegmentOptions(), **marks)


def _marks_from_array(
    array: np.ndarray | None, label: str, shape: tuple[int, int]
) -> np.ndarray | None:
    if array is None:
        return None
    if not (isinstance(array, np.ndarray) and array.ndim == 2):
        raise ScribbleSegError(
            "InvalidParameter", f"The {label} must be an HxW array; got {_describe(array)}."
        )
    imageio.check_same_shape(array.shape, shape, label)
    return array.astype(bool, copy=False)


def _describe(value: object) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    return f"a {type(value).__name__}"


def _check_choice(name: str, value: object, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ScribbleSegError(
            "InvalidParameter", f"{name} must be one of {', '.join(choices)}; got {value!r}."
        )
