"""The engine in Krita: offered and installed on the first local run (progress, Cancel), and
Tools > Scripts > ScribbleSeg Engine (what is installed, where; Update, Remove).

The work is scribbleseg_editor.installer on a worker thread, so Krita stays responsive; in batch
mode nothing can be answered, so only SCRIBBLESEG_AUTO_INSTALL=1 installs there, and progress
goes to the log.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable

from krita import Krita
from PyQt5.QtCore import QObject, Qt, QThread, pyqtSignal
from PyQt5.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QMessageBox,
    QProgressDialog,
    QPushButton,
    QVBoxLayout,
)

from .scribbleseg_editor import first_run, installer
from .scribbleseg_editor.errors import ScribbleSegError
from .scribbleseg_editor.progress import TenthsPrinter

SETTINGS_ACTION = "scribbleseg_engine"
SETTINGS_LABEL = "ScribbleSeg Engine..."
PROGRESS_STEPS = 1000
PROGRESS_WIDTH = 600  # pixels


class InstallWorker(QThread):
    """installer.install off Krita's main thread; `cancel` stops it at the next step."""

    progress = pyqtSignal(str, int)  # what is happening, per mille done (-1: unknown)
    succeeded = pyqtSignal(list)     # warnings (e.g. the model could not be fetched)
    failed = pyqtSignal(str)

    def __init__(self, bundle: installer.Bundle, parent=None) -> None:
        super().__init__(parent)
        self.bundle = bundle
        self.cancel = threading.Event()

    def run(self) -> None:
        try:
            outcome = installer.install(self.bundle, self._report, self.cancel)
        except ScribbleSegError as error:
            self.failed.emit(error.message)
        except Exception as error:  # must reach the user, not die with the thread
            self.failed.emit(f"Unexpected error while installing the engine: {error!r}")
        else:
            self.succeeded.emit(outcome.warnings)

    def _report(self, text: str, fraction: float | None) -> None:
        self.progress.emit(text, -1 if fraction is None else int(fraction * PROGRESS_STEPS))


class EngineSetup(QObject):
    """Makes sure the local engine can start before a run, and shows the engine's settings."""

    def __init__(self, manifest: dict, window: Callable, report: Callable[[str], None],
                 parent=None) -> None:
        super().__init__(parent)
        self.manifest = manifest
        self.product = manifest["name"]
        self.window = window  # () -> the main window's QWidget, or None
        self.report = report  # shows a message (a failed or refused run)
        self.worker: InstallWorker | None = None
        self.last_install_seconds: float | None = None

    def ready_or_install(self, then: Callable[[], None]) -> bool:
        """True when the engine can start now. Otherwise offers the install (SCRIBBLESEG_AUTO_
        INSTALL=1 answers Yes), returns False and calls `then` once it is installed; a refusal
        or a failure goes to `report`."""
        if self.worker is not None:
            self.report("The engine is being installed; wait for it to finish.")
            return False
        problems = first_run.engine_problems(self.manifest)
        if not problems:
            return True
        try:
            question = first_run.offer(self.manifest, problems)
        except ScribbleSegError as error:
            self.report(error.message)
            return False
        if not first_run.auto_install():
            if Krita.instance().batchmode():
                self.report(" ".join(problems) + f" Set {first_run.AUTO_INSTALL}=1 to install "
                            "it without asking.")
                return False
            answer = QMessageBox.question(self.window(), f"{self.product}: install the engine",
                                          question, QMessageBox.Yes | QMessageBox.No,
                                          QMessageBox.Yes)
            if answer != QMessageBox.Yes:
                self.report(first_run.DECLINED)
                return False
        self.install(then)
        return False

    def install(self, then: Callable[[], None] | None = None) -> None:
        """Install (or update, or repair) the engine from the bundle in the plug-in's folder."""
        try:
            bundle = first_run.plugin_bundle(self.manifest)
        except ScribbleSegError as error:
            self.report(error.message)
            return
        started = time.perf_counter()
        self.worker = InstallWorker(bundle, self)
        progress = None if Krita.instance().batchmode() else self._progress_dialog(self.worker)
        log = TenthsPrinter(lambda text: print(f"{self.product}: {text}", file=sys.stderr,
                                               flush=True))
        self.worker.progress.connect(lambda text, done: self._show(progress, log, text, done))

        def finished(warnings: list) -> None:
            self._end(progress)
            self.last_install_seconds = time.perf_counter() - started
            for warning in warnings:
                self._inform(warning)
            if then is not None:
                then()

        def failed(message: str) -> None:
            self._end(progress)
            self.report(message)

        self.worker.succeeded.connect(finished)
        self.worker.failed.connect(failed)
        self.worker.start()

    def _progress_dialog(self, worker: InstallWorker) -> QProgressDialog:
        dialog = QProgressDialog(f"Installing the {self.product} engine...", "Cancel", 0,
                                 PROGRESS_STEPS, self.window())
        dialog.setWindowTitle(f"{self.product}: installing the engine")
        label = QLabel()
        label.setWordWrap(True)  # long lines wrap; the dialog keeps its width
        dialog.setLabel(label)
        dialog.setFixedWidth(PROGRESS_WIDTH)
        dialog.setWindowModality(Qt.WindowModal)
        dialog.setMinimumDuration(0)
        dialog.setAutoClose(False)
        dialog.setAutoReset(False)
        dialog.canceled.connect(worker.cancel.set)
        dialog.setValue(0)
        return dialog

    def _show(self, progress: QProgressDialog | None, log: TenthsPrinter, text: str,
              done: int) -> None:
        if progress is None:  # batch mode: the log
            log(text, None if done < 0 else done / PROGRESS_STEPS)
            return
        progress.setLabelText(text)
        if done >= 0:
            progress.setValue(done)

    def _end(self, progress: QProgressDialog | None) -> None:
        if progress is not None:
            progress.canceled.disconnect()
            progress.close()
        self.worker.wait()
        self.worker = None

    def _inform(self, message: str) -> None:
        if Krita.instance().batchmode():
            print(f"{self.product}: {message}", file=sys.stderr, flush=True)
        else:
            QMessageBox.information(self.window(), self.product, message)

    # --- Tools > Scripts > ScribbleSeg Engine ---------------------------------------------

    def show_settings(self) -> None:
        dialog = QDialog(self.window())
        dialog.setWindowTitle(f"{self.product}: engine")
        layout = QVBoxLayout(dialog)
        status = QLabel("\n".join(first_run.status(self.manifest)))
        status.setTextInteractionFlags(Qt.TextSelectableByMouse)
        layout.addWidget(status)
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        update = QPushButton("Update / repair")
        remove = QPushButton("Remove")
        remove.setEnabled(installer.read_record() is not None)
        buttons.addButton(update, QDialogButtonBox.ActionRole)
        buttons.addButton(remove, QDialogButtonBox.DestructiveRole)
        buttons.rejected.connect(dialog.reject)
        update.clicked.connect(lambda: (dialog.accept(), self.install()))
        remove.clicked.connect(lambda: self._remove(dialog, status, remove))
        layout.addWidget(buttons)
        dialog.exec_()

    def _remove(self, dialog: QDialog, status: QLabel, remove: QPushButton) -> None:
        answer = QMessageBox.question(dialog, self.product, "Remove the engine and its model "
                                      f"from {installer.engine_dir().parent}? It is installed "
                                      "again the next time you segment.")
        if answer == QMessageBox.Yes:
            installer.remove()
            status.setText("\n".join(first_run.status(self.manifest)))
            remove.setEnabled(False)
