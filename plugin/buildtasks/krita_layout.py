"""Lay the Krita plug-in out in a Krita resource folder (standard library only).

Krita finds a Python plug-in as <resources>/pykrita/NAME.desktop plus the package folder
<resources>/pykrita/NAME/, and its default shortcuts in <resources>/actions/NAME.action; the
plug-in runs only once kritarc says `enable_NAME=true` under [python]. "Import Python Plugin from
File" expects the same three things at the top of a zip. The .desktop and .action files are
written from manifest.json so labels, action ids and shortcuts live in one place.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from xml.sax.saxutils import escape

PLUGIN_NAME = "scribbleseg_krita"


def install_files(profile_dir: Path, root: Path) -> list[Path]:
    """Copy the plug-in into a Krita resource folder (~/.local/share/krita); return its paths."""
    manifest = json.loads((root / "manifest.json").read_text())
    pykrita = profile_dir / "pykrita"
    package = pykrita / PLUGIN_NAME
    if package.exists():
        shutil.rmtree(package)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(root / "plugin" / "krita" / PLUGIN_NAME, package, ignore=ignore)
    shutil.copytree(root / "plugin" / "scribbleseg_editor", package / "scribbleseg_editor",
                    ignore=ignore)
    shutil.copy2(root / "manifest.json", package / "manifest.json")
    desktop = pykrita / f"{PLUGIN_NAME}.desktop"
    desktop.write_text(desktop_entry(manifest))
    action_file = profile_dir / "actions" / f"{PLUGIN_NAME}.action"
    action_file.parent.mkdir(parents=True, exist_ok=True)
    action_file.write_text(action_collection(manifest))
    return [desktop, package, action_file]


def desktop_entry(manifest: dict) -> str:
    return "\n".join([
        "[Desktop Entry]",
        "Type=Service",
        "ServiceTypes=Krita/PythonPlugin",
        f"X-KDE-Library={PLUGIN_NAME}",
        "X-Python-2-Compatible=false",
        f"Name={manifest['name']}",
        f"Comment={manifest['description']}",
        "",
    ])


def action_collection(manifest: dict) -> str:
    """The .action XML: Krita reads each action's text and default shortcut from it."""
    actions = []
    for action in manifest["actions"].values():
        actions.append(
            f'    <Action name="{escape(action["krita_action"])}">\n'
            f"      <icon></icon>\n"
            f"      <text>{escape(action['label'])}</text>\n"
            f"      <activationFlags>0</activationFlags>\n"
            f"      <activationConditions>0</activationConditions>\n"
            f"      <shortcut>{escape(action['shortcut'].lower())}</shortcut>\n"
            f"      <isCheckable>false</isCheckable>\n"
            f"    </Action>\n")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<ActionCollection version="2" name="Scripts">\n'
            '  <Actions category="Scripts">\n'
            f"    <text>{escape(manifest['name'])}</text>\n"
            + "".join(actions)
            + "  </Actions>\n</ActionCollection>\n")


def enable_in_kritarc(kritarc: Path, name: str = PLUGIN_NAME) -> None:
    """Set `enable_NAME=true` under [python], line by line (kritarc has keys before any section,
    which configparser rejects)."""
    lines = kritarc.read_text().splitlines() if kritarc.exists() else []
    key = f"enable_{name}="
    lines = [line for line in lines if not line.startswith(key)]
    if "[python]" not in lines:
        lines += ["", "[python]"]
    lines.insert(lines.index("[python]") + 1, f"{key}true")
    kritarc.parent.mkdir(parents=True, exist_ok=True)
    kritarc.write_text("\n".join(lines) + "\n")
