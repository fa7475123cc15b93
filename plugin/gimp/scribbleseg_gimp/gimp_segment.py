"""One run in GIMP: read the layers, ask the engine host for a mask, write the result.

Everything that can fail (missing layers, no strokes, the engine's answer) happens before the
image is touched; gimp_output then writes in one undo group.
"""

from __future__ import annotations

import dataclasses
import threading

import gi

gi.require_version("Gimp", "3.0")
gi.require_version("Gegl", "0.4")
from gi.repository import Gimp  # noqa: E402
from gimp_layers import (  # noqa: E402
    ALPHA_FORMAT,
    MASK_FORMAT,
    RGB_FORMAT,
    active_layer,
    cutout_of,
    flat_layers,
    is_cutout,
    read_pixels,
)
from gimp_output import write_result  # noqa: E402

from scribbleseg_editor import host, layers, limits, planes, settings  # noqa: E402
from scribbleseg_editor.host import HostError  # noqa: E402


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
                                  lambda layer: layer.get_id() in scribble_ids
                                  or is_cutout(layer))
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
    """The result so far, sent so that a run refines the last: what the output writes to
    (layer mask, selection or cut-out layer), else the layer mask or the selection. Uniform
    planes carry nothing and are left out."""
    readers = {"layer_mask": layer_mask_plane, "selection": selection_plane,
               "new_layer": cutout_plane}
    for kind in dict.fromkeys([output, "layer_mask", "selection"]):
        plane = readers[kind](image, target)
        if plane is not None and plane.count(plane[0]) != len(plane):
            return plane
    return None


def layer_mask_plane(image: Gimp.Image, target: Gimp.Layer) -> bytes | None:
    mask = target.get_mask()
    if mask is None:
        return None
    return read_pixels(mask, 0, 0, mask.get_width(), mask.get_height(), MASK_FORMAT)


def selection_plane(image: Gimp.Image, target: Gimp.Layer) -> bytes | None:
    if Gimp.Selection.is_empty(image):
        return None
    _, x, y = target.get_offsets()
    return read_pixels(image.get_selection(), x, y, target.get_width(), target.get_height(),
                       MASK_FORMAT)


def cutout_plane(image: Gimp.Image, target: Gimp.Layer) -> bytes | None:
    cutout = cutout_of(image, target)
    if cutout is None:
        return None
    _, x, y = target.get_offsets()
    _, cutout_x, cutout_y = cutout.get_offsets()
    return read_pixels(cutout, x - cutout_x, y - cutout_y, target.get_width(),
                       target.get_height(), ALPHA_FORMAT)


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


def _names(names: dict[str, list[str]]) -> str:
    return " or ".join(repr(role_names[0]) for role_names in names.values())
