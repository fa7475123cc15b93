"""The GIMP plug-in's files as GIMP needs them, and the default shortcuts."""

from __future__ import annotations

import json
from pathlib import Path

from buildtasks import gimp_layout

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = json.loads((ROOT / "manifest.json").read_text())


def test_install_lays_out_an_executable_entry_named_like_its_folder(tmp_path):
    folder = gimp_layout.install_files(tmp_path, ROOT)
    assert folder == tmp_path / "plug-ins" / folder.name
    entry = folder / f"{folder.name}.py"
    assert entry.stat().st_mode & 0o777 == 0o755
    assert entry.read_text().startswith("#!/usr/bin/env python3")
    assert json.loads((folder / "manifest.json").read_text()) == MANIFEST
    assert (folder / "scribbleseg_editor" / "host.py").is_file()
    assert not any(path.is_symlink() for path in folder.rglob("*")), "a copy stands alone"
    assert not list(folder.rglob("__pycache__"))


def test_link_install_points_into_the_source_tree(tmp_path):
    folder = gimp_layout.install_files(tmp_path, ROOT, linked=True)
    assert folder.is_symlink()
    assert (folder / f"{folder.name}.py").resolve() == (
        ROOT / "plugin" / "gimp" / folder.name / f"{folder.name}.py")
    assert json.loads((folder / "manifest.json").read_text()) == MANIFEST


def test_shortcuts_are_added_once_and_user_bindings_kept(tmp_path):
    segment = MANIFEST["actions"]["segment"]
    repeat = MANIFEST["actions"]["repeat"]
    (tmp_path / "shortcutsrc").write_text(
        f'(file-version 1)\n(action "{repeat["gimp_procedure"]}" "F5")\n')
    gimp_layout.install_shortcuts(tmp_path, ROOT)
    gimp_layout.install_shortcuts(tmp_path, ROOT)
    text = (tmp_path / "shortcutsrc").read_text()
    accelerator = gimp_layout.gtk_accelerator(segment["shortcut"])
    assert text.count(f'(action "{segment["gimp_procedure"]}" "{accelerator}")') == 1
    assert f'(action "{repeat["gimp_procedure"]}" "F5")' in text
    assert text.count(repeat["gimp_procedure"]) == 1
    assert gimp_layout.gtk_accelerator("Ctrl+Alt+Shift+M") == "<Primary><Alt><Shift>m"
