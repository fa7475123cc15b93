"""Shared by the tests: `build.py` run as a user runs it, and one installed copy for the editors.

The GIMP and Krita tests run against what `build.py install` put into a temporary HOME (the
plug-ins in their profiles, the engine in its own venv, found through engine.json), not against
the source tree.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Variables that would send build.py's output outside the given HOME.
USER_FOLDER_VARIABLES = ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_RUNTIME_DIR",
                         "SCRIBBLESEG_DATA_DIR", "SCRIBBLESEG_CONFIG_DIR",
                         "SCRIBBLESEG_RUNTIME_DIR")


def build(*args: str, home: Path | None = None) -> subprocess.CompletedProcess:
    """`python3 build.py ARGS`; with `home`, as a user whose HOME that is."""
    environment = dict(os.environ)
    if home is not None:
        for name in USER_FOLDER_VARIABLES:
            environment.pop(name, None)
        environment["HOME"] = str(home)
    return subprocess.run([sys.executable, str(ROOT / "build.py"), *args], env=environment,
                          capture_output=True, text=True, timeout=1200)


@dataclass(frozen=True)
class Installation:
    """Where `build.py install` put everything for a user whose HOME is `home`."""

    home: Path
    gimp_profile: Path  # the folder passed with --gimp --profile
    krita_resources: Path  # ~/.local/share/krita
    config_dir: Path  # ~/.config/scribbleseg, holding engine.json
    engine_python: Path  # the engine venv's python, as engine.json records it


def install(home: Path) -> Installation:
    """Run `build.py install --krita` and `build.py install --gimp --profile` for `home`."""
    gimp_profile = home / "gimp-profile"
    for options in (["--krita"], ["--gimp", "--profile", str(gimp_profile)]):
        result = build("install", *options, home=home)
        if result.returncode != 0:
            raise RuntimeError(f"build.py install {' '.join(options)} failed:\n"
                               f"{result.stdout}{result.stderr}")
    config_dir = home / ".config" / "scribbleseg"
    record = json.loads((config_dir / "engine.json").read_text())
    return Installation(home=home, gimp_profile=gimp_profile,
                        krita_resources=home / ".local" / "share" / "krita",
                        config_dir=config_dir, engine_python=Path(record["python"]))


@pytest.fixture(scope="session")
def subject_prior():
    """The subject model from the project's models/, built first (as a user would) when it is
    missing."""
    from scribbleseg.engine import prior

    if not (ROOT / "models" / prior.MODEL_FILE).is_file():
        result = build("models")
        assert result.returncode == 0, f"python3 build.py models failed:\n{result.stderr}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SCRIBBLESEG_MODELS", str(ROOT / "models"))
        loaded = prior.load_prior()
    assert loaded is not None
    return loaded


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installation:
    """One `build.py install` of both plug-ins and the engine for the whole test session."""
    return install(tmp_path_factory.mktemp("installed-home"))
