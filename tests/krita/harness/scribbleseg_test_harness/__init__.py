"""Test-only Krita plug-in: run a driver script inside a real Krita, then exit with its code.

Once the main window and every plug-in's actions exist, it executes the file named by
SCRIBBLESEG_KRITA_DRIVER; the driver's `main()` returns the exit code. `os._exit` is the only
way to hand a code back: Krita's own exit status says nothing about the script.

A `main()` that is a generator yields the seconds to wait instead of pumping events itself: it
is resumed from Krita's own event loop, as a user's next click is. Krita updates its Layers
docker and which node is active only there, never from events pumped inside a slot.
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
    try:
        namespace = {"__name__": "scribbleseg_driver", "__file__": path}
        with open(path) as source:
            exec(compile(source.read(), path, "exec"), namespace)
        result = namespace["main"]()
    except BaseException:
        traceback.print_exc()
        exit_with(70)
    if hasattr(result, "send"):
        resume(result)
    else:
        exit_with(int(result))


def resume(driver) -> None:
    """Run the generator `driver` to its next yield (seconds to wait), then come back from the
    event loop; exit with its return value."""
    try:
        seconds = next(driver)
    except StopIteration as stop:
        exit_with(int(stop.value))
    except BaseException:
        traceback.print_exc()
        exit_with(70)
    else:
        QTimer.singleShot(max(int(seconds * 1000), 0), lambda: resume(driver))


def exit_with(code: int) -> None:
    print(f"SCRIBBLESEG-DRIVER-EXIT {code}", flush=True)
    sys.stderr.flush()
    os._exit(code)


Krita.instance().addExtension(Harness(Krita.instance()))
