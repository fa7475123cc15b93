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

# The current mask travels as a soft fraction of each pixel selected: 0..1 in the engine,
# 0..255 on the desktop wire and in files (value / 255). A mask pixel counts as selected from
# SELECTED_FRACTION on, i.e. from byte 128 (the same as limits.MARK_THRESHOLD for strokes).
SELECTED_FRACTION = 0.5
# The one rule for "nothing to select", applied by the engine to every request: no positive
# stroke pixel and no selected mask pixel. An editor that checks before sending applies the
# same rule to its planes (positive: any nonzero byte; mask: any byte >= 128) with this message.
NOTHING_TO_SELECT = (
    "Nothing to select: paint at least one positive stroke, or give a current mask (selection) "
    "with at least one pixel selected."
)


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
