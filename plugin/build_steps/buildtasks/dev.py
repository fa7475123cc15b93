"""`build.py dev`: a development environment in .venv (engine editable, test tools) and the
model in models/, so the first cut-out uses the engine at its best. Without network the model
step says what it could not fetch and the engine runs weights-free."""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import venv
from pathlib import Path

from buildtasks import models
from buildtasks.layout import load_manifest
from scribbleseg_editor.errors import ScribbleSegError
from scribbleseg_editor.installer import venv_python
from scribbleseg_editor.models import CACHE_FOLDER


def add_arguments(parser: argparse.ArgumentParser, command: str) -> None:
    parser.description = ("Create .venv with the engine (editable) and the test tools, and "
                          "build models/.")
    parser.add_argument("--force", action="store_true", help="reinstall even if up to date")


def run(args: argparse.Namespace, root: Path) -> int:
    if not environment_ready(root, args.force):
        return 1
    try:
        models.build_all(load_manifest(root)["models"], root / "models",
                         root / "models" / CACHE_FOLDER)
    except ScribbleSegError as error:
        models.say(error.message)
        models.say("The engine runs without the subject model until `python3 build.py "
                   "models` can fetch it.")
    return 0


def environment_ready(root: Path, force: bool) -> bool:
    """.venv with the engine and test tools, reinstalled when pyproject.toml changed."""
    env_dir = root / ".venv"
    python = venv_python(env_dir)
    stamp = env_dir / ".scribbleseg-dev-stamp"
    wanted = hashlib.sha256((root / "pyproject.toml").read_bytes()).hexdigest()
    if not force and stamp.is_file() and stamp.read_text() == wanted:
        return True
    if not python.exists():
        print(f"build.py dev: creating {env_dir}", flush=True)
        venv.create(env_dir, with_pip=True)
    print("build.py dev: installing the engine and test tools (pip)", flush=True)
    command = [str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q",
               "-e", f"{root}[dev]"]
    if subprocess.run(command).returncode != 0:
        print("build.py dev: pip failed; check the network access to PyPI and run again.")
        return False
    stamp.write_text(wanted)
    return True
