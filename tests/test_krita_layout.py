"""The Krita plug-in's files land where Krita looks for them, and kritarc enables it."""

import json
import xml.etree.ElementTree as ElementTree
from pathlib import Path

from buildtasks import krita_layout

ROOT = Path(__file__).resolve().parents[1]

MANIFEST = json.loads((ROOT / "manifest.json").read_text())


def test_install_puts_package_core_manifest_desktop_and_action_file(tmp_path):
    krita_layout.install_files(tmp_path, ROOT)
    package = tmp_path / "pykrita" / "scribbleseg_krita"
    assert (package / "__init__.py").is_file()
    assert (package / "scribbleseg_editor" / "host.py").is_file()
    assert json.loads((package / "manifest.json").read_text()) == MANIFEST
    assert not list(package.rglob("__pycache__"))
    desktop = (tmp_path / "pykrita" / "scribbleseg_krita.desktop").read_text().splitlines()
    assert "X-KDE-Library=scribbleseg_krita" in desktop
    assert "ServiceTypes=Krita/PythonPlugin" in desktop
    assert f"Name={MANIFEST['name']}" in desktop
    assert f"Comment={MANIFEST['description']}" in desktop
    assert (tmp_path / "actions" / "scribbleseg_krita.action").is_file()


def test_link_install_points_into_the_source_tree(tmp_path):
    paths = krita_layout.install_files(tmp_path, ROOT, linked=True)
    assert all(path.is_symlink() for path in paths)
    package = tmp_path / "pykrita" / "scribbleseg_krita"
    assert (package / "scribbleseg_editor" / "host.py").is_file()
    assert json.loads((package / "manifest.json").read_text()) == MANIFEST


def test_committed_action_file_carries_each_actions_label_and_default_shortcut():
    tree = ElementTree.parse(ROOT / "plugin" / "krita" / "actions" / "scribbleseg_krita.action")
    actions = {action.get("name"): action for action in tree.iter("Action")}
    for spec in MANIFEST["actions"].values():
        action = actions[spec["krita_action"]]
        assert action.findtext("text") == spec["label"]
        assert action.findtext("shortcut") == spec["shortcut"].lower()


def test_kritarc_gains_the_enable_key_and_keeps_everything_else(tmp_path):
    kritarc = tmp_path / "kritarc"
    kritarc.write_text("canvasState=OPENGL_SUCCESS\n\n[python]\nenable_other=true\n\n"
                       "[MainWindow]\nState=abc\n")
    krita_layout.enable_in_kritarc(kritarc)
    krita_layout.enable_in_kritarc(kritarc)  # idempotent
    lines = kritarc.read_text().splitlines()
    assert lines[0] == "canvasState=OPENGL_SUCCESS"
    assert lines.count("enable_scribbleseg_krita=true") == 1
    python = lines.index("[python]")
    assert lines.index("enable_scribbleseg_krita=true") == python + 1
    assert "enable_other=true" in lines and "State=abc" in lines


def test_kritarc_is_created_when_krita_never_ran(tmp_path):
    kritarc = tmp_path / "config" / "kritarc"
    krita_layout.enable_in_kritarc(kritarc)
    assert kritarc.read_text().splitlines()[-2:] == ["[python]", "enable_scribbleseg_krita=true"]
