"""Driver run inside Krita by screens_first_run.py: the first run as a user clicks through it,
out of batch mode, with a screenshot of each dialog (SCRIBBLESEG_SCREENS_OUT).

1. Segment from Scribbles: the run dialog (choose the cut-out, OK), the install offer (Yes), the
   progress while pip works (Cancel), the message that says what Cancel left.
2. Segment from Scribbles again: dialog, offer (Yes), the progress while the model downloads,
   the install finishes and the cut-out is written (shown alone).
3. Tools > Scripts > ScribbleSeg Engine: the settings (status, where; Update, Remove).
"""

import json
import os
import time
from pathlib import Path

from krita import Krita
from PyQt5.QtCore import QCoreApplication, QTimer
from PyQt5.QtWidgets import (
    QApplication,
    QComboBox,
    QDialog,
    QMessageBox,
    QProgressDialog,
    QPushButton,
)

OUT = Path(os.environ["SCRIBBLESEG_SCREENS_OUT"])
TIMEOUT_S = 900


def pump(seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        QCoreApplication.processEvents()
        time.sleep(0.01)


class Clicker:
    """Answers the plug-in's dialogs as they appear, taking a screenshot of each kind once."""

    def __init__(self, run_label: str) -> None:
        self.run_label = run_label
        self.cancel_install = True  # the first install is cancelled while pip works
        self.shots: list[str] = []
        self.timer = QTimer()
        self.timer.timeout.connect(self.look)
        self.timer.start(150)

    def shot(self, name: str) -> None:
        if name not in self.shots:
            pump(0.3)  # let the dialog paint
            QApplication.primaryScreen().grabWindow(0).save(str(OUT / f"{name}.png"))
            self.shots.append(name)

    def look(self) -> None:
        widget = QApplication.activeModalWidget()
        progress = next((w for w in QApplication.topLevelWidgets()
                         if isinstance(w, QProgressDialog) and w.isVisible()), None)
        if isinstance(widget, QMessageBox):
            self.answer(widget)
        elif progress is not None:
            self.follow(progress)
        elif isinstance(widget, QDialog) and widget.windowTitle() == self.run_label:
            self.shot("krita-1-run-dialog")
            output = widget.findChildren(QComboBox)[0]
            output.setCurrentIndex(output.findData("new_layer"))
            widget.accept()
        elif isinstance(widget, QDialog) and widget.windowTitle().endswith("engine"):
            self.shot("krita-6-settings")
            widget.reject()

    def answer(self, box: QMessageBox) -> None:
        if "install the engine" in box.windowTitle():
            self.shot("krita-2-offer")
            box.button(QMessageBox.Yes).click()
        else:
            self.shot("krita-4-after-cancel")
            box.accept()

    def follow(self, progress: QProgressDialog) -> None:
        label = progress.labelText()
        if label.startswith("pip:") and self.cancel_install:
            self.shot("krita-3-progress-pip")
            self.cancel_install = False
            progress.findChild(QPushButton).click()  # as the user does: emits canceled
        elif label.startswith("Downloading"):
            self.shot("krita-5-progress-model")


def trigger(extension, action_id: str) -> str:
    messages = []
    extension.run_finished.connect(messages.append)
    Krita.instance().action(action_id).trigger()
    deadline = time.monotonic() + TIMEOUT_S
    while not messages and time.monotonic() < deadline:
        pump(0.05)
    extension.run_finished.disconnect(messages.append)
    return messages[0] if messages else "timeout"


def main() -> int:
    import scribbleseg_krita
    from scribbleseg_krita.engine_setup import SETTINGS_ACTION

    case = json.loads((OUT / "case.json").read_text())
    app = Krita.instance()
    extension = scribbleseg_krita.EXTENSION
    manifest = extension.manifest
    actions = {key: spec["krita_action"] for key, spec in manifest["actions"].items()}
    document = app.openDocument(case["image"])
    document.setBatchmode(True)
    app.activeWindow().addView(document)
    pump(1.0)
    width, height = document.width(), document.height()
    app.action(actions["add_layers"]).trigger()
    pump(0.3)
    for node in document.topLevelNodes():
        for role in ("positive", "negative"):
            if node.name() == manifest["layers"][role]:
                node.setPixelData(Path(case[role]).read_bytes(), 0, 0, width, height)
    document.waitForDone()
    clicker = Clicker(manifest["actions"]["segment"]["label"])

    results = {"cancelled": trigger(extension, actions["segment"])}
    started = time.monotonic()
    results["second"] = trigger(extension, actions["segment"])
    results["second_seconds"] = time.monotonic() - started
    results["install_seconds"] = extension.engine_setup.last_install_seconds
    for node in document.topLevelNodes():  # the cut-out alone
        node.setVisible(node.name().endswith("cut-out)"))
    document.refreshProjection()
    pump(1.0)
    QApplication.primaryScreen().grabWindow(0).save(str(OUT / "krita-7-cut-out.png"))
    app.action(SETTINGS_ACTION).trigger()
    pump(0.5)
    results["shots"] = clicker.shots
    (OUT / "results.json").write_text(json.dumps(results, indent=1))
    return 0
