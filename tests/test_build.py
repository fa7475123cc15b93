"""build.py dist / install / uninstall, run as a user would run them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import ROOT, build, install

from buildtasks import gimp_layout

MANIFEST = json.loads((ROOT / "manifest.json").read_text())
VERSION = MANIFEST["version"]
KRITA_IMPORTER = Path("/usr/share/krita/pykrita/plugin_importer/plugin_importer.py")


def tree(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    result = build("dist", "--out", str(out))
    assert result.returncode == 0, result.stdout + result.stderr
    return out


def test_dist_writes_three_archives(dist: Path) -> None:
    names = sorted(p.name for p in dist.iterdir())
    assert names == [f"scribbleseg-{VERSION}-py3-none-any.whl",
                     f"scribbleseg-gimp-{VERSION}.zip", f"scribbleseg-krita-{VERSION}.zip"]


def test_dist_is_reproducible(dist: Path, tmp_path: Path) -> None:
    result = build("dist", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    for archive in dist.iterdir():
        assert (tmp_path / archive.name).read_bytes() == archive.read_bytes(), archive.name


def test_gimp_archive_unpacks_as_a_plug_in_folder(dist: Path) -> None:
    with zipfile.ZipFile(dist / f"scribbleseg-gimp-{VERSION}.zip") as archive:
        entries = {info.filename: info for info in archive.infolist()}
    name = gimp_layout.PLUGIN_NAME
    entry = entries[f"{name}/{name}.py"]
    assert (entry.external_attr >> 16) & 0o111, "GIMP skips a plug-in that is not executable"
    assert f"{name}/manifest.json" in entries
    assert f"{name}/scribbleseg_editor/host.py" in entries
    assert f"{name}/scribbleseg_editor/installer.py" in entries
    assert not any("scribbleseg/engine" in n or n.endswith(".pyc") for n in entries)


@pytest.mark.parametrize("editor", ["gimp", "krita"])
def test_each_archive_carries_the_engine_it_installs(dist: Path, editor: str) -> None:
    """A zip is complete on its own: the plug-in installs the engine from what it carries."""
    wheel = dist / f"scribbleseg-{VERSION}-py3-none-any.whl"
    constraints = ROOT / "plugin" / "build_steps" / "buildtasks" / "engine-constraints.txt"
    bundle = f"scribbleseg_{editor}/wheels/"
    with zipfile.ZipFile(dist / f"scribbleseg-{editor}-{VERSION}.zip") as archive:
        assert archive.read(bundle + wheel.name) == wheel.read_bytes()
        assert archive.read(bundle + "engine-constraints.txt") == constraints.read_bytes()
        names = archive.namelist()
    built = {entry["file"] for entry in MANIFEST["models"]}
    kept = {path.name for path in (ROOT / "models").glob("*.onnx")} - built
    assert {name.rsplit("/", 1)[-1] for name in names
            if name.startswith(bundle + "models/") and not name.endswith("/")} == kept, \
        "the models kept in git ship"
    assert not any(name.rsplit("/", 1)[-1] in built for name in names), "fetched, not shipped"


@pytest.mark.skipif(not KRITA_IMPORTER.is_file(), reason="Krita's importer is not installed")
def test_krita_archive_goes_through_kritas_own_importer(dist: Path, tmp_path: Path) -> None:
    archive = dist / f"scribbleseg-krita-{VERSION}.zip"
    result = subprocess.run([sys.executable, str(KRITA_IMPORTER), str(archive), str(tmp_path)],
                            capture_output=True, text=True, timeout=60)
    assert f"Imported plugin: {MANIFEST['name']}" in result.stdout, result.stdout + result.stderr
    assert (tmp_path / "pykrita" / "scribbleseg_krita" / "__init__.py").is_file()
    assert list((tmp_path / "pykrita" / "scribbleseg_krita" / "wheels").glob("*.whl"))
    action = (tmp_path / "actions" / "scribbleseg_krita.action").read_text()
    assert MANIFEST["actions"]["segment"]["shortcut"].lower() in action


def test_install_then_uninstall_leaves_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    before = tree(home)
    installation = install(home)

    engine = subprocess.run([installation.engine_python, "-c", "import scribbleseg, maxflow, "
                             "onnxruntime; print(scribbleseg.__file__)"],
                            capture_output=True, text=True)
    assert engine.returncode == 0, engine.stderr
    assert str(home) in engine.stdout, "the engine runs from its own environment"
    name = gimp_layout.PLUGIN_NAME
    gimp_profile = installation.gimp_profile
    assert os.access(gimp_profile / "plug-ins" / name / f"{name}.py", os.X_OK)
    assert "plug-in-scribbleseg-segment" in (gimp_profile / "shortcutsrc").read_text()
    assert "enable_scribbleseg_krita=true" in (home / ".config" / "kritarc").read_text()
    assert (home / ".local" / "share" / "krita" / "pykrita" / "scribbleseg_krita.desktop").is_file()

    again = build("install", "--krita", home=home)
    assert again.returncode == 0, "running install again upgrades in place"

    result = build("uninstall", home=home)
    assert result.returncode == 0, result.stdout + result.stderr
    caches = (".rustup", ".cache")  # pip's download cache and the toolchain's, not ours
    left = {p for p in tree(home) - before if not p.startswith(caches)}
    assert left == set(), f"uninstall left {sorted(left)}"


def test_profile_needs_one_editor(tmp_path: Path) -> None:
    result = build("install", "--gimp", "--krita", "--profile", str(tmp_path), home=tmp_path)
    assert result.returncode == 1
    assert "exactly one of --gimp / --krita" in result.stdout


def test_engine_version_is_the_manifests() -> None:
    # pyproject.toml cannot read manifest.json, so this keeps the one copy of the version honest.
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["version"] == VERSION
