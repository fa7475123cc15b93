"""What a GIMP user notices around a run (GIMP 3.0 in the Debian 13 root, tests/gimp/harness.py):
a missing or hanging engine says what happened and what to do, in time; one Ctrl+Z restores the
image exactly after a first run and after Segment with Last Values, in every output mode.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gimp import harness, scenarios
from test_gimp_plugin import MANIFEST, PROCEDURES, gimp_env, prepare_work
from test_gimp_window import skip_reason as window_skip_reason

OUTPUTS = ("layer_mask", "new_layer", "selection")
START_TIMEOUT_S = 12  # the installed manifest's engine start timeout, for the hanging engine


def skip_reason() -> str | None:
    if not scenarios.GRABCUT.is_dir():
        return f"benchmark data missing: {scenarios.GRABCUT}"
    return harness.unavailable_reason()


pytestmark = pytest.mark.skipif(skip_reason() is not None, reason=str(skip_reason()))


def shorten_start_timeout(work: Path) -> None:
    path = work / "profile" / "plug-ins" / "scribbleseg_gimp" / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["engine"]["start_timeout_seconds"] = START_TIMEOUT_S
    path.write_text(json.dumps(manifest))


def run_with_engine(tmp_path_factory, installed, name: str,
                    script: str | None) -> tuple[str, dict]:
    """One GIMP run on a runtime folder where no engine host runs, the plug-in starting an
    engine interpreter that is gone (script None) or this shell script: a negative-only run
    first (refused before any engine), then a run that needs the engine. (The interpreter's
    path, the run's results.)"""
    work = tmp_path_factory.mktemp(f"gimp-{name}")
    python = work / "engine" / "bin" / "python3"  # inside work: GIMP's root sees it there
    if script is not None:
        python.parent.mkdir(parents=True)
        python.write_text(f"#!/bin/sh\n{script}")
        python.chmod(0o755)
    prepare_work(work, installed)
    shorten_start_timeout(work)
    planes, _ = scenarios.paint_job(work)
    negative_only = {"negative": planes["negative"]}
    job = {"out": str(work / "out"), "procedures": PROCEDURES, "layer_names": MANIFEST["layers"],
           "scenarios": [{"name": name, "image": str(work / "photo.png"), "save": False,
                          "steps": [
                              {"planes": negative_only, "procedure": PROCEDURES["segment"],
                               "args": {"output": "layer_mask"}},
                              {"planes": planes, "procedure": PROCEDURES["segment"],
                               "args": {"output": "layer_mask"}}]}]}
    (work / "job.json").write_text(json.dumps(job))
    completed = harness.run_gimp(work, dict(gimp_env(work), SCRIBBLESEG_PYTHON=str(python)))
    assert "DRIVER-DONE" in completed.stdout, completed.stdout[-3000:]
    return str(python), json.loads((work / "out" / "results.json").read_text())[name]


@pytest.fixture(scope="module")
def missing_engine(tmp_path_factory, installed):
    return run_with_engine(tmp_path_factory, installed, "missing", None)


@pytest.fixture(scope="module")
def hanging_engine(tmp_path_factory, installed):
    return run_with_engine(tmp_path_factory, installed, "hanging", "exec sleep 60\n")


def test_nothing_to_select_is_said_in_the_users_words(missing_engine):
    _, result = missing_engine
    run = result["steps"][0]["run"]
    assert run["status"] == "execution-error"
    message = run["message"]
    assert "Positive" in message and message.endswith(".")
    assert "(positive)" not in message and "parameter" not in message, message


def test_a_missing_engine_says_where_it_looked_and_how_to_reinstall(missing_engine):
    python, result = missing_engine
    step = result["steps"][1]
    assert step["run"]["status"] == "execution-error"
    message = step["run"]["message"]
    assert python in message and "install" in message.lower(), message
    assert "Errno" not in message and "KeyError" not in message, message
    assert step["after"]["fingerprint"] == step["before"]["fingerprint"]


def test_a_hanging_engine_times_out_with_a_message_not_a_minute_of_pulsing(hanging_engine):
    _, result = hanging_engine
    step = result["steps"][1]
    assert step["run"]["status"] == "execution-error"
    assert START_TIMEOUT_S <= step["run"]["seconds"] <= START_TIMEOUT_S + 20
    message = step["run"]["message"]
    assert f"{START_TIMEOUT_S} s" in message and "start" in message.lower(), message
    assert step["after"]["fingerprint"] == step["before"]["fingerprint"]


@pytest.fixture(scope="module")
def undo_run(tmp_path_factory, installed):
    """Full GIMP on a virtual display: for each output a first run and one Ctrl+Z, the run
    again, more strokes, Segment with Last Values and one Ctrl+Z."""
    reason = window_skip_reason()
    if reason:
        pytest.skip(reason)
    work = tmp_path_factory.mktemp("gimp-undo")
    prepare_work(work, installed)
    planes, extra = scenarios.paint_job(work)
    job = {"out": str(work / "out"), "procedures": PROCEDURES, "gui": True,
           "layer_names": MANIFEST["layers"], "scenarios": [
               {"name": output, "image": str(work / "photo.png"), "save": False, "steps": [
                   {"planes": planes, "procedure": PROCEDURES["segment"],
                    "args": {"output": output}, "undo": True},
                   {"procedure": PROCEDURES["segment"], "args": {"output": output}},
                   {"strokes": extra, "procedure": PROCEDURES["repeat"], "undo": True}]}
               for output in OUTPUTS]}
    (work / "job.json").write_text(json.dumps(job))
    with harness.engine_host(work / "run", installed.config_dir), \
            harness.virtual_display() as display:
        completed = harness.run_gimp(work, gimp_env(work), display=display)
    assert "DRIVER-DONE" in completed.stdout, completed.stdout[-4000:]
    return json.loads((work / "out" / "results.json").read_text())


@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("run", [0, 2], ids=["first_run", "refining_run"])
def test_one_ctrl_z_restores_the_image(undo_run, output, run):
    step = undo_run[output]["steps"][run]
    assert step["run"]["status"] == "success", step["run"]["message"]
    assert step["after"]["fingerprint"] != step["before"]["fingerprint"]
    assert step["undone"]["fingerprint"] == step["before"]["fingerprint"]
