"""One run in GIMP: read the layers, ask the engine host for a mask, write the result.

Everything that can fail (missing layers, no strokes, the engine's answer) happens before the
image is touched; the writes then go into one undo group.
"""

from __future__ import annotations

import dataclasses
import threading

import gi

gi.require_version("Gimp", "3.0")
gi.require_version("Gegl", "0.4")
from gi.repository import Gegl, Gimp  # noqa: E402

from scribbleseg_editor import host, layers, limits, planes, settings  # noqa: E402
from scribbleseg_editor.host import HostError  # noqa: E402

# babl formats: GIMP converts any precision and colour model to these on reading and writing.
RGB_FORMAT = "R'G'B' u8"
ALPHA_FORMAT = "A u8"
MASK_FORMAT = "Y u8"  # layer masks and the selection are linear coverage: no primes


@dataclasses.dataclass
class Job:
    """The inputs of one run, in the target layer's own frame (its size and offsets)."""

    target: Gimp.Layer
    width: int
    height: int
    rgb: bytes
    planes: dict[str, bytes]


def segment(image: Gimp.Image, drawables: list, options: settings.RunOptions,
            manifest: dict) -> None:
    """Segment from the scribble layers and write the result as options.output asks."""
    job = read_job(image, drawables, options.output, manifest)
    alpha = ask_host(job, options, manifest)
    write_result(image, job.target, alpha, options.output)


def read_job(image: Gimp.Image, drawables: list, output: str, manifest: dict) -> Job:
    all_layers = flat_layers(image)
    names = settings.scribble_layer_names(manifest)
    scribbles = layers.find_scribble_layers(all_layers, lambda layer: layer.get_name(), names)
    found = [layer for layer in scribbles.values() if layer is not None]
    if not found:
        raise HostError("NoScribbleLayers", f"No layer named {_names(names)}. Run "
                        "Select > Add Scribble Layers, paint strokes on them and run again.")
    scribble_ids = {layer.get_id() for layer in found}
    target = layers.choose_target(all_layers, active_layer(drawables),
                                  lambda layer: layer.get_id() in scribble_ids)
    if target is None:
        raise HostError("NoTargetLayer", "There is no layer to segment besides the scribble "
                        "layers. Select the photo's layer and run again.")
    _, x, y = target.get_offsets()
    width, height = target.get_width(), target.get_height()
    limits.check_size(width, height)
    job_planes = {role: read_strokes(layer, x, y, width, height)
                  for role, layer in scribbles.items() if layer is not None}
    if all(planes.is_blank(plane) for plane in job_planes.values()):
        raise HostError("NoStrokes", f"The scribble layers are empty. Paint on "
                        f"{names['positive'][0]!r} over the object (and on "
                        f"{names['negative'][0]!r} over the background), then run again.")
    current = current_mask(image, target, output)
    if current is not None:
        job_planes["mask"] = current
    rgb = read_pixels(target, 0, 0, width, height, RGB_FORMAT)
    return Job(target, width, height, rgb, job_planes)


def flat_layers(image: Gimp.Image) -> list:
    """The image's layers from top to bottom, walking into groups (groups themselves left out)."""
    def walk(items: list):
        for item in items:
            if item.is_group():
                yield from walk(item.get_children())
            else:
                yield item
    return list(walk(image.get_layers()))


def active_layer(drawables: list) -> Gimp.Layer | None:
    """The layer the user has selected (a selected layer mask stands for its layer)."""
    for drawable in drawables:
        if isinstance(drawable, Gimp.LayerMask):
            return Gimp.Layer.from_mask(drawable)
        if isinstance(drawable, Gimp.Layer):
            return drawable
    return None


def read_pixels(drawable: Gimp.Drawable, x: int, y: int, width: int, height: int,
                babl_format: str) -> bytes:
    """A rectangle in the drawable's own coordinates; outside the drawable reads as 0."""
    return drawable.get_buffer().get(Gegl.Rectangle.new(x, y, width, height), 1.0, babl_format,
                                     Gegl.AbyssPolicy.NONE)


def read_strokes(layer: Gimp.Layer, x: int, y: int, width: int, height: int) -> bytes:
    """The strokes on a scribble layer, aligned with a width x height layer at image (x, y)."""
    if not layer.has_alpha():
        raise HostError("ScribbleLayerOpaque", f"The layer {layer.get_name()!r} has no "
                        "transparency, so every pixel counts as a stroke. Use Layer > "
                        "Transparency > Add Alpha Channel, clear it, and paint the strokes.")
    _, layer_x, layer_y = layer.get_offsets()
    alpha = read_pixels(layer, x - layer_x, y - layer_y, width, height, ALPHA_FORMAT)
    return planes.stroke_plane(alpha, 1, 0)


def current_mask(image: Gimp.Image, target: Gimp.Layer, output: str) -> bytes | None:
    """The result so far, sent so that a run refines the last: the target's layer mask or the
    selection (the one the output writes to first). Uniform masks carry nothing and are left out."""
    width, height = target.get_width(), target.get_height()
    candidates = []
    if target.get_mask() is not None:
        candidates.append(read_pixels(target.get_mask(), 0, 0, width, height, MASK_FORMAT))
    if not Gimp.Selection.is_empty(image):
        _, x, y = target.get_offsets()
        selection = read_pixels(image.get_selection(), x, y, width, height, MASK_FORMAT)
        candidates.insert(0 if output == "selection" else len(candidates), selection)
    for plane in candidates:
        if plane.count(plane[0]) != len(plane):
            return plane
    return None


def ask_host(job: Job, options: settings.RunOptions, manifest: dict) -> bytes:
    """The engine's alpha for the job, pulsing GIMP's progress bar while the host works."""
    outcome: dict = {}

    def work() -> None:
        try:
            connection = host.ensure_host(manifest["engine"]["start_timeout_seconds"])
            outcome["alpha"] = connection.segment(job.width, job.height, job.rgb, job.planes,
                                                  options.wire_options())
        except HostError as error:
            outcome["error"] = error

    Gimp.progress_init("Segmenting from scribbles")
    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    while worker.is_alive():
        Gimp.progress_pulse()
        worker.join(0.1)
    Gimp.progress_end()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["alpha"]


def write_result(image: Gimp.Image, target: Gimp.Layer, alpha: bytes, output: str) -> None:
    """Write the alpha as the target's layer mask, a cut-out layer or the selection: one undo
    step."""
    writers = {"layer_mask": replace_layer_mask, "new_layer": add_cutout_layer,
               "selection": replace_selection}
    image.undo_group_start()
    try:
        writers[output](image, target, alpha)
    finally:
        image.undo_group_end()
    Gimp.displays_flush()


def replace_layer_mask(image: Gimp.Image, layer: Gimp.Layer, alpha: bytes) -> None:
    # A new mask, filled before it is attached: removing and adding masks is undoable, and
    # unlike merge_shadow() the write is not limited to the current selection.
    if layer.get_mask() is not None:
        layer.remove_mask(Gimp.MaskApplyMode.DISCARD)
    mask = layer.create_mask(Gimp.AddMaskType.WHITE)
    write_pixels(mask, alpha)
    layer.add_mask(mask)


def add_cutout_layer(image: Gimp.Image, target: Gimp.Layer, alpha: bytes) -> None:
    """A copy of the target above it, transparent where the alpha says background."""
    cutout = target.copy()
    cutout.set_name(f"{target.get_name()} cut-out")
    image.insert_layer(cutout, target.get_parent(), image.get_item_position(target))
    if not cutout.has_alpha():
        cutout.add_alpha()
    replace_layer_mask(image, cutout, alpha)
    cutout.remove_mask(Gimp.MaskApplyMode.APPLY)
    image.set_selected_layers([target])


def replace_selection(image: Gimp.Image, target: Gimp.Layer, alpha: bytes) -> None:
    width, height = image.get_width(), image.get_height()
    _, x, y = target.get_offsets()
    plane = planes.place(alpha, target.get_width(), target.get_height(), width, height, x, y)
    selection = image.get_selection()
    shadow = selection.get_shadow_buffer()
    shadow.set(Gegl.Rectangle.new(0, 0, width, height), MASK_FORMAT, plane)
    shadow.flush()
    selection.merge_shadow(True)
    selection.update(0, 0, width, height)


def write_pixels(drawable: Gimp.Drawable, plane: bytes) -> None:
    width, height = drawable.get_width(), drawable.get_height()
    buffer = drawable.get_buffer()
    buffer.set(Gegl.Rectangle.new(0, 0, width, height), MASK_FORMAT, plane)
    buffer.flush()
    drawable.update(0, 0, width, height)


def _names(names: dict[str, list[str]]) -> str:
    return " or ".join(repr(role_names[0]) for role_names in names.values())
