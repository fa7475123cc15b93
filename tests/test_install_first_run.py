"""What the plug-ins say before a first local run (scribbleseg_editor.first_run): the offer
lists what will be installed, where and how big; the status names the state and the place; a
plug-in without the engine bundle says where to get one. No pip here (test_install_engine)."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from buildtasks.dist import CONSTRAINTS
from scribbleseg_editor import first_run, installer
from scribbleseg_editor.errors import ScribbleSegError

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = json.loads((ROOT / "manifest.json").read_text())


@pytest.fixture(autouse=True)
def user_folders(tmp_path, monkeypatch):
    monkeypatch.setenv("SCRIBBLESEG_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SCRIBBLESEG_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("SCRIBBLESEG_RUNTIME_DIR", str(tmp_path / "run"))
    monkeypatch.delenv("SCRIBBLESEG_PYTHON", raising=False)


@pytest.fixture()
def plugin_folder(tmp_path, monkeypatch) -> Path:
    """A plug-in folder as the dist zips lay it out: wheels/ holds the wheel and constraints."""
    folder = tmp_path / "plugin"
    (folder / installer.BUNDLE_FOLDER).mkdir(parents=True)
    (folder / installer.BUNDLE_FOLDER / "scribbleseg-0.1.0-py3-none-any.whl").write_bytes(b"")
    shutil.copy(CONSTRAINTS, folder / installer.BUNDLE_FOLDER)
    monkeypatch.setattr(first_run, "PLUGIN_FOLDER", folder)
    return folder


def test_the_offer_says_what_where_and_how_big(plugin_folder):
    text = first_run.offer(MANIFEST, installer.check(MANIFEST["models"]))

    assert text.startswith("The ScribbleSeg engine is not installed. Install it now?")
    pinned = len(installer.bundled(plugin_folder, MANIFEST).pinned())
    assert "The engine, ScribbleSeg 0.1.0, in its own Python environment made with " in text
    assert f"with {pinned} pinned packages from PyPI (" in text
    assert all(name in text for name in ("numpy", "scipy", "onnxruntime", "PyMaxflow"))
    assert f"about {installer.PYPI_DOWNLOAD_MB} MB to download" in text
    assert "isnet-medium.onnx (88 MB, AGPL-3.0)" in text
    assert "npm package @imgly/background-removal-data@1.4.5: 136 MB to download" in text
    assert f"Where: {installer.engine_dir().parent}" in text


def test_a_damaged_install_is_offered_a_repair(plugin_folder, tmp_path):
    installer.write_record({"python": str(tmp_path / "gone" / "bin" / "python"), "models": ""})
    problems = first_run.engine_problems(MANIFEST)
    assert problems == [f"The engine environment in {tmp_path / 'gone'} does not start."]
    assert "Repair it now?" in first_run.offer(MANIFEST, problems)


def test_a_plug_in_without_the_bundle_points_at_the_zip_and_build_py():
    with pytest.raises(ScribbleSegError) as refused:
        first_run.plugin_bundle(MANIFEST)  # the source tree's plug-in folder carries no wheels/
    assert refused.value.code == "EngineNotInstalled"
    assert "from its zip" in refused.value.message
    assert "python3 build.py install" in refused.value.message


def test_status_names_the_state_and_the_place():
    assert first_run.status(MANIFEST) == [
        "Engine: not installed. It is installed the first time you segment."]
    installer.write_record({"python": sys.executable, "models": "", "version": "0.1.0"})
    lines = first_run.status(MANIFEST)
    assert lines[1] == f"Where: {Path(sys.executable).parent.parent}"
    assert lines[2].startswith("Model: isnet-medium.onnx missing, the engine runs without it")


def test_a_named_interpreter_needs_no_install(monkeypatch):
    monkeypatch.setenv("SCRIBBLESEG_PYTHON", sys.executable)
    assert first_run.engine_problems(MANIFEST) == []
