"""Driver run INSIDE GIMP (python-fu-eval batch interpreter) by tests/gimp/harness.py.

Reads the job named by $SCRIBBLESEG_GIMP_JOB (JSON, written by the test) and, for each scenario:
opens the image, prepares it (grayscale, bit depth, smaller layer, selection), adds the scribble
layers with the plug-in's own procedure, paints strokes (pixel planes and paintbrush strokes),
runs the plug-in's procedures NONINTERACTIVE, and dumps what a user would see after each run
(layer mask, selection, cut-out layer, a fingerprint of the whole image) as raw files and
results.json; finally saves XCF and PNG and reopens the XCF. Standard library and GIMP only.
"""

import hashlib
import json
import os
import time
from pathlib import Path

import gi

gi.require_version("Gimp", "3.0")
gi.require_version("Gegl", "0.4")
from gi.repository import Gegl, Gimp, Gio  # noqa: E402

JOB = json.loads(Path(os.environ["SCRIBBLESEG_GIMP_JOB"]).read_text())
OUT = JOB["out"]
PDB = Gimp.get_pdb()
NONE = Gegl.AbyssPolicy.NONE
SETTLED_S = 1.0  # a keyed run is over when the image has changed and then stayed so this long


def read(drawable, x, y, width, height, babl_format):
    return drawable.get_buffer().get(Gegl.Rectangle.new(x, y, width, height), 1.0, babl_format,
                                     NONE)


def write_raw(name, data):
    with open(os.path.join(OUT, name), "wb") as stream:
        stream.write(data)
    return name


def run_procedure(name, image, drawables, args):
    procedure = PDB.lookup_procedure(name)
    if procedure is None:
        raise RuntimeError(f"procedure {name} is not installed")
    config = procedure.create_config()
    config.set_property("run-mode", Gimp.RunMode.NONINTERACTIVE)
    config.set_property("image", image)
    config.set_core_object_array("drawables", drawables)
    for key, value in args.items():
        config.set_property(key, value)
    started = time.perf_counter()
    result = procedure.run(config)
    seconds = time.perf_counter() - started
    status = result.index(0)
    error = result.index(1) if result.length() > 1 else None
    message = Gimp.PDB.get_last_error(PDB) if status != Gimp.PDBStatusType.SUCCESS else ""
    return {"status": status.value_nick, "message": message or str(error or ""),
            "seconds": seconds}


def layer_by_name(image, name):
    for layer in image.get_layers():
        if layer.get_name().casefold() == name.casefold():
            return layer
    return None


def fingerprint(image):
    """What the user sees: every layer's geometry, pixels and mask, and the selection."""
    def digest(data):
        return hashlib.sha1(data).hexdigest()
    layers = []
    for layer in image.get_layers():
        mask = layer.get_mask()
        layers.append([layer.get_name(), list(layer.get_offsets()[1:]), layer.get_width(),
                       layer.get_height(), layer.has_alpha(),
                       digest(read(layer, 0, 0, layer.get_width(), layer.get_height(),
                                   "R'G'B'A u8")),
                       mask and digest(read(mask, 0, 0, mask.get_width(), mask.get_height(),
                                            "Y u8"))])
    selection = read(image.get_selection(), 0, 0, image.get_width(), image.get_height(), "Y u8")
    return {"layers": layers, "selection": digest(selection),
            "channels": len(image.get_channels())}


def paint_plane(layer, path, colour):
    """Paint a canvas-sized 0/255 plane into a (canvas-sized) scribble layer."""
    plane = Path(path).read_bytes()
    rgba = bytearray(len(plane) * 4)
    rgba[colour::4] = plane
    rgba[3::4] = plane
    buffer = layer.get_buffer()
    buffer.set(Gegl.Rectangle.new(0, 0, layer.get_width(), layer.get_height()), "R'G'B'A u8",
               bytes(rgba))
    buffer.flush()
    layer.update(0, 0, layer.get_width(), layer.get_height())


def paint_strokes(layer, strokes, size):
    """Real paintbrush strokes (hard round brush) along polylines [x0, y0, x1, y1, ...]."""
    Gimp.context_set_brush(Gimp.Brush.get_by_name("2. Hardness 100"))
    Gimp.context_set_brush_size(size)
    Gimp.context_set_opacity(100.0)
    for points in strokes:
        if len(points) == 2:
            points = points + points
        Gimp.paintbrush_default(layer, points)


def prepare(image, target, steps):
    if steps.get("grayscale"):
        image.convert_grayscale()
    if steps.get("precision"):
        image.convert_precision(getattr(Gimp.Precision, steps["precision"]))
    if steps.get("shrink_layer"):
        width, height, x, y = steps["shrink_layer"]
        target.resize(width, height, -x, -y)
    if steps.get("selection"):
        image.select_rectangle(Gimp.ChannelOps.REPLACE, *steps["selection"])


def time_io(image, target, scribbles):
    """Seconds for the plug-in's own pixel traffic at this size: reading the photo and the two
    scribble layers, and writing a layer mask (on a scratch copy, deleted after)."""
    width, height = target.get_width(), target.get_height()
    started = time.perf_counter()
    read(target, 0, 0, width, height, "R'G'B' u8")
    for layer in scribbles.values():
        read(layer, 0, 0, width, height, "A u8")
    read_done = time.perf_counter()
    scratch = target.copy()
    image.insert_layer(scratch, None, 0)
    mask = scratch.create_mask(Gimp.AddMaskType.WHITE)
    written = time.perf_counter()
    buffer = mask.get_buffer()
    buffer.set(Gegl.Rectangle.new(0, 0, width, height), "Y u8", bytes(width * height))
    buffer.flush()
    scratch.add_mask(mask)
    write_done = time.perf_counter()
    image.remove_layer(scratch)
    return {"read": read_done - started, "write_mask": write_done - written}


def dump_state(image, target, prefix):
    """The results a user would look at, in the target layer's frame."""
    _, x, y = target.get_offsets()
    width, height = target.get_width(), target.get_height()
    state = {"target": [x, y, width, height], "fingerprint": fingerprint(image)}
    if target.get_mask() is not None:
        state["layer_mask"] = write_raw(f"{prefix}_layer_mask.raw",
                                        read(target.get_mask(), 0, 0, width, height, "Y u8"))
    if not Gimp.Selection.is_empty(image):
        state["selection"] = write_raw(f"{prefix}_selection.raw",
                                       read(image.get_selection(), x, y, width, height, "Y u8"))
    cutouts = [layer for layer in image.get_layers() if layer.get_name().endswith(" cut-out")]
    if cutouts:
        cutout = cutouts[-1]  # the one right above the target
        _, cx, cy = cutout.get_offsets()
        state["cutout"] = write_raw(f"{prefix}_cutout.raw",
                                    read(cutout, x - cx, y - cy, width, height, "A u8"))
        state["cutout_count"] = len(cutouts)
    return state


def fingerprint_now(image):
    """fingerprint(image), or None while the plug-in is midway (a layer it is adding has no
    buffer yet)."""
    try:
        return fingerprint(image)
    except AttributeError:
        return None


def press_keys(image, commands, prefix):
    """Ask the harness to run xdotool `commands` (a list of argument lists) on GIMP's display
    (NAME.keys marker), then wait until the image has changed and settled: returns the seconds
    until its final state appeared."""
    before = fingerprint(image)
    marker = Path(OUT) / f"{prefix}.keys"
    marker.with_suffix(".tmp").write_text(json.dumps(commands))
    marker.with_suffix(".tmp").rename(marker)  # whole, or the harness may read it half-written
    started = time.monotonic()
    deadline = started + 180
    while time.monotonic() < deadline and marker.exists():
        time.sleep(0.1)
    latest, since = None, started
    while time.monotonic() < deadline:
        current = fingerprint_now(image)
        if current is None or current == before or current != latest:
            latest, since = current, time.monotonic()
        elif time.monotonic() - since >= SETTLED_S:
            break
        time.sleep(0.2)
    return since - started


def run_scenario(scenario):
    name = scenario["name"]
    image = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path(scenario["image"]))
    target = image.get_layers()[0]
    display = Gimp.Display.new(image) if JOB.get("gui") else None
    prepare(image, target, scenario.get("prepare", {}))
    result = {"steps": []}
    add = run_procedure(JOB["procedures"]["add_layers"], image, [target], {})
    scribbles = {role: layer_by_name(image, JOB["layer_names"][role])
                 for role in ("positive", "negative")}
    result["add_layers"] = dict(add, layers=[layer.get_name() for layer in image.get_layers()])
    for number, step in enumerate(scenario["steps"]):
        prefix = f"{name}_{number}"
        for role, colour in (("positive", 1), ("negative", 0)):
            if step.get("planes", {}).get(role):
                paint_plane(scribbles[role], step["planes"][role], colour)
            if step.get("strokes", {}).get(role):
                paint_strokes(scribbles[role], step["strokes"][role], step.get("brush_size", 3.0))
        if step.get("scale"):
            image.scale(*step["scale"])
        painted = {role: write_raw(f"{prefix}_{role}_alpha.raw",
                                   read(layer, 0, 0, image.get_width(), image.get_height(),
                                        "A u8"))
                   for role, layer in scribbles.items()}
        before = dump_state(image, target, f"{prefix}_before")
        if step.get("time_io"):
            before["io_seconds"] = time_io(image, target, scribbles)
        if step.get("dump_rgb"):
            before["rgb"] = write_raw(f"{prefix}_rgb.raw", read(target, 0, 0, target.get_width(),
                                                               target.get_height(), "R'G'B' u8"))
        selected = {"target": [target], "positive": [scribbles["positive"]]}
        if step.get("keys"):
            run = {"status": "keys", "seconds": press_keys(image, step["keys"], prefix)}
        else:
            run = run_procedure(step["procedure"], image, selected[step.get("select", "target")],
                                step.get("args", {}))
        after = dump_state(image, target, f"{prefix}_after")
        result["steps"].append({"run": run, "painted": painted, "before": before,
                                "after": after, "canvas": [image.get_width(),
                                                           image.get_height()]})
        if step.get("undo"):
            press_keys(image, [["key", "--clearmodifiers", "ctrl+z"]], f"{prefix}_undo")
            result["steps"][-1]["undone"] = dump_state(image, target, f"{prefix}_undone")
    if scenario.get("save", True):
        result["saved"] = save_and_reopen(image, name, scribbles)
    if display is not None:
        display.delete()
    else:
        image.delete()
    return result


def save_and_reopen(image, name, scribbles):
    xcf = os.path.join(OUT, f"{name}.xcf")
    png = os.path.join(OUT, f"{name}.png")
    Gimp.file_save(Gimp.RunMode.NONINTERACTIVE, image, Gio.File.new_for_path(xcf), None)
    for layer in scribbles.values():
        layer.set_visible(False)
    Gimp.file_save(Gimp.RunMode.NONINTERACTIVE, image, Gio.File.new_for_path(png), None)
    for layer in scribbles.values():
        layer.set_visible(True)
    reopened = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path(xcf))
    same = fingerprint(reopened) == fingerprint(image)
    reopened.delete()
    return {"xcf": xcf, "png": png, "xcf_reopens_identical": same}


results = {}
for scenario in JOB["scenarios"]:
    results[scenario["name"]] = run_scenario(scenario)
with open(os.path.join(OUT, "results.json"), "w") as stream:
    json.dump(results, stream, indent=1)
print("DRIVER-DONE")
