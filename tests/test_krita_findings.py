"""What a Krita user notices around a run, on Krita 5.1 and 5.2 (tests/krita/drive_findings.py):
one Edit > Undo restores the document exactly after every output mode, first and refining run;
the run lands on the document it started on; runs with last values keep working; cut-out mode
refines from and replaces the previous cut-out; a moved layer is segmented in its own frame;
a missing, broken or hanging engine says what to do; an oversized image is refused with a
message and Krita lives on.

One Krita run per version. The engine host is started outside Krita, so the
installed manifest's engine start timeout can be short for the hanging-engine case
(krita_session.KritaBuild.engine).
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import scribbleseg

sys.path.insert(0, str(Path(__file__).resolve().parent / "krita"))
import krita_session  # noqa: E402
from test_krita_plugin import (  # noqa: E402
    BENCHMARKS,
    CASE,
    MANIFEST,
    assert_same_mask,
    photo_rgb,
    split_strokes,
    stroke_layer,
)

DRIVER = Path(__file__).resolve().parent / "krita" / "drive_findings.py"
OUTPUTS = ("layer_mask", "new_layer", "selection")
SCENARIOS = ["undo", "cut_out", "binding", "repeats", "moved", "engine", "oversized"]
OFFSET = (90, 110)  # the moved photo's position: the lower right of its object is off the canvas
START_TIMEOUT_S = 12  # the installed manifest's engine start timeout, for the hanging engine
OVERSIZED = (4097, 512)

pytestmark = pytest.mark.skipif(not (BENCHMARKS / "grabcut").is_dir(),
                                reason=f"benchmark data not found at {BENCHMARKS}")


def write_engines(work: Path) -> dict[str, str]:
    """Interpreters a user may be left with: gone, broken (exits at once), hanging."""
    scripts = {"broken": "echo 'No module named scribbleseg' >&2\nexit 1\n",
               "hanging": "exec sleep 60\n"}
    engines = {"missing": str(work / "moved-away" / "bin" / "python3")}
    for name, body in scripts.items():
        path = work / f"{name}-engine"
        path.write_text(f"#!/bin/sh\n{body}")
        path.chmod(0o755)
        engines[name] = str(path)
    return engines


def truth() -> np.ndarray:
    return np.array(Image.open(BENCHMARKS / "grabcut" / "masks" / f"{CASE}.png")) == 255


def across_the_top(object_mask: np.ndarray) -> np.ndarray:
    """A 5-pixel stroke across the object, a fifth of the way down: "not this part"."""
    rows = np.flatnonzero(object_mask.any(axis=1))
    top = rows[0] + (rows[-1] - rows[0]) // 5
    stroke = np.zeros_like(object_mask)
    stroke[top:top + 5] = object_mask[top:top + 5]
    return stroke


def write_case(work: Path) -> tuple[dict, list]:
    out = work / "out"
    out.mkdir()
    source = next((BENCHMARKS / "grabcut" / "images").glob(f"{CASE}.*"))
    image = work / source.name
    shutil.copyfile(source, image)
    scribbles = np.array(Image.open(BENCHMARKS / "grabcut" / "scribbles" / f"{CASE}.png"))
    positive, negative = split_strokes(scribbles == 1), split_strokes(scribbles == 2)
    more_negative = negative[1] | across_the_top(truth())
    # Round 1 adds a negative stroke across the object, so the refining run changes the result;
    # round 2 erases the positive strokes: only a current mask leaves something to select.
    rounds = [(positive[0], negative[0]), (positive[1], more_negative),
              (np.zeros_like(positive[0]), more_negative)]
    strokes = []
    for index, (plus, minus) in enumerate(rounds):
        files = {"positive": work / f"positive{index}.bgra",
                 "negative": work / f"negative{index}.bgra"}
        files["positive"].write_bytes(stroke_layer(plus, (0, 255, 0)))
        files["negative"].write_bytes(stroke_layer(minus, (0, 0, 255)))
        strokes.append({role: str(path) for role, path in files.items()})
    case = {"image": str(image), "strokes": strokes, "out": str(out), "offset": OFFSET,
            "scenarios": SCENARIOS, "engines": write_engines(work), "oversized": OVERSIZED,
            "repeats": 5}
    return case, rounds


def shorten_start_timeout(home: Path) -> None:
    path = home / ".local/share/krita/pykrita/scribbleseg_krita/manifest.json"
    manifest = json.loads(path.read_text())
    manifest["engine"]["start_timeout_seconds"] = START_TIMEOUT_S
    path.write_text(json.dumps(manifest))


@pytest.fixture(scope="module", params=krita_session.BUILDS, ids=lambda build: build.version)
def findings(request, tmp_path_factory, installed):
    build = request.param
    if build.unavailable_reason():
        pytest.skip(build.unavailable_reason())
    work = tmp_path_factory.mktemp(f"krita-{build.version}")
    case, rounds = write_case(work)
    (work / "case.json").write_text(json.dumps(case))
    home = work / "home"
    krita_session.install_profile(home, installed)
    shorten_start_timeout(home)
    display = krita_session.Display()
    try:
        with build.engine(home, installed.config_dir, outside=True):
            code, log = krita_session.run_driver(
                display, home, DRIVER, {"SCRIBBLESEG_KRITA_CASE": str(work / "case.json")},
                timeout=900, build=build)
    finally:
        display.close()
    (work / "krita.log").write_text(log)
    results_path = Path(case["out"]) / "results.json"
    results = json.loads(results_path.read_text()) if results_path.is_file() else {}
    return {"code": code, "log": log, "results": results, "out": Path(case["out"]),
            "rounds": rounds, "work": work, "version": build.version}


def scenario(findings: dict, name: str) -> dict:
    """A scenario's results; missing when Krita died before writing them."""
    results = findings["results"]
    assert name in results, (f"Krita ended (code {findings['code']}) before scenario {name}; "
                             f"log: {findings['work'] / 'krita.log'}\n{findings['log'][-2000:]}")
    assert "error" not in results[name], results[name]["error"]
    return results[name]


def image_of(findings: dict) -> np.ndarray:
    """The photo as Krita decoded it."""
    return photo_rgb(findings["out"], findings["results"]["size"])


def plane(findings: dict, name: str, shape: tuple[int, int]) -> np.ndarray:
    return np.fromfile(findings["out"] / name, np.uint8).reshape(shape)


def test_an_oversized_image_is_refused_with_a_message_and_krita_lives_on(findings):
    seen = scenario(findings, "oversized")
    assert "4096" in seen["message"] and "4097" in seen["message"]
    assert seen["alive"]
    assert findings["code"] == 0


@pytest.mark.parametrize("output", OUTPUTS)
def test_one_undo_restores_the_document_after_a_first_run(findings, output):
    steps = scenario(findings, "undo")[output]
    assert steps["first_message"] == ""
    assert steps["after_first"] != steps["before_first"], "the run changed nothing"
    assert steps["undone_first"] == steps["before_first"]


@pytest.mark.parametrize("output", OUTPUTS)
def test_one_undo_restores_the_document_after_a_refining_run(findings, output):
    steps = scenario(findings, "undo")[output]
    assert steps["second_message"] == "" and steps["again_message"] == ""
    assert steps["after_again"] != steps["before_again"], "the refining run changed nothing"
    assert steps["undone_again"] == steps["before_again"]


@pytest.mark.parametrize("output", OUTPUTS)
def test_switching_documents_mid_run_changes_nothing_elsewhere(findings, output):
    seen = scenario(findings, "binding")[output]
    assert seen["started_on_first"] and seen["switched"]
    if not seen["switched_while_running"]:  # the engine answered before the switch landed
        pytest.skip("the run ended before the switch, so this run tested nothing")
    assert seen["other_after"] == seen["other_before"]
    if seen["message"] == "":
        assert seen["first_has_result"], "the result did not land where it was asked for"
    else:
        assert "cancel" in seen["message"].lower() and not seen["first_changed"]


def test_runs_with_last_values_keep_working_with_several_documents_open(findings):
    seen = scenario(findings, "repeats")
    assert seen["messages"] == [""] * len(seen["messages"])
    assert seen["photo_children"].count(f"{MANIFEST['name']} mask") == 1


def test_a_refining_cut_out_run_replaces_the_cut_out_and_refines_from_it(findings):
    seen = scenario(findings, "cut_out")
    assert seen["first_message"] == "" and seen["again_message"] == ""
    assert len(seen["cut_outs"]) == 1, seen["stack"]
    assert seen["cut_outs"][0][1] == seen["target_index"] - 1  # right above the photo
    image = image_of(findings)
    shape = image.shape[:2]
    first = plane(findings, seen["first"], shape)
    _, negative = findings["rounds"][2]
    expected = scribbleseg.segment(image, np.zeros(shape, bool), negative, mask=first)
    assert_same_mask(plane(findings, seen["again"], shape), expected)


@pytest.mark.parametrize("output", ["layer_mask", "new_layer"])
def test_a_moved_layer_is_segmented_in_its_own_frame(findings, output):
    seen = scenario(findings, "moved")[output]
    assert seen["message"] == "" and seen["position"] == list(OFFSET)
    image = image_of(findings)
    positive, negative = findings["rounds"][0]
    expected = scribbleseg.segment(image, positive, negative)
    assert_same_mask(plane(findings, seen["result"], image.shape[:2]), expected)


def test_a_missing_engine_says_where_it_looked_and_how_to_reinstall(findings):
    for name in ("missing", "broken"):
        seen = scenario(findings, "engine")[name]
        python = json.loads((findings["work"] / "case.json").read_text())["engines"][name]
        message = seen["message"]
        assert python in message, message
        assert "install" in message.lower(), message
        assert "Unexpected" not in message and "Errno" not in message, message
        assert seen["boxes"] == [message] and seen["unchanged"]


def test_a_hanging_engine_says_it_is_starting_then_times_out(findings):
    seen = scenario(findings, "engine")["hanging"]
    early = [text for at, text in seen["progress"] if at <= 5 and "start" in text.lower()]
    assert early, f"no 'starting' message within 5 s: {seen['progress']}"
    assert START_TIMEOUT_S <= seen["seconds"] <= START_TIMEOUT_S + 20
    assert f"{START_TIMEOUT_S} s" in seen["message"] and "start" in seen["message"].lower()
    assert seen["boxes"] == [seen["message"]] and seen["unchanged"]
