"""`build.py dev`: a development environment in .venv (engine editable, test tools)."""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import venv
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser, command: str) -> None:
    parser.description = "Create .venv with the engine (editable) and the test tools."
    parser.add_argument("--force", action="store_true", help="reinstall even if up to date")


def run(args: argparse.Namespace, root: Path) -> int:
    env_dir = root / ".venv"
    python = env_dir / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    stamp = env_dir / ".scribbleseg-dev-stamp"
    wanted = hashlib.sha256((root / "pyproject.toml").read_bytes()).hexdigest()
    if not args.force and stamp.is_file() and stamp.read_text() == wanted:
        return 0
    if not python.exists():
        print(f"build.py dev: creating {env_dir}", flush=True)
        venv.create(env_dir, with_pip=True)
    print("build.py dev: installing the engine and test tools (pip)", flush=True)
    command = [str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q",
               "-e", f"{root}[dev]"]
    if subprocess.run(command).returncode != 0:
        print("build.py dev: pip failed; check the network access to PyPI and run again.")
        return 1
    stamp.write_text(wanted)
    return 0
