"""Lay out the GIMP 3 plug-in in a GIMP profile (used by the tests, `build.py install`, `dist`).

GIMP finds a Python plug-in only as plug-ins/NAME/NAME.py, executable, with NAME equal to the
folder's name; anything else is skipped without a word.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

ENTRY_SOURCE = "plugin/gimp/scribbleseg_gimp.py"
MODULE_SOURCES = ("plugin/gimp/gimp_layers.py", "plugin/gimp/gimp_segment.py",
                  "plugin/gimp/gimp_output.py", "plugin/gimp/gimp_add_layers.py")
CORE_PACKAGE = "plugin/scribbleseg_editor"
SHORTCUTS_FILE = "shortcutsrc"


def plugin_name(root: Path) -> str:
    return json.loads((root / "manifest.json").read_text(encoding="utf-8"))["id"]


def install_files(profile_dir: Path, root: Path) -> list[Path]:
    """Copy the plug-in into profile_dir/plug-ins/NAME/ (replacing an older copy); return the
    files written."""
    name = plugin_name(root)
    folder = profile_dir / "plug-ins" / name
    if folder.exists():
        shutil.rmtree(folder)
    (folder / "scribbleseg_editor").mkdir(parents=True)
    copies = {root / ENTRY_SOURCE: folder / f"{name}.py",
              root / "manifest.json": folder / "manifest.json"}
    copies.update({root / source: folder / Path(source).name for source in MODULE_SOURCES})
    copies.update({source: folder / "scribbleseg_editor" / source.name
                   for source in sorted((root / CORE_PACKAGE).glob("*.py"))})
    for source, destination in copies.items():
        shutil.copyfile(source, destination)
        destination.chmod(0o644)
    (folder / f"{name}.py").chmod(0o755)
    return list(copies.values())


def install_shortcuts(profile_dir: Path, root: Path) -> Path:
    """Give the plug-in's actions their default shortcuts (manifest.json) in the profile's
    shortcutsrc, leaving alone any action the user has already bound. GIMP rewrites this file
    when it quits: install while GIMP is closed."""
    manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    path = profile_dir / SHORTCUTS_FILE
    text = path.read_text(encoding="utf-8") if path.is_file() else "(file-version 1)\n"
    bound = set(re.findall(r'^\(action "([^"]+)"', text, flags=re.MULTILINE))
    lines = [f'(action "{action["gimp_procedure"]}" "{gtk_accelerator(action["shortcut"])}")'
             for action in manifest["actions"].values()
             if action["shortcut"] and action["gimp_procedure"] not in bound]
    if lines:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.rstrip("\n") + "\n" + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def gtk_accelerator(shortcut: str) -> str:
    """"Ctrl+Alt+Shift+M" -> "<Primary><Alt><Shift>m" (GTK's notation in shortcutsrc)."""
    *modifiers, key = shortcut.split("+")
    names = {"ctrl": "<Primary>", "alt": "<Alt>", "shift": "<Shift>", "meta": "<Meta>"}
    return "".join(names[modifier.lower()] for modifier in modifiers) + key.lower()
