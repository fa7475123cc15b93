"""Install, check, repair and remove the engine that the plug-ins start (standard library only).

One installer: `build.py install` and a plug-in's first run both call `install()`.

    DATA/engine/        a venv made by a Python 3.11+ found on this machine, holding the engine
                        wheel and its pinned dependencies from PyPI
    DATA/models/        the model files of manifest.json (models.py builds them)
    DATA/downloads/     a download in progress (resumed next time), emptied after an install
    CONFIG/engine.json  the record the plug-ins start the engine from (host.engine_launch):
                        {"python", "models", "version", "bundle_sha256"}
The record is written last, so an install that stopped half way is never taken for a working
one. `check()` tests what the record promises (the interpreter runs and imports the engine;
each model's size and SHA-256) and names what is broken; `install()` again repairs it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from . import hostfile, models, pip_bootstrap
from .errors import ScribbleSegError

RECORD_NAME = "engine.json"  # in the config folder: what host.engine_launch starts
MIN_PYTHON = (3, 11)
PYTHON_NAMES = ("python3.13", "python3.12", "python3.11", "python3", "python")
# What the engine host needs at start; a damaged environment fails here (about 1 s).
# onnx too: without it the engine on a CPU would run without its subject model (float32.py).
IMPORT_CHECK = "import scribbleseg.server, maxflow, onnxruntime, onnx"
BUNDLE_FOLDER = "wheels"  # in a plug-in folder of the dist zips: the wheel and the constraints
CONSTRAINTS_NAME = "engine-constraints.txt"
KEPT_MODELS = "models"  # in BUNDLE_FOLDER: the model files kept in git (built ones are fetched)
# Measured on Linux x86-64, Python 3.11, 2026-12-04: pip's downloads for an empty cache (98 MB)
# and du of the environment (399 MB); the plug-ins' offer quotes them.
PYPI_DOWNLOAD_MB = 100
ENVIRONMENT_DISK_MB = 400
# Share of the progress bar: environment, pip, models.
STEP_SHARES = (0.05, 0.55, 0.40)

# report(what is happening, fraction of the whole install done or None)
Report = Callable[[str, "float | None"], None]


@dataclass(frozen=True)
class Bundle:
    """What gets installed: the engine wheel, its pinned dependencies and the models to build
    (manifest.json's list); `local_models` is a folder that may already hold verified copies
    (a source checkout's models/)."""

    wheel: Path
    constraints: Path
    models: list[dict]
    local_models: Path | None = None

    @property
    def version(self) -> str:
        return self.wheel.name.split("-")[1]

    def fingerprint(self) -> str:
        """SHA-256 of the wheel and the constraints: what the environment was installed from."""
        digest = hashlib.sha256(self.wheel.read_bytes())
        digest.update(self.constraints.read_bytes())
        return digest.hexdigest()

    def pinned(self) -> list[str]:
        lines = self.constraints.read_text(encoding="utf-8").splitlines()
        return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


@dataclass(frozen=True)
class Outcome:
    """A finished install: the record written, and what it could not do (e.g. no network for
    the model: the engine then runs weights-free)."""

    record: dict
    warnings: list[str]


def bundled(plugin_folder: Path, manifest: dict) -> Bundle | None:
    """The bundle a plug-in folder from the dist zips carries in wheels/ (and the models kept
    in git, in wheels/models/), or None."""
    folder = plugin_folder / BUNDLE_FOLDER
    wheels = sorted(folder.glob("scribbleseg-*.whl"))
    if not wheels or not (folder / CONSTRAINTS_NAME).is_file():
        return None
    kept = folder / KEPT_MODELS
    return Bundle(wheels[-1], folder / CONSTRAINTS_NAME, manifest["models"],
                  local_models=kept if kept.is_dir() else None)


# ---- where things are ----

def engine_dir() -> Path:
    return hostfile.data_dir() / "engine"


def models_dir() -> Path:
    return hostfile.data_dir() / "models"


def downloads_dir() -> Path:
    return hostfile.data_dir() / "downloads"


def record_path() -> Path:
    return hostfile.config_dir() / RECORD_NAME


def venv_python(environment: Path) -> Path:
    return environment / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")


def read_record() -> dict | None:
    try:
        record = json.loads(record_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and "python" in record else None


# ---- check ----

def check(model_entries: list[dict]) -> list[str]:
    """What is wrong with the installed engine, in words; [] when it is ready to start."""
    record = read_record()
    if record is None:
        return ["The ScribbleSeg engine is not installed."]
    problems = []
    python = Path(record["python"])
    if not runs(python, IMPORT_CHECK):
        problems.append(f"The engine environment in {python.parent.parent} does not start.")
    if record.get("models"):
        problems += [f"The model {entry['file']} is damaged or missing."
                     for entry in model_entries
                     if not models.is_verified(Path(record["models"]) / entry["file"], entry)]
    return problems


def runs(python: Path, code: str) -> bool:
    try:
        return subprocess.run([str(python), "-c", code], env=clean_environment(),
                              capture_output=True, timeout=120).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def clean_environment() -> dict[str, str]:
    """The editor's environment without what points a child Python at the editor's own
    libraries (Krita's and GIMP's bundles set these)."""
    return {key: value for key, value in os.environ.items()
            if key not in ("PYTHONHOME", "PYTHONPATH", "PYTHONSTARTUP")}


# ---- install ----

def install(bundle: Bundle, report: Report, cancel: threading.Event | None = None) -> Outcome:
    """Create or repair the engine environment, build the models, write the record."""
    cancel = cancel or threading.Event()
    environment = engine_dir()
    current, broken = recorded_environment(bundle)
    if not current:
        make_environment(find_python(), environment, report, afresh=broken)
        pip_install(venv_python(environment), bundle, report, cancel)
    start = sum(STEP_SHARES[:2])
    warnings = []
    try:
        built = install_models(bundle, lambda text, fraction: report(
            text, None if fraction is None else start + STEP_SHARES[2] * fraction), cancel)
    except ScribbleSegError as error:
        if error.code == "EngineInstallCancelled":
            raise
        built = None
        warnings.append(f"{error.message} The engine runs without the subject model until "
                        "it is installed (update the engine to try again).")
    record = {"python": str(venv_python(environment)), "models": str(built or ""),
              "version": bundle.version, "bundle_sha256": bundle.fingerprint()}
    write_record(record)
    shutil.rmtree(downloads_dir(), ignore_errors=True)
    report("The engine is installed.", 1.0)
    return Outcome(record, warnings)


def find_python() -> Path:
    """A Python 3.11+ on this machine that can make a venv (not the editor's own, which may
    not be one); ScribbleSegError says what to install when there is none."""
    candidates = [shutil.which(name) for name in PYTHON_NAMES]
    if sys.platform == "win32":
        launcher = shutil.which("py")
        candidates.insert(0, launcher and launcher_target(launcher))
    probe = f"import sys, venv; sys.exit(sys.version_info < {MIN_PYTHON!r})"
    for candidate in dict.fromkeys(filter(None, candidates)):
        if runs(Path(candidate), probe):
            return Path(candidate)
    raise ScribbleSegError("EngineInstallFailed", no_python_advice())


def launcher_target(launcher: str) -> str | None:
    """The newest Python that Windows' py launcher knows."""
    try:
        found = subprocess.run([launcher, "-3", "-c", "import sys; print(sys.executable)"],
                               capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return found.stdout.strip() or None


def no_python_advice() -> str:
    wanted = "Python {}.{} or newer".format(*MIN_PYTHON)
    if sys.platform == "win32":
        how = ("Install it from python.org (tick \"Add python.exe to PATH\"), then try again.")
    elif sys.platform == "darwin":
        how = "Install it from python.org (or `brew install python`), then try again."
    else:
        how = ("Install it with its venv module (Debian, Ubuntu: `sudo apt install python3 "
               "python3-venv`; Fedora: `sudo dnf install python3`), then try again.")
    return f"ScribbleSeg sets up its engine with {wanted}, and none was found. {how}"


def recorded_environment(bundle: Bundle) -> tuple[bool, bool]:
    """(current, broken) of the environment the record names, from one import check: current
    when it works and holds exactly this bundle (nothing to do); broken when it no longer
    starts the engine (pip cannot mend a package whose files are gone but whose metadata is
    there: such a one is made afresh)."""
    record = read_record()
    if record is None:
        return False, False
    works = runs(Path(record["python"]), IMPORT_CHECK)
    return works and record.get("bundle_sha256") == bundle.fingerprint(), not works


def make_environment(python: Path, environment: Path, report: Report, *,
                     afresh: bool = False) -> None:
    """A venv with pip at `environment`, made anew when `afresh` or when it has no pip."""
    if not afresh and runs(venv_python(environment), "import pip"):
        return
    report(f"Creating the engine environment in {environment}", 0.0)
    shutil.rmtree(environment, ignore_errors=True)
    environment.parent.mkdir(parents=True, exist_ok=True)
    with_pip = runs(python, "import ensurepip")
    made = subprocess.run([str(python), "-m", "venv", *([] if with_pip else ["--without-pip"]),
                           str(environment)], env=clean_environment(), capture_output=True,
                          text=True)
    if made.returncode != 0:
        raise ScribbleSegError("EngineInstallFailed", f"{python} could not create the engine "
                               f"environment in {environment}: {made.stderr.strip()[-300:]}")
    if not with_pip:
        report("Fetching pip for the engine environment", 0.02)
        pip_bootstrap.install_pip(venv_python(environment), downloads_dir(), clean_environment())


def pip_install(python: Path, bundle: Bundle, report: Report, cancel: threading.Event) -> None:
    """The wheel with its pinned dependencies, then the wheel itself again (a rebuilt wheel of
    the same version replaces the installed one)."""
    pip = [str(python), "-m", "pip", "install", "--disable-pip-version-check",
           "--progress-bar", "off"]
    total = len(bundle.pinned()) + 1
    start, share = STEP_SHARES[0], STEP_SHARES[1]
    seen: set[str] = set()

    def line(text: str) -> None:
        for prefix in ("Collecting ", "Requirement already satisfied: "):
            if text.startswith(prefix):
                seen.add(re.split(r"[=<>\[ ]", text.removeprefix(prefix))[0].lower())
        if text.startswith(("Collecting", "Downloading", "Installing", "Requirement")):
            report(f"pip: {text}", start + share * min(len(seen), total) / total)

    run_pip([*pip, "-c", str(bundle.constraints), str(bundle.wheel)], line, cancel)
    run_pip([*pip, "--no-deps", "--force-reinstall", str(bundle.wheel)], line, cancel)


def run_pip(command: list[str], on_line: Callable[[str], None], cancel: threading.Event) -> None:
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, env=clean_environment(), text=True)
    stop_on_cancel(process, cancel)
    tail: list[str] = []
    for text in process.stdout:
        tail = (tail + [text.rstrip()])[-8:]
        on_line(text.strip())
    process.wait()
    if cancel.is_set():
        raise ScribbleSegError("EngineInstallCancelled", "Cancelled; the engine is not "
                               "installed yet. The next run offers to finish it.")
    if process.returncode != 0:
        raise ScribbleSegError("EngineInstallFailed", "pip could not install the engine's "
                               "packages from PyPI (is the network up? a mirror can be set with "
                               "PIP_INDEX_URL). pip said: " + " / ".join(tail[-3:]))


def stop_on_cancel(process: subprocess.Popen, cancel: threading.Event) -> None:
    def watch() -> None:
        while process.poll() is None:
            if cancel.wait(0.2):
                process.terminate()
                return

    threading.Thread(target=watch, daemon=True).start()


def install_models(bundle: Bundle, report: Report, cancel: threading.Event) -> Path | None:
    """Each model verified in DATA/models: copied from bundle.local_models when a verified copy
    is there, else built from its registry package; first the models a checkout keeps in git.
    None when the manifest lists none."""
    if not bundle.models:
        return None
    target = models_dir()
    if bundle.local_models:
        copy_kept_models(bundle.local_models, target, {entry["file"] for entry in bundle.models},
                         report)
    for entry in bundle.models:
        file = target / entry["file"]
        if models.is_verified(file, entry):
            continue
        local = bundle.local_models and bundle.local_models / entry["file"]
        if local and models.is_verified(local, entry):
            report(f"Copying {entry['file']}", None)
            target.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(local, file)
        else:
            models.build_model(entry, target, downloads_dir(), report, cancel)
    return target


def copy_kept_models(folder: Path, target: Path, built: set[str], report: Report) -> None:
    """The .onnx files of a checkout's models/ that the manifest does not build: the models kept
    in git (the scribble model, models/scribble-model.md), copied as they are."""
    for local in sorted(folder.glob("*.onnx")):
        if local.name not in built:
            report(f"Copying {local.name}", None)
            target.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(local, target / local.name)


def write_record(record: dict) -> None:
    hostfile.write_json(record_path(), record)


# ---- remove ----

def remove() -> list[Path]:
    """Remove the engine environment, the models, the downloads and the record; return what
    was removed. A running engine host exits when its runtime file goes."""
    hostfile.runtime_file().unlink(missing_ok=True)
    removed = []
    for path in (record_path(), engine_dir(), models_dir(), downloads_dir()):
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
        else:
            continue
        removed.append(path)
    return removed
