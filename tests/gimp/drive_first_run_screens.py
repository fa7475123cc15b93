"""Driver run inside full GIMP (under Xvfb) by screens_first_run.py: the first run as a user
meets it. Opens the photo, adds the scribble layers, paints the strokes, then runs Segment from
Scribbles INTERACTIVE twice (the engine not installed yet, then installed), leaving a stage file
in the output folder before each so that the script outside knows when to look and click.
Standard library and GIMP only."""

import json
import os
from pathlib import Path

import gi

gi.require_version("Gimp", "3.0")
gi.require_version("Gegl", "0.4")
from gi.repository import Gegl, Gimp, Gio  # noqa: E402

JOB = json.loads(Path(os.environ["SCRIBBLESEG_GIMP_JOB"]).read_text())
OUT = Path(JOB["out"])
PDB = Gimp.get_pdb()


def run(name, image, drawables, mode):
    procedure = PDB.lookup_procedure(name)
    config = procedure.create_config()
    config.set_property("run-mode", mode)
    config.set_property("image", image)
    config.set_core_object_array("drawables", drawables)
    result = procedure.run(config)
    return result.index(0).value_nick


def paint(layer, path):
    width, height = layer.get_width(), layer.get_height()
    alpha = Path(path).read_bytes()
    colour = bytes([0, 200, 0]) if "positive" in path else bytes([220, 0, 0])
    pixels = b"".join(colour + bytes([a]) for a in alpha)
    buffer = layer.get_buffer()
    buffer.set(Gegl.Rectangle.new(0, 0, width, height), "R'G'B'A u8", pixels)
    buffer.flush()
    layer.update(0, 0, width, height)


image = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path(JOB["image"]))
photo = image.get_layers()[0]
Gimp.Display.new(image)
results = {"add": run(JOB["procedures"]["add_layers"], image, [photo],
                      Gimp.RunMode.NONINTERACTIVE)}
for layer in image.get_layers():
    for role in ("positive", "negative"):
        if layer.get_name() == JOB["layer_names"][role]:
            paint(layer, JOB["planes"][role])
Gimp.displays_flush()
for stage in ("not-installed", "installed"):
    (OUT / f"{stage}.stage").write_text("")
    results[stage] = run(JOB["procedures"]["segment"], image, [photo],
                         Gimp.RunMode.INTERACTIVE)
(OUT / "results.json").write_text(json.dumps(results))
print("DRIVER-DONE")
