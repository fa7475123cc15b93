"""Lay out the GIMP 3 plug-in in a GIMP profile (used by the tests, `build.py install`, `dist`).

GIMP finds a Python plug-in only as plug-ins/NAME/NAME.py, executable, with NAME equal to the
folder's name; anything else is skipped without a word. plugin/gimp/NAME/ is that folder as
it is installed: the core and manifest.json inside it are links into the source tree, which a
copy resolves and `--link` keeps.
"""

from __future__ import annotations

import re
from pathlib import Path

from buildtasks.layout import copy_folder, link, load_manifest

PLUGIN_NAME = "scribbleseg_gimp"
SOURCE_FOLDER = Path("plugin") / "gimp" / PLUGIN_NAME
SHORTCUTS_FILE = "shortcutsrc"


def install_files(profile_dir: Path, root: Path, *, linked: bool = False) -> Path:
    """Put the plug-in folder into profile_dir/plug-ins/ (replacing an older one), as a copy or,
    with `linked`, as a link to the source folder; return the installed folder."""
    source = root / SOURCE_FOLDER
    folder = profile_dir / "plug-ins" / PLUGIN_NAME
    if linked:
        link(source, folder)
    else:
        copy_folder(source, folder)
        (folder / f"{PLUGIN_NAME}.py").chmod(0o755)
    return folder


def install_shortcuts(profile_dir: Path, root: Path) -> Path:
    """Give the plug-in's actions their default shortcuts (manifest.json) in the profile's
    shortcutsrc, leaving alone any action the user has already bound. GIMP rewrites this file
    when it quits: install while GIMP is closed."""
    path = profile_dir / SHORTCUTS_FILE
    text = path.read_text(encoding="utf-8") if path.is_file() else "(file-version 1)\n"
    bound = set(re.findall(r'^\(action "([^"]+)"', text, flags=re.MULTILINE))
    lines = [f'(action "{action["gimp_procedure"]}" "{gtk_accelerator(action["shortcut"])}")'
             for action in load_manifest(root)["actions"].values()
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
