"""The Krita plug-in in a real Krita 5 under Xvfb: a user's whole session, checked from outside.

One Krita run (tests/krita/drive_segment.py) opens a benchmark photo, adds the scribble layers,
paints the benchmark's human strokes, runs every output mode, refines with more strokes, fails
once on purpose and saves .kra and .png. The tests below compare what it wrote with
scribbleseg.segment on the same inputs and with the ground truth.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import scribbleseg
from PIL import Image
from scipy import ndimage

sys.path.insert(0, str(Path(__file__).resolve().parent / "krita"))
import krita_session  # noqa: E402

BENCHMARKS = Path(__file__).resolve().parents[2] / "shared" / "benchmarks"
CASE = "teddy"
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


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    """Run the driver in Krita once; yield (results, out folder, strokes by round)."""
    work = tmp_path_factory.mktemp("krita")
    out = work / "out"
    out.mkdir()
    image = next((BENCHMARKS / "grabcut" / "images").glob(f"{CASE}.*"))
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
    (work / "case.json").write_text(json.dumps({"image": str(image), "strokes": strokes,
                                                "out": str(out)}))
    runtime = work / "run"
    env = {"SCRIBBLESEG_KRITA_CASE": str(work / "case.json"),
           "SCRIBBLESEG_PYTHON": sys.executable, "SCRIBBLESEG_RUNTIME_DIR": str(runtime),
           "SCRIBBLESEG_CONFIG_DIR": str(work / "config")}
    display = krita_session.Display()
    home = work / "home"
    try:
        krita_session.install_profile(home)
        code, log = krita_session.run_driver(display, home, DRIVER, env)
    finally:
        display.close()
        _stop_host(runtime)
    (work / "krita.log").write_text(log)
    assert code == 0, f"the driver failed in Krita (log: {work / 'krita.log'}):\n{log[-3000:]}"
    results = json.loads((out / "results.json").read_text())
    yield results, out, rounds


def _stop_host(runtime: Path) -> None:
    """Stop the engine host the plug-in started for this test (by its recorded pid)."""
    try:
        pid = int(json.loads((runtime / "host.json").read_text())["pid"])
    except (OSError, ValueError, KeyError):
        return
    (runtime / "host.json").unlink()
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)


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
    photo = run_named(results, "again")["layers"][0]
    masks = [child for child in photo["children"] if child["type"] == "transparencymask"]
    assert [mask["name"] for mask in masks] == [f"{MANIFEST['name']} mask"]


def test_a_failed_run_changes_nothing_and_says_why(session):
    results, _, _ = session
    message = run_named(results, "failing")["message"]
    assert message and "127.0.0.1:9" in message or "Unreachable" in message or "(" in message
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
