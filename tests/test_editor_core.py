"""The editor core's rules against a fake editor (tests/editor_fake.py): which layers a run
uses, what it refuses and says, what it sends, and what Add Scribble Layers adds. GIMP and Krita
run the same rules; their real-editor tests check the adapters."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from editor_fake import FakeDocument, FakeLayer, painted, photo_with_scribbles

from scribbleseg_editor import errors, host, hostfile, layers, limits, planes, settings, wire
from scribbleseg_editor.errors import ScribbleSegError
from scribbleseg_editor.layers import CUTOUT, GROUP
from scribbleseg_editor.manifest import check_editor_version, load_manifest
from scribbleseg_editor.options import SegmentOptions
from scribbleseg_editor.run import plan_run

NAMES = {"positive": ["Positive", "plus"], "negative": ["Negative"]}
STROKE = painted((5, 5), (6, 5))


def plan(document: FakeDocument, output: str = "layer_mask", names=NAMES):
    return plan_run(document, names, output)


def refusal(document: FakeDocument, output: str = "layer_mask", names=NAMES):
    with pytest.raises(ScribbleSegError) as raised:
        plan_run(document, names, output)
    return raised.value


# --- which layers ----------------------------------------------------------------------------

def test_scribble_layers_are_found_by_any_configured_name_in_any_case():
    stack = [FakeLayer("  PLUS ", alpha=STROKE), FakeLayer("negative"), FakeLayer("Photo")]
    run = plan(FakeDocument(stack))
    assert run.target.name == "Photo"
    assert set(run.planes) == {"positive", "negative"}
    assert planes.has_marks(run.planes["positive"])


def test_the_target_is_the_active_layer_unless_it_holds_strokes():
    stack = [FakeLayer("Positive", alpha=STROKE), FakeLayer("Negative"), FakeLayer("Photo"),
             FakeLayer("Sky")]
    assert plan(FakeDocument(stack, active="Sky")).target.name == "Sky"
    assert plan(FakeDocument(stack, active="Positive")).target.name == "Photo"
    assert plan(FakeDocument(stack, active=None)).target.name == "Photo"
    above = [FakeLayer("Photo"), FakeLayer("Positive", alpha=STROKE)]
    assert plan(FakeDocument(above)).target.name == "Photo"


def test_groups_are_walked_into_and_never_targets():
    stack = [FakeLayer("Strokes", kind=GROUP, children=[FakeLayer("Positive", alpha=STROKE)]),
             FakeLayer("Pictures", kind=GROUP, children=[FakeLayer("Photo")])]
    assert plan(FakeDocument(stack, active="Pictures")).target.name == "Photo"


def test_cut_out_layers_are_never_targets_nor_scribble_layers():
    stack = [FakeLayer("Photo cut-out", kind=CUTOUT), *photo_with_scribbles(STROKE)]
    assert plan(FakeDocument(stack, active="Photo cut-out")).target.name == "Photo"
    only_cutouts = [FakeLayer("Positive", kind=CUTOUT), FakeLayer("Photo")]
    assert refusal(FakeDocument(only_cutouts)).code == "NoScribbleLayers"


# --- refusals ----------------------------------------------------------------------------

def test_no_scribble_layers_names_them_and_the_menu():
    error = refusal(FakeDocument([FakeLayer("Photo")]))
    assert error.code == "NoScribbleLayers"
    assert "'Positive' or 'Negative'" in error.message
    assert "Select > Add Scribble Layers" in error.message


def test_scribble_layers_alone_leave_nothing_to_segment():
    error = refusal(FakeDocument([FakeLayer("Positive", alpha=STROKE), FakeLayer("Negative")]))
    assert error.code == "NoTargetLayer" and "Select the photo's layer" in error.message


def test_an_opaque_scribble_layer_is_refused():
    stack = [FakeLayer("Positive", has_alpha=False), FakeLayer("Photo")]
    error = refusal(FakeDocument(stack))
    assert error.code == "ScribbleLayerOpaque" and "'Positive'" in error.message


@pytest.mark.parametrize("stack", [
    photo_with_scribbles(),                                      # nothing painted
    photo_with_scribbles(negative=STROKE),                       # background strokes only
    photo_with_scribbles(painted((5, 5), value=127)),            # a faint brush fringe
    [FakeLayer("Negative", alpha=STROKE), FakeLayer("Photo")],   # no Positive layer
])
def test_nothing_to_select_without_a_positive_stroke_or_a_current_mask(stack):
    error = refusal(FakeDocument(stack))
    assert error.code == "NoStrokes"
    assert "Nothing to select" in error.message and "'Positive'" in error.message


def test_negative_strokes_alone_refine_a_current_mask():
    """What Krita refused before: the engine and GIMP accept it."""
    mask = bytes([255] * 800 + [0] * 800)
    run = plan(FakeDocument(photo_with_scribbles(negative=STROKE, mask=mask)))
    assert run.planes["mask"] == mask and run.mask_source == "layer_mask"
    alone = [FakeLayer("Negative", alpha=STROKE), FakeLayer("Photo", mask=mask)]
    assert plan(FakeDocument(alone)).planes["mask"] == mask


@pytest.mark.parametrize("size", [(4097, 100), (100, 31)])
def test_a_size_outside_the_limits_is_refused_before_any_pixel_is_read(size):
    width, height = size
    document = FakeDocument(photo_with_scribbles(STROKE, width=width, height=height))
    error = refusal(document)
    assert error.code == "InvalidImage.Resolution"
    assert f"{width}x{height}" in error.message and "Scale the image down" in error.recommend
    assert document.pixels_read == 0
    limits.check_size(4096, 32)


# --- what is sent ----------------------------------------------------------------------------

def test_strokes_are_read_in_the_target_layers_frame():
    """A moved, smaller photo: a stroke at image (12, 9) lands at (2, 4) in its frame."""
    stack = [FakeLayer("Positive", alpha=painted((12, 9))), FakeLayer("Photo", 32, 32, 10, 5)]
    run = plan(FakeDocument(stack))
    assert (run.frame.x, run.frame.y, run.frame.width, run.frame.height) == (10, 5, 32, 32)
    assert [divmod(i, 32)[::-1] for i, v in enumerate(run.planes["positive"]) if v] == [(2, 4)]


def test_the_current_mask_is_what_the_output_writes_to_then_the_layer_mask_then_the_selection():
    soft = bytes(range(256)) * 6 + bytes(64)  # 1600 soft values: sent as they are
    other = bytes([0, 255] * 800)
    stack = photo_with_scribbles(STROKE, mask=soft)
    assert plan(FakeDocument(stack, selection=other), "selection").planes["mask"] == other
    assert plan(FakeDocument(stack, selection=other), "layer_mask").planes["mask"] == soft
    run = plan(FakeDocument(stack, cutout_alpha=other), "new_layer")
    assert (run.mask_source, run.planes["mask"]) == ("cutout", other)
    no_mask = photo_with_scribbles(STROKE)
    assert plan(FakeDocument(no_mask, selection=other), "new_layer").mask_source == "selection"


def test_a_uniform_mask_or_selection_is_not_sent():
    white = bytes([255] * 1600)
    run = plan(FakeDocument(photo_with_scribbles(STROKE, mask=white), selection=bytes(1600)))
    assert "mask" not in run.planes and run.mask_source is None


def test_the_request_on_the_wire_holds_what_the_document_holds():
    soft = bytes(range(200)) * 8
    document = FakeDocument(photo_with_scribbles(STROKE, painted((1, 1)), mask=soft))
    run = plan(document)
    body = wire.encode_request(run.frame.width, run.frame.height, run.rgb, run.planes,
                               SegmentOptions(postprocess="edgerefine", feather=False))
    line, pixels = body.split(b"\n", 1)
    header = wire.parse_header(line)
    assert (header.width, header.height, header.planes) == (40, 40,
                                                            ("mask", "positive", "negative"))
    assert header.options == SegmentOptions(postprocess="edgerefine", feather=False)
    assert len(pixels) == header.body_bytes
    assert pixels[:4800] == bytes([10, 20, 30]) * 1600
    sent = {name: pixels[4800 + i * 1600:4800 + (i + 1) * 1600]
            for i, name in enumerate(header.planes)}
    assert sent["mask"] == soft
    assert [i for i, v in enumerate(sent["positive"]) if v] == [5 * 40 + 5, 5 * 40 + 6]
    assert [i for i, v in enumerate(sent["negative"]) if v] == [1 * 40 + 1]


# --- Add Scribble Layers ---------------------------------------------------------------------

def add_layers(document: FakeDocument, names) -> list[str]:
    """What an adapter does: insert each missing layer on top; the names added."""
    added = []
    for _, name in layers.layers_to_add(document.layers(), names):
        document.stack.insert(0, FakeLayer(name))
        added.append(name)
    return added


def test_add_scribble_layers_uses_the_first_configured_names_and_adds_once(tmp_path,
                                                                           monkeypatch):
    monkeypatch.setenv("SCRIBBLESEG_CONFIG_DIR", str(tmp_path))
    (tmp_path / "settings.json").write_text(json.dumps(
        {"layers": {"positive": ["Plus", "Object"], "negative": "Minus"}}))
    names = settings.scribble_layer_names(load_manifest())
    document = FakeDocument([FakeLayer("Photo")])
    assert add_layers(document, names) == ["Minus", "Plus"]
    assert [layer.name for layer in document.stack] == ["Plus", "Minus", "Photo"]
    assert add_layers(document, names) == []
    document.by_name("Plus").alpha = STROKE
    assert plan(document, names=names).target.name == "Photo"


# --- messages, versions, folders, the host -------------------------------------------------

def test_an_engine_refusal_reads_as_a_sentence_with_advice_for_an_editor_user():
    api_worded = ScribbleSegError("InvalidParameter", "nothing to select: give positive strokes")
    text = errors.editor_message(api_worded)
    assert text.startswith("Nothing to select: give positive strokes.")
    assert "parameter" not in text and "Update ScribbleSeg" in text
    resolution = ScribbleSegError("InvalidImage.Resolution", "The image is 5000x10 pixels")
    assert errors.editor_message(resolution) == ("The image is 5000x10 pixels. Scale the image "
                                                 "down (or crop it), then run again.")


def test_an_editor_outside_the_supported_versions_is_refused_politely():
    manifest = {"name": "ScribbleSeg", "version": "1.0",
                "editors": {"krita": {"min_version": "5.1", "max_version": "5.99"}}}
    for version in ("5.1.5", "5.2.9-beta1", "5.99"):
        check_editor_version(manifest, "krita", version)
    for version in ("5.0.2", "6.0.0"):
        with pytest.raises(ScribbleSegError) as raised:
            check_editor_version(manifest, "krita", version)
        assert raised.value.code == "UnsupportedEditor"
        assert f"Krita {version}" in raised.value.message and "5.1 to 5.99" in raised.value.message


@pytest.mark.parametrize("platform", ["darwin", "linux", "win32"])
def test_settings_and_engine_data_live_in_different_folders(platform, monkeypatch, tmp_path):
    for name in ("SCRIBBLESEG_CONFIG_DIR", "SCRIBBLESEG_DATA_DIR", "XDG_CONFIG_HOME",
                 "XDG_DATA_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("APPDATA", str(tmp_path / "Roaming"))
    monkeypatch.setenv("LOCALAPPDATA", str(tmp_path / "Local"))
    monkeypatch.setattr(sys, "platform", platform)
    config, data = hostfile.config_dir(), hostfile.data_dir()
    assert config != data and tmp_path in config.parents and tmp_path in data.parents
    assert data / "engine" != config and data / "models" != config


def test_the_host_is_started_with_the_manifests_idle_time(tmp_path, monkeypatch):
    monkeypatch.setenv("SCRIBBLESEG_PYTHON", "/opt/engine/python")
    command, _ = host.engine_launch()
    idle = command[command.index("--idle-minutes") + 1]
    assert float(idle) == load_manifest()["engine"]["idle_exit_minutes"]
    assert Path(command[0]) == Path("/opt/engine/python")


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
    assert chosen.segment_options() == SegmentOptions(postprocess="edgerefine", feather=False)
    (tmp_path / "settings.json").write_text(json.dumps(
        {"last_run": {"output": "nonsense", "feather": "yes", "engine": "local"},
         "layers": {"positive": "Keep"}}))
    options = settings.last_options(manifest)
    assert (options.output, options.feather) == (manifest["engine"]["default_output"],
                                                 manifest["engine"]["default_feather"])
    assert settings.scribble_layer_names(manifest) == {
        "positive": ["Keep"], "negative": [manifest["layers"]["negative"]]}


def test_a_missing_engine_interpreter_says_where_it_looked_and_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("SCRIBBLESEG_RUNTIME_DIR", str(tmp_path / "run"))
    monkeypatch.setenv("SCRIBBLESEG_PYTHON", str(tmp_path / "gone" / "python"))
    with pytest.raises(ScribbleSegError) as raised:
        host.ensure_host()
    assert raised.value.code == "EngineNotInstalled"
    assert str(tmp_path / "gone" / "python") in raised.value.message
    assert "build.py install" in raised.value.message


@pytest.fixture
def answering_host():
    """A stand-in engine host on loopback that answers every request with `answer`."""
    import http.server
    import threading

    answer = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            self.rfile.read(int(self.headers["Content-Length"]))
            body = json.dumps(answer["body"]).encode()
            self.send_response(answer["status"])
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield host.HostConnection(server.server_address[1], "token"), answer
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(("code", "expected_code", "shown"), [
    ("InvalidImage.Resolution", "InvalidImage.Resolution", "Scale the image down"),
    ("SignatureDoesNotMatch", "CloudRefused", "Check the secret."),
])
def test_the_hosts_refusals_reach_the_user_with_their_message(answering_host, code,
                                                            expected_code, shown):
    connection, answer = answering_host
    answer.update(status=502, body={"Code": code, "Message": "The server said no.",
                                    "Recommend": "Check the secret."})
    with pytest.raises(ScribbleSegError) as raised:
        connection.segment(32, 32, bytes(32 * 32 * 3), {}, SegmentOptions())
    assert raised.value.code == expected_code
    text = errors.editor_message(raised.value)
    assert text.startswith("The server said no.") and text.count(shown) == 1
    # A message that already gives the advice does not repeat it.
    answer["body"]["Message"] = "The server said no. Check the secret."
    with pytest.raises(ScribbleSegError) as raised:
        connection.segment(32, 32, bytes(32 * 32 * 3), {}, SegmentOptions())
    assert errors.editor_message(raised.value).count("Check the secret.") == 1
