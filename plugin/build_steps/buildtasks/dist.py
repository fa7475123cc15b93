"""`build.py dist`: the archives a user downloads, byte-identical for the same inputs.

    dist/scribbleseg-gimp-VERSION.zip   unzip into GIMP's plug-ins folder
    dist/scribbleseg-krita-VERSION.zip  Krita: Tools > Scripts > Import Python Plugin from File
    dist/scribbleseg-VERSION-py3-none-any.whl  the engine

Each zip is complete on its own: the plug-in folder carries wheels/ with the engine wheel and
engine-constraints.txt, from which the plug-in installs its engine on first use
(scribbleseg_editor.installer).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from buildtasks import gimp_layout, krita_layout
from buildtasks.layout import load_manifest
from scribbleseg_editor import installer

CONSTRAINTS = Path(__file__).with_name(installer.CONSTRAINTS_NAME)

# Fixed metadata for every archive entry, so archives depend on file contents alone.
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
SOURCE_DATE_EPOCH = "315532800"  # 1980-01-01, the earliest date a zip can hold


def add_arguments(parser: argparse.ArgumentParser, command: str) -> None:
    parser.description = "Write the GIMP and Krita plug-in archives and the engine wheel to dist/."
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: dist/)")


def run(args: argparse.Namespace, root: Path) -> int:
    out = args.out or root / "dist"
    out.mkdir(parents=True, exist_ok=True)
    version = load_manifest(root)["version"]
    wheel = engine_wheel(root, out)
    for archive in (gimp_archive(root, out, version, wheel),
                    krita_archive(root, out, version, wheel), wheel):
        print(f"build.py dist: wrote {archive} ({archive.stat().st_size / 1e6:.1f} MB)")
    return 0


def gimp_archive(root: Path, out: Path, version: str, wheel: Path) -> Path:
    """The plug-in folder as GIMP wants it: NAME/NAME.py, its modules and the engine bundle."""
    with tempfile.TemporaryDirectory() as profile:
        folder = gimp_layout.install_files(Path(profile), root)
        add_engine_bundle(folder, wheel, root)
        return write_zip(Path(profile) / "plug-ins", out / f"scribbleseg-gimp-{version}.zip")


def krita_archive(root: Path, out: Path, version: str, wheel: Path) -> Path:
    """NAME.desktop, NAME/ (with the engine bundle) and NAME.action at the top, as Krita's
    importer expects."""
    with tempfile.TemporaryDirectory() as profile:
        staging = Path(profile)
        for part in krita_layout.install_files(staging, root):
            part.rename(staging / part.name)
        for folder in ("pykrita", "actions"):
            (staging / folder).rmdir()
        add_engine_bundle(staging / krita_layout.PLUGIN_NAME, wheel, root)
        return write_zip(staging, out / f"scribbleseg-krita-{version}.zip")


def add_engine_bundle(plugin_folder: Path, wheel: Path, root: Path) -> None:
    """What the plug-in's installer installs from: the wheel, the pinned dependencies and the
    model files kept in git (those manifest.json builds are fetched at install)."""
    bundle = plugin_folder / installer.BUNDLE_FOLDER
    bundle.mkdir()
    shutil.copyfile(wheel, bundle / wheel.name)
    shutil.copyfile(CONSTRAINTS, bundle / installer.CONSTRAINTS_NAME)
    built = {entry["file"] for entry in load_manifest(root)["models"]}
    installer.copy_kept_models(root / "models", bundle / installer.KEPT_MODELS, built,
                               lambda text, fraction: None)


def write_zip(folder: Path, archive: Path) -> Path:
    """Zip a folder in sorted order with fixed dates and modes. Folders get entries of their
    own: Krita's importer finds a plug-in package by its folder entry."""
    paths = sorted(p for p in folder.rglob("*") if "__pycache__" not in p.parts)
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle:
        for path in paths:
            name = path.relative_to(folder).as_posix()
            if path.is_dir():
                entry = zipfile.ZipInfo(name + "/", ZIP_DATE)
                entry.external_attr = (0o040755 << 16) | 0x10
                bundle.writestr(entry, b"")
                continue
            entry = zipfile.ZipInfo(name, ZIP_DATE)
            mode = 0o755 if os.access(path, os.X_OK) else 0o644
            entry.external_attr = (0o100000 | mode) << 16
            entry.compress_type = zipfile.ZIP_DEFLATED
            bundle.writestr(entry, path.read_bytes())
    return archive


def engine_wheel(root: Path, out: Path, python: Path | str = sys.executable) -> Path:
    """The engine as a wheel, built by `python`'s pip with a fixed SOURCE_DATE_EPOCH."""
    with tempfile.TemporaryDirectory() as scratch:
        command = [str(python), "-m", "pip", "wheel", "--no-deps", "--no-cache-dir",
                   "--disable-pip-version-check", "-q", "-w", scratch, str(root)]
        environment = dict(os.environ, SOURCE_DATE_EPOCH=SOURCE_DATE_EPOCH)
        subprocess.run(command, check=True, env=environment, cwd=scratch)
        (wheel,) = Path(scratch).glob("*.whl")
        target = out / wheel.name
        target.write_bytes(wheel.read_bytes())
    return target
