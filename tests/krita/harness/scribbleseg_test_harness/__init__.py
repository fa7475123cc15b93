"""Test-only Krita plug-in: run a driver script inside a real Krita, then exit with its code.

Once the main window and every plug-in's actions exist, it executes the file named by
SCRIBBLESEG_KRITA_DRIVER; the driver's `main()` returns the exit code. `os._exit` is the only
way to hand a code back: Krita's own exit status says nothing about the script.
"""

import os
import sys
import traceback

from krita import Extension, Krita
from PyQt5.QtCore import QTimer


class Harness(Extension):
    def setup(self) -> None:
        pass

    def createActions(self, window) -> None:
        # Runs after every plug-in's createActions: the timer fires once the event loop turns.
        QTimer.singleShot(0, run_driver)


def fail_on_uncaught(kind, value, trace) -> None:
    """An exception escaping a plug-in slot ends the run (Krita would otherwise show a dialog
    nobody answers)."""
    traceback.print_exception(kind, value, trace)
    print("SCRIBBLESEG-DRIVER-EXIT 3", flush=True)
    os._exit(3)


def run_driver() -> None:
    sys.excepthook = fail_on_uncaught
    path = os.environ["SCRIBBLESEG_KRITA_DRIVER"]
    sys.path.insert(0, os.path.dirname(path))  # drivers may import their neighbours
    code = 70
    try:
        namespace = {"__name__": "scribbleseg_driver", "__file__": path}
        with open(path) as source:
            exec(compile(source.read(), path, "exec"), namespace)
        code = int(namespace["main"]())
    except BaseException:
        traceback.print_exc()
    print(f"SCRIBBLESEG-DRIVER-EXIT {code}", flush=True)
    sys.stderr.flush()
    os._exit(code)


Krita.instance().addExtension(Harness(Krita.instance()))
