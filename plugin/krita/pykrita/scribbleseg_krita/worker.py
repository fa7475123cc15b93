"""The engine host call off Krita's main thread, so the window stays responsive during a run."""

from __future__ import annotations

from PyQt5.QtCore import QThread, pyqtSignal

from .pixels import PixelFormat, with_alpha
from .scribbleseg_editor import host
from .scribbleseg_editor.errors import ScribbleSegError, editor_message
from .scribbleseg_editor.run import RunPlan
from .scribbleseg_editor.settings import RunOptions


class SegmentWorker(QThread):
    """Find or start the engine host and send one request; emits `succeeded` or `failed`.
    Given `cut_out_of` (the target's pixels and format), it also builds the cut-out here: at
    4096x4096 that takes seconds Krita's main thread should not spend."""

    succeeded = pyqtSignal(bytes, bytes)  # the alpha (width * height bytes), the cut-out or b""
    failed = pyqtSignal(str)              # a message for the user
    starting = pyqtSignal(str)            # the engine host is being started: what to show

    def __init__(self, plan: RunPlan, options: RunOptions,
                 cut_out_of: tuple[bytes, PixelFormat] | None = None, parent=None) -> None:
        super().__init__(parent)
        self.request = (plan.frame.width, plan.frame.height, plan.rgb, plan.planes,
                        options.segment_options(), options.engine, options.endpoint)
        self.cut_out_of = cut_out_of

    def run(self) -> None:
        try:
            connection = host.ensure_host(self.starting.emit)
            alpha = connection.segment(*self.request)
            cut_out = with_alpha(*self.cut_out_of, alpha) if self.cut_out_of else b""
        except ScribbleSegError as error:
            self.failed.emit(editor_message(error))
        except Exception as error:  # anything else must reach the user too, not die silently
            self.failed.emit(f"Unexpected error: {error!r}")
        else:
            self.succeeded.emit(alpha, cut_out)
