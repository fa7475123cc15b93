"""The engine in GIMP: offered and installed on the first local run (a progress bar and
Cancel), and its status with Update and Remove in the Segment dialog.

The work is scribbleseg_editor.installer on a worker thread while this thread keeps GIMP's
progress (or the dialog) moving. NONINTERACTIVE runs cannot ask: only SCRIBBLESEG_AUTO_INSTALL=1
installs there, with the progress in GIMP's status bar and the log.
"""

from __future__ import annotations

import sys
import threading

import gi

gi.require_version("Gimp", "3.0")
gi.require_version("Gtk", "3.0")
from gi.repository import Gimp, Gtk  # noqa: E402

from scribbleseg_editor import first_run, installer  # noqa: E402
from scribbleseg_editor.errors import ScribbleSegError  # noqa: E402
from scribbleseg_editor.progress import TenthsPrinter  # noqa: E402

TITLE = "ScribbleSeg"


def ensure_engine(manifest: dict, interactive: bool) -> None:
    """Return once the local engine can start, after installing it when the user agrees;
    ScribbleSegError says why nothing was segmented otherwise."""
    problems = first_run.engine_problems(manifest)
    if not problems:
        return
    question = first_run.offer(manifest, problems)
    if not first_run.auto_install():
        if not interactive:
            raise ScribbleSegError("EngineNotInstalled", " ".join(problems) + " Run Segment "
                                   "from Scribbles from the menu to install it, or set "
                                   f"{first_run.AUTO_INSTALL}=1.")
        if not ask(question):
            raise ScribbleSegError("EngineNotInstalled", first_run.DECLINED)
    outcome = install(first_run.plugin_bundle(manifest), interactive)
    for warning in outcome.warnings:
        Gimp.message(warning)


def ask(question: str) -> bool:
    dialog = Gtk.MessageDialog(message_type=Gtk.MessageType.QUESTION,
                               buttons=Gtk.ButtonsType.YES_NO,
                               text=f"{TITLE}: install the engine")
    dialog.format_secondary_text(question)
    dialog.set_title(TITLE)
    answer = dialog.run()
    dialog.destroy()
    return answer == Gtk.ResponseType.YES


def install(bundle: installer.Bundle, interactive: bool) -> installer.Outcome:
    """installer.install on a worker thread, with a progress dialog (and Cancel) or GIMP's
    progress bar."""
    cancel = threading.Event()
    state: dict = {"text": "Installing the engine", "fraction": None}
    log = TenthsPrinter(lambda text: print(f"{TITLE}: {text}", file=sys.stderr, flush=True))

    def report(text: str, fraction: float | None) -> None:
        state.update(text=text, fraction=fraction)
        log(text, fraction)

    def work() -> None:
        try:
            state["outcome"] = installer.install(bundle, report, cancel)
        except ScribbleSegError as error:
            state["error"] = error

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    (follow_in_dialog if interactive else follow_in_progress_bar)(worker, state, cancel)
    if "error" in state:
        raise state["error"]
    return state["outcome"]


def follow_in_progress_bar(worker: threading.Thread, state: dict, cancel: threading.Event) -> None:
    Gimp.progress_init(f"{TITLE}: installing the engine")
    while worker.is_alive():
        Gimp.progress_set_text(state["text"])
        if state["fraction"] is None:
            Gimp.progress_pulse()
        else:
            Gimp.progress_update(state["fraction"])
        worker.join(0.2)
    Gimp.progress_end()


def follow_in_dialog(worker: threading.Thread, state: dict, cancel: threading.Event) -> None:
    dialog = Gtk.Dialog(title=f"{TITLE}: installing the engine", modal=True)
    dialog.add_button("_Cancel", Gtk.ResponseType.CANCEL)
    dialog.connect("response", lambda *_: cancel.set())
    dialog.set_default_size(560, -1)
    box = dialog.get_content_area()
    box.set_spacing(8)
    box.set_border_width(12)
    label = Gtk.Label(label=state["text"], xalign=0)
    label.set_line_wrap(True)
    bar = Gtk.ProgressBar()
    box.pack_start(label, False, False, 0)
    box.pack_start(bar, False, False, 0)
    dialog.show_all()
    while worker.is_alive():
        while Gtk.events_pending():
            Gtk.main_iteration_do(False)
        label.set_text(state["text"])
        if state["fraction"] is None:
            bar.pulse()
        else:
            bar.set_fraction(state["fraction"])
        worker.join(0.05)
    dialog.destroy()


def add_status_to(dialog: Gtk.Dialog, manifest: dict) -> None:
    """The engine's status, where it lives, and Update / Remove, at the foot of a dialog."""
    frame = Gtk.Frame(label="Engine")
    box = Gtk.Box(orientation=Gtk.Orientation.VERTICAL, spacing=6, border_width=8)
    status = Gtk.Label(label="\n".join(first_run.status(manifest)), xalign=0, selectable=True)
    status.set_line_wrap(True)
    buttons = Gtk.Box(spacing=6)
    update = Gtk.Button(label="Update / repair")
    remove = Gtk.Button(label="Remove")
    remove.set_sensitive(installer.read_record() is not None)

    def refresh() -> None:
        status.set_text("\n".join(first_run.status(manifest)))
        remove.set_sensitive(installer.read_record() is not None)

    update.connect("clicked", lambda _: (run_update(manifest), refresh()))
    remove.connect("clicked", lambda _: (installer.remove(), refresh()))
    buttons.pack_start(update, False, False, 0)
    buttons.pack_start(remove, False, False, 0)
    box.pack_start(status, False, False, 0)
    box.pack_start(buttons, False, False, 0)
    frame.add(box)
    dialog.get_content_area().pack_end(frame, False, False, 6)
    frame.show_all()


def run_update(manifest: dict) -> None:
    try:
        outcome = install(first_run.plugin_bundle(manifest), interactive=True)
    except ScribbleSegError as error:
        Gimp.message(error.message)
        return
    for warning in outcome.warnings:
        Gimp.message(warning)
