"""Install progress for a terminal or a log (standard library only): each new step, and a long
one (a download, pip's run) every 10 %, instead of a line for every block."""

from __future__ import annotations

from collections.abc import Callable


class TenthsPrinter:
    """A progress report (models.Report, installer.Report) that hands fewer lines to `say`."""

    def __init__(self, say: Callable[[str], None]) -> None:
        self.say = say
        self.shown: tuple[str, int] | None = None

    def __call__(self, text: str, fraction: float | None) -> None:
        step = text.split(":")[0], -1 if fraction is None else int(fraction * 10)
        if step != self.shown:
            self.shown = step
            self.say(text)
