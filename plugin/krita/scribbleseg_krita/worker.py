"""The engine host call off Krita's main thread, so the window stays responsive during a run."""

from __future__ import annotations

from PyQt5.QtCore import QThread, pyqtSignal

from scribbleseg_editor import host
from scribbleseg_editor.settings import RunOptions


class SegmentWorker(QThread):
    """Find or start the engine host and send one request; emits `succeeded` or `failed`."""

    succeeded = pyqtSignal(bytes)   # the alpha, width * height bytes
    failed = pyqtSignal(str)        # a message for the user

    def __init__(self, width: int, height: int, rgb: bytes, planes: dict[str, bytes],
                 options: RunOptions, start_timeout: float, parent=None) -> None:
        super().__init__(parent)
        self.request = (width, height, rgb, planes, options.wire_options())
        self.start_timeout = start_timeout

    def run(self) -> None:
        try:
            connection = host.ensure_host(self.start_timeout)
            alpha = connection.segment(*self.request)
        except host.HostError as error:
            self.failed.emit(str(error))
        except Exception as error:  # anything else must reach the user too, not die silently
            self.failed.emit(f"Unexpected error: {error!r}")
        else:
            self.succeeded.emit(alpha)
