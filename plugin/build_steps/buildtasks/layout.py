"""What every build step shares: manifest.json, and copying or linking a source folder."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from scribbleseg_editor import manifest

IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc")


def load_manifest(root: Path) -> dict:
    """The source tree's manifest.json."""
    return manifest.load_manifest(root / manifest.MANIFEST_NAME)


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
