"""The plug-in's manifest.json: labels, procedure names, layer names, shortcuts, engine defaults."""

from __future__ import annotations

import json
from pathlib import Path

MANIFEST_NAME = "manifest.json"


def manifest_path() -> Path:
    """manifest.json beside this package (the plug-in folder it was loaded from), else at the
    root of the source tree it lives in (plugin/editor_core/scribbleseg_editor/)."""
    beside = Path(__file__).parent.parent / MANIFEST_NAME
    in_source_tree = Path(__file__).resolve().parents[3] / MANIFEST_NAME
    for path in (beside, in_source_tree):
        if path.is_file():
            return path
    raise FileNotFoundError(f"{MANIFEST_NAME} is missing beside {beside.parent}; reinstall "
                            "the plug-in.")


def load_manifest(path: Path | None = None) -> dict:
    return json.loads((path or manifest_path()).read_text(encoding="utf-8"))
