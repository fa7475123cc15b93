"""What every build step shares: manifest.json, and copying or linking a source folder."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

MANIFEST_NAME = "manifest.json"
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc")


def load_manifest(root: Path) -> dict:
    return json.loads((root / MANIFEST_NAME).read_text(encoding="utf-8"))


def copy_folder(source: Path, target: Path) -> None:
    """Replace `target` with a copy of `source` (a file or a folder), links resolved."""
    remove_path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        shutil.copytree(source, target, ignore=IGNORED)
    else:
        shutil.copyfile(source, target)


def link(source: Path, target: Path) -> None:
    """Replace `target` with a symbolic link to `source` (development installs)."""
    remove_path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(source.resolve(), target, target_is_directory=source.is_dir())


def remove_path(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)
