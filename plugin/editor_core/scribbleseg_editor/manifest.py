"""The plug-in's manifest.json: labels, procedure names, layer names, shortcuts, engine defaults."""

from __future__ import annotations

import json
import re
from pathlib import Path

from .errors import ScribbleSegError

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


def check_editor_version(manifest: dict, editor: str, version: str) -> None:
    """Refuse politely (UnsupportedEditor) on an editor version outside manifest.json's
    editors[editor] min_version..max_version, compared as major.minor."""
    supported = manifest["editors"][editor]
    lowest, highest = (_major_minor(supported[key]) for key in ("min_version", "max_version"))
    if lowest <= _major_minor(version) <= highest:
        return
    label = {"gimp": "GIMP", "krita": "Krita"}[editor]
    raise ScribbleSegError(
        "UnsupportedEditor",
        f"{manifest['name']} {manifest['version']} works with {label} "
        f"{supported['min_version']} to {supported['max_version']}; this is {label} {version}. "
        f"Install a {manifest['name']} release made for this {label}.",
    )


def _major_minor(version: str) -> tuple[int, int]:
    """"5.2.9-beta1" -> (5, 2); a part that is not a number counts as 0."""
    parts = (re.match(r"\d*", part).group() for part in version.split(".")[:2])
    major, minor = ([int(part or 0) for part in parts] + [0, 0])[:2]
    return major, minor
