"""The editor-neutral plug-in core: layer choice, byte planes, settings (no editor needed)."""

from __future__ import annotations

import json

import pytest

from scribbleseg_editor import layers, limits, planes, settings
from scribbleseg_editor.errors import ScribbleSegError
from scribbleseg_editor.manifest import load_manifest

NAMES = {"positive": ["Positive", "plus"], "negative": ["Negative"]}


def find(stack, active=None):
    scribbles = layers.find_scribble_layers(stack, str, NAMES)
    chosen = {layer for layer in scribbles.values() if layer is not None}
    return scribbles, layers.choose_target(stack, active, lambda layer: layer in chosen)


def test_scribble_layers_are_found_by_name_in_any_case():
    scribbles, _ = find(["  POSITIVE ", "negative", "Photo"])
    assert scribbles == {"positive": "  POSITIVE ", "negative": "negative"}
    scribbles, _ = find(["Plus", "Photo"])
    assert scribbles == {"positive": "Plus", "negative": None}


def test_target_is_the_active_layer_unless_it_holds_strokes():
    assert find(["Positive", "Negative", "Photo", "Sky"], active="Sky")[1] == "Sky"
    assert find(["Positive", "Negative", "Photo", "Sky"], active="Positive")[1] == "Photo"
    assert find(["Text", "Positive", "Negative", "Photo"])[1] == "Photo"
    assert find(["Photo", "Positive"])[1] == "Photo"
    assert find(["Positive", "Negative"])[1] is None


def test_strokes_are_the_clearly_painted_pixels():
    rgba = bytes([9, 9, 9, 0, 9, 9, 9, 127, 9, 9, 9, 128, 0, 0, 0, 255])
    assert planes.stroke_plane(rgba, 4, 3) == bytes([0, 0, 255, 255])
    assert planes.is_blank(bytes(4)) and not planes.is_blank(bytes([0, 1]))


def test_channels_are_picked_and_interleaved():
    bgra = bytes([3, 2, 1, 255, 6, 5, 4, 255])
    assert planes.pick_channels(bgra, 4, (2, 1, 0)) == bytes([1, 2, 3, 4, 5, 6])


@pytest.mark.parametrize(("x", "y", "expected"), [
    (0, 0, [[1, 2, 0], [3, 4, 0]]),
    (1, 1, [[0, 0, 0], [0, 1, 2]]),
    (-1, 0, [[2, 0, 0], [4, 0, 0]]),
    (3, 0, [[0, 0, 0], [0, 0, 0]]),
])
def test_a_layer_plane_is_placed_on_the_canvas_clipped(x, y, expected):
    placed = planes.place(bytes([1, 2, 3, 4]), 2, 2, 3, 2, x, y)
    assert placed == bytes(sum(expected, []))


def test_last_options_round_trip_and_bad_values_fall_back(tmp_path, monkeypatch):
    monkeypatch.setenv("SCRIBBLESEG_CONFIG_DIR", str(tmp_path))
    manifest = load_manifest()
    assert settings.last_options(manifest) == settings.default_options(manifest)
    chosen = settings.RunOptions(output="selection", engine="cloud", endpoint="http://x",
                                 postprocess="edgerefine", feather=False)
    settings.save_last_options(chosen)
    assert settings.last_options(manifest) == chosen
    assert chosen.wire_options() == {"postprocess": "edgerefine", "edge_feathering": False,
                                     "engine": "cloud", "endpoint": "http://x"}
    (tmp_path / "settings.json").write_text(json.dumps(
        {"last_run": {"output": "nonsense", "feather": "yes", "engine": "local"},
         "layers": {"positive": "Keep"}}))
    options = settings.last_options(manifest)
    assert (options.output, options.feather) == (manifest["engine"]["default_output"],
                                                 manifest["engine"]["default_feather"])
    assert settings.scribble_layer_names(manifest) == {
        "positive": ["Keep"], "negative": [manifest["layers"]["negative"]]}


def test_size_limit_is_refused_with_what_to_do():
    limits.check_size(4096, 32)
    with pytest.raises(ScribbleSegError) as raised:
        limits.check_size(4097, 100)
    assert raised.value.code == "InvalidImage.Resolution"
    assert "4097x100" in raised.value.message and "Scale the image down" in raised.value.recommend
