"""The Krita plug-in in a real Krita 5 under Xvfb: a user's whole session, checked from outside.

Krita runs on what `build.py install` installed (tests/conftest.py): the plug-in starts the
installed engine itself, found through engine.json.

One Krita run (tests/krita/drive_segment.py) opens a benchmark photo, adds the scribble layers,
paints the benchmark's human strokes, runs every output mode, refines with more strokes, fails
once on purpose and saves .kra and .png. The tests below compare what it wrote with
scribbleseg.segment on the same inputs and with the ground truth.
"""

from __future__ import annotations

import json
import shutil
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from benchmark_data import BENCHMARKS
from PIL import Image
from scipy import ndimage

import scribbleseg

sys.path.insert(0, str(Path(__file__).resolve().parent / "krita"))
import krita_session  # noqa: E402

CASE = "teddy"
OFFSET = (7, 5)
DRIVER = Path(__file__).resolve().parent / "krita" / "drive_segment.py"
MANIFEST = json.loads((krita_session.ROOT / "manifest.json").read_text())

pytestmark = [
    pytest.mark.skipif(bool(krita_session.missing_tools()),
                       reason=f"needs {' and '.join(krita_session.missing_tools())} "
                              "(apt-get install krita python3-pyqt5 xvfb)"),
    pytest.mark.skipif(not (BENCHMARKS / "grabcut").is_dir(),
                       reason=f"benchmark data not found at {BENCHMARKS}"),
]


def stroke_layer(plane: np.ndarray, bgr: tuple[int, int, int]) -> bytes:
    """A scribble layer's raw RGBA U8 pixels (B, G, R, A): opaque colour on the strokes."""
    pixels = np.zeros(plane.shape + (4,), np.uint8)
    pixels[plane] = (*bgr, 255)
    return pixels.tobytes()


def split_strokes(plane: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(first round, all strokes): round one has the first half of the strokes (at least one)."""
    labels, count = ndimage.label(plane)
    return (labels >= 1) & (labels <= max(1, count // 2)), plane


@pytest.fixture(scope="module", params=krita_session.BUILDS, ids=lambda build: build.version)
def session(request, tmp_path_factory, installed):
    """Run the driver in each Krita version on a copy of the installed profile once; yield
    (results, out folder, strokes by round)."""
    build = request.param
    if build.unavailable_reason():
        pytest.skip(build.unavailable_reason())
    work = tmp_path_factory.mktemp(f"krita-{build.version}")
    out = work / "out"
    out.mkdir()
    # A copy: Krita writes autosave files beside the document it opens.
    source = next((BENCHMARKS / "grabcut" / "images").glob(f"{CASE}.*"))
    image = work / source.name
    shutil.copyfile(source, image)
    scribbles = np.array(Image.open(BENCHMARKS / "grabcut" / "scribbles" / f"{CASE}.png"))
    positive_rounds = split_strokes(scribbles == 1)
    negative_rounds = split_strokes(scribbles == 2)
    strokes = []
    rounds = list(zip(positive_rounds, negative_rounds, strict=True))
    for index, (positive, negative) in enumerate(rounds):
        (work / f"positive{index}.bgra").write_bytes(stroke_layer(positive, (0, 255, 0)))
        (work / f"negative{index}.bgra").write_bytes(stroke_layer(negative, (0, 0, 255)))
        strokes.append({"positive": str(work / f"positive{index}.bgra"),
                        "negative": str(work / f"negative{index}.bgra")})
    # The format runs move the Positive layer by OFFSET; its pixels are shifted back to match.
    dx, dy = OFFSET
    all_positive = rounds[1][0]
    assert not all_positive[:dy].any() and not all_positive[:, :dx].any()
    shifted = np.zeros_like(all_positive)
    shifted[:-dy, :-dx] = all_positive[dy:, dx:]
    (work / "shifted_positive.bgra").write_bytes(stroke_layer(shifted, (0, 255, 0)))
    (work / "case.json").write_text(json.dumps({
        "image": str(image), "strokes": strokes, "out": str(out), "offset": OFFSET,
        "shifted_positive": str(work / "shifted_positive.bgra")}))
    # No SCRIBBLESEG_* settings: the plug-in finds the installed engine through engine.json
    # (Krita 5.2 in its root: the one build.engine started outside).
    env = {"SCRIBBLESEG_KRITA_CASE": str(work / "case.json")}
    display = krita_session.Display()
    home = work / "home"
    try:
        krita_session.install_profile(home, installed)
        with build.engine(home, installed.config_dir):
            code, log = krita_session.run_driver(display, home, DRIVER, env, build=build)
    finally:
        display.close()
        krita_session.stop_host(home)
    (work / "krita.log").write_text(log)
    assert code == 0, f"the driver failed in Krita (log: {work / 'krita.log'}):\n{log[-3000:]}"
    results = json.loads((out / "results.json").read_text())
    yield results, out, rounds


def photo_rgb(out: Path, size: list[int]) -> np.ndarray:
    width, height = size
    bgra = np.frombuffer((out / "photo.bgra").read_bytes(), np.uint8).reshape(height, width, 4)
    return np.ascontiguousarray(bgra[..., 2::-1])


def plane(out: Path, name: str, size: list[int]) -> np.ndarray:
    width, height = size
    return np.frombuffer((out / name).read_bytes(), np.uint8).reshape(height, width)


def assert_same_mask(actual: np.ndarray, expected: np.ndarray) -> None:
    difference = np.abs(actual.astype(int) - expected.astype(int))
    assert difference.mean() < 1.0, f"mean difference {difference.mean():.2f} levels"
    assert ((actual >= 128) == (expected >= 128)).mean() > 0.995


def ground_truth_iou(alpha: np.ndarray) -> float:
    truth = np.array(Image.open(BENCHMARKS / "grabcut" / "masks" / f"{CASE}.png"))
    scored = truth != 128
    predicted, actual = (alpha >= 128)[scored], (truth == 255)[scored]
    return (predicted & actual).sum() / (predicted | actual).sum()


def run_named(results: dict, label: str) -> dict:
    return next(run for run in results["runs"] if run["label"] == label)


def test_actions_are_in_tools_scripts_with_their_default_shortcuts(session):
    results, _, _ = session
    for key, spec in MANIFEST["actions"].items():
        assert spec["label"] in results["menu"]
        assert results["shortcuts"][key] == spec["shortcut"]


def test_add_scribble_layers_adds_each_layer_once(session):
    results, _, _ = session
    names = [node["name"] for node in results["after_add_layers"]]
    assert names.count(MANIFEST["layers"]["positive"]) == 1
    assert names.count(MANIFEST["layers"]["negative"]) == 1


def test_each_output_mode_holds_the_engines_answer(session):
    results, out, strokes = session
    size = results["size"]
    image = photo_rgb(out, size)
    positive, negative = strokes[0]
    for label in ("layer_mask", "new_layer", "selection"):
        assert run_named(results, label)["message"] == ""
    first = scribbleseg.segment(image, positive, negative)
    assert_same_mask(plane(out, "round1_layer_mask.raw", size), first)
    assert ground_truth_iou(first) > 0.9
    # Later runs send the transparency mask of the first as the current mask.
    refined = scribbleseg.segment(image, positive, negative, mask=first)
    assert_same_mask(plane(out, "round1_selection.raw", size), refined)
    cut_out = np.frombuffer((out / "round1_new_layer.bgra").read_bytes(), np.uint8)
    cut_out = cut_out.reshape(size[1], size[0], 4)
    assert np.array_equal(cut_out[..., 2::-1], image)  # colours untouched
    assert_same_mask(cut_out[..., 3], refined)  # the photo is opaque: alpha = result


def test_one_undo_removes_a_cut_out_and_redo_restores_it(session):
    results, _, _ = session
    assert results["undo"] == {"edit_undo": False, "edit_redo": True}


def test_more_strokes_refine_the_mask_in_place(session):
    results, out, strokes = session
    size = results["size"]
    image = photo_rgb(out, size)
    first = scribbleseg.segment(image, *strokes[0])
    expected = scribbleseg.segment(image, *strokes[1], mask=first)
    assert run_named(results, "again")["message"] == ""
    actual = plane(out, "round2_layer_mask.raw", size)
    assert_same_mask(actual, expected)
    assert ground_truth_iou(actual) > 0.9
    # One transparency mask in the document, on the photo: the new one replaced the old.
    layers = run_named(results, "again")["layers"]
    masks = [(layer["name"], child["name"]) for layer in layers for child in layer["children"]
             if child["type"] == "transparencymask"]
    assert masks == [(layers[0]["name"], f"{MANIFEST['name']} mask")]


def test_negative_strokes_alone_refine_the_mask(session):
    results, _, _ = session
    assert run_named(results, "negative_only")["message"] == ""


def test_add_layers_uses_the_configured_names_once_and_an_oversized_image_is_refused(session):
    results, _, _ = session
    custom = results["custom_names"]
    assert custom["layers"].count("Object") == 1
    assert custom["layers"].count("Background strokes") == 1
    assert MANIFEST["layers"]["positive"] not in custom["layers"]
    assert "4097x64" in custom["message"] and "4096" in custom["message"]
    assert "Scale the image down" in custom["message"]


def test_a_failed_run_changes_nothing_and_says_why(session):
    results, _, _ = session
    message = run_named(results, "failing")["message"]
    assert "127.0.0.1:9" in message  # says which endpoint failed
    assert results["failed_run_unchanged"]


def test_saved_png_and_kra_hold_the_result(session):
    results, out, _ = session
    size = results["size"]
    assert results["saved_kra"] and results["saved_png"]
    png = np.array(Image.open(out / "result.png").convert("RGBA"))
    mask = plane(out, "round2_layer_mask.raw", size)
    assert np.abs(png[..., 3].astype(int) - mask).max() <= 1
    with zipfile.ZipFile(out / "result.kra") as kra:
        maindoc = kra.read("maindoc.xml").decode()
    assert f'name="{MANIFEST["name"]} mask"' in maindoc
    assert "cut-out" in maindoc


def test_dialog_chooses_the_output_and_failures_show_a_message_box(session):
    results, _, _ = session
    seen = results["interactive"]
    assert seen["dialog_choices"] == [["layer_mask", "new_layer", "selection"]]
    assert seen["dialog_run"] == "" and seen["has_selection"]
    assert seen["progress_shown"]
    assert seen["saved_output"] == "selection"  # remembered for Segment with Last Values
    assert seen["message_boxes"] == [seen["failing_run"]]
    assert "127.0.0.1:9" in seen["failing_run"]


def format_run(results: dict, model: str, depth: str) -> dict:
    run = next(run for run in results["formats"] if run["model"] == model
               and run["depth"] == depth)
    assert run["message"] == ""
    assert run["document"] == [model, depth]
    assert run["positive_position"] == list(OFFSET)
    return run


def test_16_bit_document_with_a_moved_layer_gives_a_16_bit_cut_out(session):
    results, out, strokes = session
    width, height = results["size"]
    format_run(results, "RGBA", "U16")
    image = photo_rgb(out, results["size"])
    expected = scribbleseg.segment(image, *strokes[1])
    photo = np.frombuffer((out / "RGBA_U16_photo.raw").read_bytes(), "<u2")
    cut_out = np.frombuffer((out / "RGBA_U16_result.raw").read_bytes(), "<u2")
    photo, cut_out = (a.reshape(height, width, 4) for a in (photo, cut_out))
    # The same sRGB pixels in 16 bits (Krita's conversion is within one 8-bit level).
    assert np.abs(photo[..., 2::-1] / 257 - image).max() <= 1
    assert np.array_equal(cut_out[..., :3], photo[..., :3])
    assert_same_mask(np.round(cut_out[..., 3] / 257).astype(np.uint8), expected)


def test_linear_float_document_gets_the_same_mask(session):
    results, out, strokes = session
    format_run(results, "RGBA", "F32")
    expected = scribbleseg.segment(photo_rgb(out, results["size"]), *strokes[1])
    mask = plane(out, "RGBA_F32_result.raw", results["size"])
    assert ((mask >= 128) == (expected >= 128)).mean() > 0.99


def test_grayscale_document_selects_from_its_gray_pixels(session):
    results, out, strokes = session
    width, height = results["size"]
    format_run(results, "GRAYA", "U8")
    gray = np.frombuffer((out / "GRAYA_U8_photo.raw").read_bytes(), np.uint8)
    gray = gray.reshape(height, width, 2)[..., 0]
    expected = scribbleseg.segment(np.repeat(gray[..., None], 3, axis=2), *strokes[1])
    assert_same_mask(plane(out, "GRAYA_U8_result.raw", results["size"]), expected)
