"""The plug-in's manifest.json: labels, procedure names, layer names, shortcuts, engine defaults."""

from __future__ import annotations

import json
from pathlib import Path

MANIFEST_NAME = "manifest.json"


def manifest_path() -> Path:
    """manifest.json beside this package (installed plug-in), else at the repository root."""
    package_parent = Path(__file__).resolve().parent.parent
    for folder in (package_parent, package_parent.parent):
        if (folder / MANIFEST_NAME).is_file():
            return folder / MANIFEST_NAME
    raise FileNotFoundError(f"{MANIFEST_NAME} is missing beside {package_parent}; reinstall "
                            "the plug-in.")


def load_manifest(path: Path | None = None) -> dict:
    return json.loads((path or manifest_path()).read_text(encoding="utf-8"))
