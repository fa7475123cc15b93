"""Lay the Krita plug-in out in a Krita resource folder (standard library only).

Krita finds a Python plug-in as <resources>/pykrita/NAME.desktop plus the package folder
<resources>/pykrita/NAME/, and its default shortcuts in <resources>/actions/NAME.action; the
plug-in runs only once kritarc says `enable_NAME=true` under [python]. "Import Python Plugin from
File" expects the same three things at the top of a zip. plugin/krita/ mirrors the resource
folder (pykrita/, actions/); the .desktop and .action files are committed and a test checks them
against manifest.json.
"""

from __future__ import annotations

from pathlib import Path

from buildtasks.layout import copy_folder, link

PLUGIN_NAME = "scribbleseg_krita"
SOURCE_FOLDER = Path("plugin") / "krita"
# Relative to the resource folder (and to SOURCE_FOLDER): what the plug-in consists of.
PARTS = (Path("pykrita") / f"{PLUGIN_NAME}.desktop", Path("pykrita") / PLUGIN_NAME,
         Path("actions") / f"{PLUGIN_NAME}.action")


def install_files(profile_dir: Path, root: Path, *, linked: bool = False) -> list[Path]:
    """Put the plug-in into a Krita resource folder (~/.local/share/krita) as copies or, with
    `linked`, as links to the source tree; return the installed paths."""
    installed = []
    for part in PARTS:
        source, target = root / SOURCE_FOLDER / part, profile_dir / part
        if linked:
            link(source, target)
        else:
            copy_folder(source, target)
        installed.append(target)
    return installed


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
