"""The plug-in's actions in Tools > Scripts: segment (with the dialog), segment again (without),
and add the scribble layers. A run reads the document, asks the engine host on a worker thread
while a progress dialog keeps Krita responsive, then adds the result as new nodes."""

from __future__ import annotations

import sys
import time
import traceback
from typing import NamedTuple

from krita import Extension, Krita
from PyQt5.QtCore import QTimer, pyqtSignal
from PyQt5.QtWidgets import QMessageBox, QProgressDialog

from .dialog import ask_options
from .document import KritaDocument, RunInputs
from .engine_setup import SETTINGS_ACTION, SETTINGS_LABEL, EngineSetup
from .output import CUT_OUT_OUTPUTS, write_result
from .scribbleseg_editor import layers
from .scribbleseg_editor.errors import ScribbleSegError, editor_message
from .scribbleseg_editor.manifest import check_editor_version, load_manifest
from .scribbleseg_editor.run import plan_run
from .scribbleseg_editor.settings import (
    RunOptions,
    last_options,
    save_last_options,
    scribble_layer_names,
)
from .worker import SegmentWorker

MENU = "tools/scripts"
MENU_LABEL = "Tools > Scripts"  # MENU as the user reads it


class PendingRun(NamedTuple):
    """A run waiting for the engine host's answer."""

    document: object        # krita.Document
    inputs: RunInputs
    options: RunOptions
    started: float          # perf_counter() when the run began
    read: float             # ... and when the document had been read

# Krita's colour labels: green for the object's strokes, red for the background's.
LAYER_COLOUR_LABELS = {"positive": 2, "negative": 6}
SCRIBBLE_LAYER_OPACITY = 153  # 60 %: the photo stays visible under the strokes
PROGRESS_DELAY_MS = 300  # a quick run shows no progress dialog


class ScribbleSegExtension(Extension):
    run_finished = pyqtSignal(str)  # "" after a written result, else the message shown

    def __init__(self, parent) -> None:
        super().__init__(parent)
        self.manifest = load_manifest()
        self.product = self.manifest["name"]
        self.add_layers_menu = f"{MENU_LABEL} > {self.manifest['actions']['add_layers']['label']}"
        self.worker: SegmentWorker | None = None
        self.progress: QProgressDialog | None = None
        self.run: PendingRun | None = None
        self.last_timings: dict[str, float] = {}
        self.engine_setup = EngineSetup(self.manifest, self._window, self._report, self)

    def setup(self) -> None:
        pass

    def createActions(self, window) -> None:
        handlers = {"segment": self.segment_with_dialog, "repeat": self.segment_with_last_values,
                    "add_layers": self.add_scribble_layers}
        for key, handler in handlers.items():
            spec = self.manifest["actions"][key]
            action = window.createAction(spec["krita_action"], spec["label"], MENU)
            action.triggered.connect(handler)
        window.createAction(SETTINGS_ACTION, SETTINGS_LABEL, MENU).triggered.connect(
            self.engine_setup.show_settings)

    # --- actions ---------------------------------------------------------------------------

    def segment_with_dialog(self) -> None:
        options = last_options(self.manifest)
        if not Krita.instance().batchmode():  # batch mode: no dialog can be answered
            label = self.manifest["actions"]["segment"]["label"]
            options = ask_options(self._window(), label, options)
            if options is None:
                return
        save_last_options(options)
        self.segment(options)

    def segment_with_last_values(self) -> None:
        self.segment(last_options(self.manifest))

    def add_scribble_layers(self) -> None:
        document = Krita.instance().activeDocument()
        if document is None:
            self._report("Open an image first.")
            return
        try:
            check_editor_version(self.manifest, "krita", Krita.instance().version())
        except ScribbleSegError as error:
            self._report(editor_message(error))
            return
        stack = KritaDocument(document, self.product, self.add_layers_menu).layers()
        added = None
        for role, name in layers.layers_to_add(stack, scribble_layer_names(self.manifest)):
            added = document.createNode(name, "paintlayer")  # each on top: Positive uppermost
            added.setColorLabel(LAYER_COLOUR_LABELS[role])
            added.setOpacity(SCRIBBLE_LAYER_OPACITY)
            document.rootNode().addChildNode(added, None)
        if added is not None:
            # Krita ignores activating a node added in the same callback.
            QTimer.singleShot(0, lambda: document.setActiveNode(added))

    # --- one run ---------------------------------------------------------------------------

    def segment(self, options: RunOptions) -> None:
        if self.worker is not None:
            self._report("A segmentation is already running; wait for it to finish.")
            return
        document = Krita.instance().activeDocument()
        if document is None:
            self._report("Open an image first.")
            return
        if options.engine == "local" and not self.engine_setup.ready_or_install(
                lambda: self.segment(options)):
            return  # installing first (segments when done), or refused with a message
        started = time.perf_counter()
        try:
            inputs = self._read(document, options)
        except ScribbleSegError as error:
            self._report(editor_message(error))
            return
        except Exception as error:  # a bug must still reach the user, and change nothing
            self._report_unexpected(error)
            return
        self.run = PendingRun(document, inputs, options, started, time.perf_counter())
        cut_out_of = ((inputs.target_pixels, inputs.pixel_format)
                      if options.output in CUT_OUT_OUTPUTS else None)
        self.worker = SegmentWorker(inputs.plan, options, cut_out_of, parent=self)
        self.worker.succeeded.connect(self._write)
        self.worker.failed.connect(self._fail)
        self.worker.starting.connect(self._starting)
        if not Krita.instance().batchmode():
            self._show_progress()
        self.worker.start()

    def _read(self, document, options: RunOptions) -> RunInputs:
        """The core's plan of the run on this document, with what writing it back needs."""
        check_editor_version(self.manifest, "krita", Krita.instance().version())
        adapter = KritaDocument(document, self.product, self.add_layers_menu)
        plan = plan_run(adapter, scribble_layer_names(self.manifest), options.output)
        return adapter.run_inputs(plan)

    def _write(self, alpha: bytes, cut_out: bytes) -> None:
        run = self.run
        answered = time.perf_counter()
        self._end_run()
        try:
            write_result(run.document, run.inputs, alpha, run.options.output, self.product,
                         cut_out)
        except ScribbleSegError as error:
            self._report(editor_message(error))
            return
        except Exception as error:
            self._report_unexpected(error)
            return
        self.last_timings = {"read": run.read - run.started, "engine_host": answered - run.read,
                             "write": time.perf_counter() - answered}
        self.run_finished.emit("")

    def _starting(self, message: str) -> None:
        if self.progress is not None:
            self.progress.setLabelText(message)

    def _fail(self, message: str) -> None:
        self._end_run()
        self._report(message)

    def _cancel(self) -> None:
        """The host cannot be interrupted mid-request: forget the run and drop its answer."""
        worker = self.worker
        worker.succeeded.disconnect(self._write)
        worker.failed.disconnect(self._fail)
        worker.finished.connect(worker.deleteLater)  # the extension owns it until then
        self.worker = None
        self.progress = None
        self.run = None
        self.run_finished.emit("Cancelled.")

    def _end_run(self) -> None:
        if self.progress is not None:
            self.progress.canceled.disconnect(self._cancel)
            self.progress.close()
            self.progress = None
        if self.worker is not None:
            self.worker.wait()
            self.worker = None
        self.run = None

    def _show_progress(self) -> None:
        self.progress = QProgressDialog(f"{self.product}: segmenting...", "Cancel", 0, 0,
                                        self._window())
        self.progress.setWindowTitle(self.product)
        self.progress.setMinimumDuration(PROGRESS_DELAY_MS)
        self.progress.canceled.connect(self._cancel)
        self.progress.setValue(0)  # starts the timer that shows it when the run takes a while

    def _report(self, message: str) -> None:
        """A failed or refused run: a message box, or the log in batch mode (no one to click)."""
        if Krita.instance().batchmode():
            print(f"{self.product}: {message}", file=sys.stderr, flush=True)
        else:
            QMessageBox.warning(self._window(), self.product, message)
        self.run_finished.emit(message)

    def _report_unexpected(self, error: Exception) -> None:
        traceback.print_exception(error, file=sys.stderr)
        self._report(f"Unexpected error: {error!r}. Please report it with Krita's log.")

    def _window(self):
        window = Krita.instance().activeWindow()
        return window.qwindow() if window is not None else None

