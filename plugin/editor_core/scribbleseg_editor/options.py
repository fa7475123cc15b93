"""How to segment and what to send back: the one request model's options (standard library).

Every front end builds a `SegmentOptions` with these names: the CLI, the desktop host (from the
editors' wire header) and the cloud API (from its parameter names, translated at the API's edge
in scribbleseg.request). Defaults are the cloud API's.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import ScribbleSegError

POSTPROCESS_CHOICES = ("maskrefine", "edgerefine")  # finest edges (hair, fur) / stable edges
RETURN_FORMS = ("rgb_alpha", "only_alpha", "white_background")
RETURN_FORMATS = ("PNG", "JPG")


@dataclass(frozen=True)
class SegmentOptions:
    postprocess: str = "maskrefine"
    feather: bool = True
    return_form: str = "rgb_alpha"
    return_format: str = "PNG"

    def __post_init__(self) -> None:
        check_choice("postprocess", self.postprocess, POSTPROCESS_CHOICES)
        check_choice("return_form", self.return_form, RETURN_FORMS)
        check_choice("return_format", self.return_format, RETURN_FORMATS)
        if not isinstance(self.feather, bool):
            raise ScribbleSegError(
                "InvalidParameter", f"feather must be true or false; got {self.feather!r}."
            )


def check_choice(name: str, value: object, choices: tuple[str, ...]) -> None:
    """Refuse a value outside `choices` with InvalidParameter naming the option."""
    if value not in choices:
        raise ScribbleSegError(
            "InvalidParameter", f"{name} must be one of {', '.join(choices)}; got {value!r}."
        )
