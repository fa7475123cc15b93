"""One run in GIMP: the core plans it from the image, the engine host answers, the result is
written. Every refusal and the engine's answer come before the image is touched; gimp_output
then writes in one undo group."""

from __future__ import annotations

import threading

import gi

gi.require_version("Gimp", "3.0")
from gi.repository import Gimp  # noqa: E402
from gimp_document import GimpDocument  # noqa: E402
from gimp_output import write_result  # noqa: E402

from scribbleseg_editor import host, settings  # noqa: E402
from scribbleseg_editor.run import RunPlan, plan_run  # noqa: E402

PROGRESS_PULSE_S = 0.1  # how often GIMP's progress bar moves while the host works


def segment(image: Gimp.Image, drawables: list, options: settings.RunOptions,
            manifest: dict, add_layers_menu: str) -> None:
    """Segment from the scribble layers and write the result as options.output asks."""
    document = GimpDocument(image, drawables, add_layers_menu)
    plan = plan_run(document, settings.scribble_layer_names(manifest), options.output)
    alpha = ask_host(plan, options)
    write_result(image, document.item(plan.target), alpha, options.output)


def ask_host(plan: RunPlan, options: settings.RunOptions) -> bytes:
    """The engine's alpha for the plan, pulsing GIMP's progress bar while the host works."""
    outcome: dict = {}

    def work() -> None:
        try:
            connection = host.ensure_host(lambda text: outcome.setdefault("starting", text))
            outcome["alpha"] = connection.segment(
                plan.frame.width, plan.frame.height, plan.rgb, plan.planes,
                options.segment_options(), options.engine, options.endpoint)
        except Exception as error:  # noqa: BLE001 (re-raised on GIMP's thread below)
            outcome["error"] = error

    Gimp.progress_init("Segmenting from scribbles")
    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    while worker.is_alive():
        if "starting" in outcome:  # said here: GIMP's calls belong to this thread
            Gimp.progress_set_text(outcome.pop("starting"))
        Gimp.progress_pulse()
        worker.join(PROGRESS_PULSE_S)
    Gimp.progress_end()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["alpha"]
