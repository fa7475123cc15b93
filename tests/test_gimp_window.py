"""The installed plug-in in a real GIMP window: the shortcut `build.py install` set runs it, the
Select menu lists the dialog entry above Segment with Last Values, and one Ctrl+Z after a run
restores the image exactly.

GIMP's PDB has neither undo nor shortcuts, so full GIMP runs on a virtual display and the
harness presses the keys (xdotool) when the driver asks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gimp import harness, scenarios
from test_gimp_plugin import MANIFEST, PROCEDURES, gimp_env, prepare_work

OUTPUTS = ("layer_mask", "new_layer", "selection")


def skip_reason() -> str | None:
    if not scenarios.GRABCUT.is_dir():
        return f"benchmark data missing: {scenarios.GRABCUT}"
    return harness.unavailable_reason(display=True)


pytestmark = pytest.mark.skipif(skip_reason() is not None, reason=str(skip_reason()))


def press(action: dict) -> list[str]:
    """xdotool pressing an action's shortcut from manifest.json ("Ctrl+Alt+Shift+R")."""
    return ["key", "--clearmodifiers", action["shortcut"].lower()]


def choose_from_select_menu(places_from_the_end: int) -> list[list[str]]:
    """xdotool opening GIMP's Select menu (Alt+S) and choosing the entry that many places from its
    end (the plug-in's entries come last): Up from the first entry wraps to the last."""
    return [["key", "--clearmodifiers", "alt+s"], ["sleep", "1"],
            ["key", *["Up"] * places_from_the_end, "Return"]]


def confirm_dialog(title: str) -> list[str]:
    """xdotool waiting for a dialog, focusing it and pressing Return (OK)."""
    return ["search", "--sync", "--onlyvisible", "--name", title, "windowfocus", "--sync",
            "key", "Return"]


@pytest.fixture(scope="module")
def window_run(tmp_path_factory, installed):
    work = tmp_path_factory.mktemp("gimp-window")
    prepare_work(work, installed)
    planes, extra = scenarios.paint_job(work)
    segment = MANIFEST["actions"]["segment"]
    job = {"out": str(work / "out"), "procedures": PROCEDURES, "gui": True,
           "layer_names": MANIFEST["layers"], "scenarios": [
               {"name": "shortcut", "image": str(work / "photo.png"), "save": False, "steps": [
                   {"planes": planes, "keys": [press(segment), confirm_dialog(segment["label"])]},
                   {"strokes": extra, "keys": [press(MANIFEST["actions"]["repeat"])]}]},
               {"name": "menu", "image": str(work / "photo.png"), "save": False, "steps": [
                   {"planes": planes, "keys": [*choose_from_select_menu(2),
                                               confirm_dialog(segment["label"])]},
                   {"strokes": extra, "keys": choose_from_select_menu(1)}]},
               *({"name": output, "image": str(work / "photo.png"), "save": False, "steps": [
                   {"planes": planes, "procedure": PROCEDURES["segment"],
                    "args": {"output": output}},
                   {"strokes": extra, "procedure": PROCEDURES["repeat"], "undo": True}]}
                 for output in OUTPUTS)]}
    (work / "job.json").write_text(json.dumps(job))
    with harness.engine_host(work / "run", installed.config_dir), \
            harness.virtual_display() as display:
        completed = harness.run_gimp(work, gimp_env(work), display=display)
    assert "DRIVER-DONE" in completed.stdout, completed.stdout[-4000:]
    return {**json.loads((Path(work) / "out" / "results.json").read_text()),
            "log": completed.stdout}


def test_shortcuts_open_the_dialog_and_segment_with_last_values(window_run):
    """Ctrl+Alt+Shift+M opens the dialog (OK with its defaults gives a layer mask); after more
    strokes Ctrl+Alt+Shift+R segments again without a dialog and changes the mask."""
    first, second = window_run["shortcut"]["steps"]
    assert "layer_mask" in first["after"], "the segment shortcut and dialog gave no layer mask"
    assert second["after"]["fingerprint"] != second["before"]["fingerprint"]
    layers_before = second["before"]["fingerprint"]["layers"]
    assert second["after"]["fingerprint"]["layers"][:2] == layers_before[:2]  # strokes kept


def test_the_select_menu_lists_the_dialog_entry_then_segment_with_last_values(window_run):
    """The second-last Select entry opens the dialog (its OK gives a layer mask); the last one,
    after more strokes, segments again without a dialog."""
    first, second = window_run["menu"]["steps"]
    assert "layer_mask" in first["after"], "the second-last Select entry gave no layer mask"
    assert second["after"]["fingerprint"] != second["before"]["fingerprint"], \
        "the last Select entry did not segment again"


@pytest.mark.parametrize("output", OUTPUTS)
def test_one_undo_restores_the_image_after_a_refining_run(window_run, output):
    first, second = window_run[output]["steps"]
    assert first["run"]["status"] == "success", first["run"]["message"]
    assert second["run"]["status"] == "success", second["run"]["message"]
    assert second["after"]["fingerprint"] != second["before"]["fingerprint"]
    assert second["undone"]["fingerprint"] == second["before"]["fingerprint"]


def test_each_alt_letter_of_the_dialog_reaches_one_control(window_run):
    """No option label shares its underlined letter with a dialog button (GIMP logs a clash)."""
    assert "duplicate mnemonic" not in window_run["log"]
