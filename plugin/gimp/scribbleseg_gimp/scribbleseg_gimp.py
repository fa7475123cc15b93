#!/usr/bin/env python3
"""ScribbleSeg for GIMP 3: the procedures GIMP registers (menus, dialog, arguments).

This folder is the plug-in as GIMP loads it (plug-ins/scribbleseg_gimp/scribbleseg_gimp.py):
the gimp_*.py modules, the editor-neutral core scribbleseg_editor/ and manifest.json beside it.
Runs on GIMP's own Python: standard library and GIMP's modules only.
"""

from __future__ import annotations

import sys

import gi

gi.require_version("Gimp", "3.0")
from gi.repository import Gimp, GLib, GObject  # noqa: E402
from gimp_add_layers import add_scribble_layers  # noqa: E402
from gimp_engine_setup import add_status_to, ensure_engine  # noqa: E402
from gimp_segment import segment  # noqa: E402

from scribbleseg_editor import settings  # noqa: E402
from scribbleseg_editor.errors import ScribbleSegError, editor_message  # noqa: E402
from scribbleseg_editor.manifest import check_editor_version, load_manifest  # noqa: E402

MANIFEST = load_manifest()
ACTIONS = MANIFEST["actions"]
MENU_PATH = "<Image>/Select"
ADD_LAYERS_MENU = f"Select > {ACTIONS['add_layers']['label']}"  # as refusals name it
IMAGE_TYPES = "RGB*, GRAY*"
ANY_DRAWABLES = (Gimp.ProcedureSensitivityMask.DRAWABLE
                 | Gimp.ProcedureSensitivityMask.DRAWABLES
                 | Gimp.ProcedureSensitivityMask.NO_DRAWABLES)


class ScribbleSegPlugIn(Gimp.PlugIn):
    def do_set_i18n(self, name: str) -> bool:
        return False

    def do_query_procedures(self) -> list[str]:
        return [action["gimp_procedure"] for action in ACTIONS.values()]

    def do_create_procedure(self, name: str) -> Gimp.Procedure:
        builders = {ACTIONS["segment"]["gimp_procedure"]: segment_procedure,
                    ACTIONS["repeat"]["gimp_procedure"]: repeat_procedure,
                    ACTIONS["add_layers"]["gimp_procedure"]: add_layers_procedure}
        return builders[name](self)


def new_procedure(plug_in: Gimp.PlugIn, action: dict, run, blurb: str) -> Gimp.Procedure:
    procedure = Gimp.ImageProcedure.new(plug_in, action["gimp_procedure"],
                                        Gimp.PDBProcType.PLUGIN, run, None)
    procedure.set_image_types(IMAGE_TYPES)
    procedure.set_sensitivity_mask(ANY_DRAWABLES)
    procedure.set_menu_label(action["label"])
    procedure.add_menu_path(MENU_PATH)
    procedure.set_documentation(blurb, MANIFEST["description"], action["gimp_procedure"])
    procedure.set_attribution(MANIFEST["name"], MANIFEST["license"], "2026")
    return procedure


def segment_procedure(plug_in: Gimp.PlugIn) -> Gimp.Procedure:
    procedure = new_procedure(plug_in, ACTIONS["segment"], run_segment,
                              "Select the object marked by the Positive and Negative layers")
    procedure.set_menu_label(f"{ACTIONS['segment']['label']}...")  # it opens a dialog
    defaults = settings.default_options(MANIFEST)
    flags = GObject.ParamFlags.READWRITE
    # mnemonics clear of the dialog buttons: _Help, _Reset, _Cancel, _OK
    procedure.add_choice_argument("output", "O_utput", "Where the result goes",
                                  choice(settings.OUTPUTS), defaults.output, flags)
    procedure.add_choice_argument("engine", "_Engine", "Where the segmentation runs",
                                  choice(settings.ENGINES), defaults.engine, flags)
    procedure.add_string_argument("endpoint", "Cloud end_point",
                                  "URL of the cloud endpoint (engine: cloud)",
                                  defaults.endpoint, flags)
    procedure.add_choice_argument("postprocess", "Edge refi_nement", "How edges are refined",
                                  choice(settings.POSTPROCESSES), defaults.postprocess, flags)
    procedure.add_boolean_argument("feather", "_Feather edges", "Soften the mask edge",
                                   defaults.feather, flags)
    return procedure


def repeat_procedure(plug_in: Gimp.PlugIn) -> Gimp.Procedure:
    return new_procedure(plug_in, ACTIONS["repeat"], run_repeat,
                         "Segment from the scribbles again with the last values, no dialog")


def add_layers_procedure(plug_in: Gimp.PlugIn) -> Gimp.Procedure:
    return new_procedure(plug_in, ACTIONS["add_layers"], run_add_layers,
                         "Add transparent Positive and Negative layers to paint strokes on")


def choice(labels: dict[str, str]) -> Gimp.Choice:
    values = Gimp.Choice.new()
    for number, (nick, label) in enumerate(labels.items()):
        values.add(nick, number, label, "")
    return values


def run_segment(procedure, run_mode, image, drawables, config, data):
    if run_mode == Gimp.RunMode.INTERACTIVE and not ask_options(procedure, config):
        return procedure.new_return_values(Gimp.PDBStatusType.CANCEL, GLib.Error())
    values = {name: config.get_property(name)
              for name in ("output", "engine", "endpoint", "postprocess", "feather")}
    options = settings.RunOptions(**dict(values, endpoint=values["endpoint"] or ""))

    def save_and_segment() -> None:
        settings.save_last_options(options)  # like GIMP's last values: kept even if the run fails
        if options.engine == "local":
            ensure_engine(MANIFEST, interactive=run_mode == Gimp.RunMode.INTERACTIVE)
        segment(image, drawables, options, MANIFEST, ADD_LAYERS_MENU)

    return run_and_report(procedure, save_and_segment)


def run_repeat(procedure, run_mode, image, drawables, config, data):
    options = settings.last_options(MANIFEST)

    def prepare_and_segment() -> None:
        if options.engine == "local":
            ensure_engine(MANIFEST, interactive=run_mode == Gimp.RunMode.INTERACTIVE)
        segment(image, drawables, options, MANIFEST, ADD_LAYERS_MENU)

    return run_and_report(procedure, prepare_and_segment)


def run_add_layers(procedure, run_mode, image, drawables, config, data):
    return run_and_report(procedure, lambda: add_scribble_layers(image, drawables, MANIFEST))


def ask_options(procedure: Gimp.Procedure, config: Gimp.ProcedureConfig) -> bool:
    """GIMP's dialog for the procedure's arguments; False when the user cancels."""
    gi.require_version("GimpUi", "3.0")
    from gi.repository import GimpUi

    GimpUi.init(procedure.get_name())
    dialog = GimpUi.ProcedureDialog.new(procedure, config, ACTIONS["segment"]["label"])
    dialog.fill(None)
    cloud = Gimp.ValueArray.new(1)
    cloud.append(GObject.Value(GObject.TYPE_STRING, "cloud"))
    dialog.set_sensitive_if_in("endpoint", None, "engine", cloud, True)  # Cloud engine only
    add_status_to(dialog, MANIFEST)  # the engine: status, where, Update / Remove
    accepted = dialog.run()
    dialog.destroy()
    return accepted


def run_and_report(procedure: Gimp.Procedure, work):
    """Run `work`; a failure becomes the procedure's error (GIMP shows its message)."""
    try:
        check_editor_version(MANIFEST, "gimp", Gimp.version())
        work()
    except ScribbleSegError as error:
        return procedure.new_return_values(Gimp.PDBStatusType.EXECUTION_ERROR,
                                           GLib.Error(editor_message(error)))
    except Exception as error:  # noqa: BLE001 (a bug must still reach the user as a message)
        message = (f"ScribbleSeg failed unexpectedly: {error!r}. Please report it with the "
                   "text GIMP printed to its error console.")
        return procedure.new_return_values(Gimp.PDBStatusType.EXECUTION_ERROR,
                                           GLib.Error(message))
    return procedure.new_return_values(Gimp.PDBStatusType.SUCCESS, GLib.Error())


Gimp.main(ScribbleSegPlugIn.__gtype__, sys.argv)
