"""`build.py install` / `build.py uninstall`: the engine environment and the editor plug-ins.

install: sets up the engine with scribbleseg_editor.installer, the installer the plug-ins run
on their first use (a venv in the user's data folder with the engine wheel, built here, and the
pinned dependencies of engine-constraints.txt; the model, copied from models/ when built there,
else fetched; the record config folder / engine.json), lays the plug-ins into the editors' user
profiles and enables the Krita plug-in. Everything it writes is listed in a receipt (data folder /
install.json), and uninstall removes exactly that. Running install again upgrades in place.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

from buildtasks import gimp_layout, krita_layout
from buildtasks.dist import CONSTRAINTS, engine_wheel
from buildtasks.layout import load_manifest, remove_path
from scribbleseg_editor import hostfile, installer
from scribbleseg_editor.errors import ScribbleSegError
from scribbleseg_editor.progress import TenthsPrinter

RECEIPT = "install.json"
# What a settings file we created holds once our entries are gone (kritarc, GIMP's shortcutsrc).
EMPTY_SETTINGS_LINES = {"", "[python]", "(file-version 1)"}


class InstallError(Exception):
    """A step failed; the message says what to do next."""


def add_arguments(parser: argparse.ArgumentParser, command: str) -> None:
    if command == "uninstall":
        parser.description = "Remove what `build.py install` installed."
        return
    parser.description = "Install the engine and the GIMP / Krita plug-ins for this user."
    parser.add_argument("--gimp", action="store_true", help="install the GIMP 3 plug-in")
    parser.add_argument("--krita", action="store_true", help="install the Krita 5 plug-in")
    parser.add_argument("--profile", type=Path, default=None,
                        help="the editor's profile folder (GIMP: the folder holding plug-ins/; "
                             "Krita: the resource folder holding pykrita/); needs exactly one "
                             "of --gimp / --krita")
    parser.add_argument("--kritarc", type=Path, default=None,
                        help="Krita's settings file to enable the plug-in in "
                             "(default: this OS's kritarc)")
    parser.add_argument("--link", action="store_true",
                        help="link the plug-ins to this source tree instead of copying them "
                             "(development: edits take effect when the editor restarts)")


def run(args: argparse.Namespace, root: Path) -> int:
    try:
        if args.command == "uninstall":
            uninstall(root)
        else:
            install(args, root)
    except InstallError as error:
        say(f"failed: {error}")
        return 1
    return 0


def say(message: str) -> None:
    print(f"build.py: {message}", flush=True)


# ---- where things go on each OS ----

def home_path(*parts: str) -> Path:
    return Path.home().joinpath(*parts)


def gimp_profile() -> Path:
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA", home_path())) / "GIMP" / "3.0"
    if sys.platform == "darwin":
        return home_path("Library", "Application Support", "GIMP", "3.0")
    flatpak = home_path(".var", "app", "org.gimp.GIMP", "config", "GIMP", "3.0")
    config = Path(os.environ.get("XDG_CONFIG_HOME", home_path(".config")))
    return flatpak if flatpak.is_dir() else config / "GIMP" / "3.0"


def krita_resources() -> Path:
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA", home_path())) / "krita"
    if sys.platform == "darwin":
        return home_path("Library", "Application Support", "krita")
    flatpak = home_path(".var", "app", "org.kde.krita", "data", "krita")
    data = Path(os.environ.get("XDG_DATA_HOME", home_path(".local", "share")))
    return flatpak if flatpak.is_dir() else data / "krita"


def kritarc_path() -> Path:
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA", home_path())) / "kritarc"
    if sys.platform == "darwin":
        return home_path("Library", "Preferences", "kritarc")
    return Path(os.environ.get("XDG_CONFIG_HOME", home_path(".config"))) / "kritarc"


# ---- install ----

def install(args: argparse.Namespace, root: Path) -> None:
    editors = chosen_editors(args)
    receipt = load_receipt()
    created = set(receipt.get("created", [])) | not_yet_there(hostfile.data_dir(),
                                                             hostfile.config_dir())
    install_engine(root)
    receipt["engine"] = str(installer.engine_dir())
    receipt["record"] = str(installer.record_path())
    if "gimp" in editors:
        profile = args.profile or gimp_profile()
        created |= not_yet_there(profile / "plug-ins", profile / gimp_layout.SHORTCUTS_FILE)
        receipt["gimp"] = install_gimp(profile, root, args.link)
    if "krita" in editors:
        resources, kritarc = args.profile or krita_resources(), args.kritarc or kritarc_path()
        created |= not_yet_there(resources / "pykrita", resources / "actions", kritarc)
        receipt["krita"] = install_krita(resources, kritarc, root, args.link)
    receipt["created"] = sorted(created)
    save_receipt(receipt)
    say(f"done; `python3 build.py uninstall` removes it all (receipt: {receipt_path()})")


def chosen_editors(args: argparse.Namespace) -> list[str]:
    chosen = [name for name in ("gimp", "krita") if getattr(args, name)]
    if args.profile and len(chosen) != 1:
        raise InstallError("--profile names one editor's profile: add exactly one of "
                           "--gimp / --krita")
    if chosen:
        return chosen
    found = [name for name, folder in (("gimp", gimp_profile()), ("krita", krita_resources()))
             if folder.is_dir()]
    if not found:
        say("no GIMP 3 or Krita profile found (start the editor once, or pass --gimp / "
            "--krita); installing the engine only")
    return found


def install_engine(root: Path) -> None:
    """The plug-ins' installer, given the engine wheel built from this checkout."""
    report = TenthsPrinter(say)
    try:
        installer.make_environment(installer.find_python(), installer.engine_dir(), report)
        with tempfile.TemporaryDirectory() as scratch:
            python = installer.venv_python(installer.engine_dir())
            wheel = engine_wheel(root, Path(scratch), python)
            bundle = installer.Bundle(wheel, CONSTRAINTS, load_manifest(root)["models"],
                                      local_models=root / "models")
            outcome = installer.install(bundle, report)
    except ScribbleSegError as error:
        raise InstallError(error.message) from error
    for warning in outcome.warnings:
        say(warning)
    say(f"recorded the engine for the plug-ins in {installer.record_path()}")


def install_gimp(profile: Path, root: Path, linked: bool) -> dict:
    writable_or_fail(profile)
    folder = gimp_layout.install_files(profile, root, linked=linked)
    shortcuts = gimp_layout.install_shortcuts(profile, root)
    say(f"GIMP plug-in in {folder} (restart GIMP; shortcuts in {shortcuts})")
    return {"folder": str(folder), "shortcuts": str(shortcuts)}


def install_krita(resources: Path, kritarc: Path, root: Path, linked: bool) -> dict:
    writable_or_fail(resources)
    paths = krita_layout.install_files(resources, root, linked=linked)
    krita_layout.enable_in_kritarc(kritarc)
    say(f"Krita plug-in in {resources / 'pykrita'}, enabled in {kritarc} (restart Krita)")
    return {"paths": [str(p) for p in paths], "kritarc": str(kritarc)}


def not_yet_there(*paths: Path) -> set[str]:
    """Each path and parent folder that does not exist yet: what install creates, and
    uninstall removes again once nothing of the user's is in it."""
    created = set()
    for path in paths:
        for candidate in (path, *path.parents):
            if candidate.exists():
                break
            created.add(str(candidate))
    return created


def writable_or_fail(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".scribbleseg-write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as error:
        raise InstallError(f"cannot write to {folder} ({error.strerror}); pass a writable "
                           "folder with --profile or fix its permissions") from error


# ---- receipt and uninstall ----

def receipt_path() -> Path:
    return hostfile.data_dir() / RECEIPT


def load_receipt() -> dict:
    try:
        return json.loads(receipt_path().read_text())
    except (OSError, ValueError):
        return {}


def save_receipt(receipt: dict) -> None:
    hostfile.write_json(receipt_path(), receipt)


def uninstall(root: Path) -> None:
    receipt = load_receipt()
    if not receipt:
        say(f"nothing to uninstall (no receipt at {receipt_path()})")
        return
    hostfile.runtime_file().unlink(missing_ok=True)  # a running host exits when this goes
    if "gimp" in receipt:
        remove(Path(receipt["gimp"]["folder"]))
        manifest = load_manifest(root)
        procedures = [action["gimp_procedure"] for action in manifest["actions"].values()]
        remove_lines(Path(receipt["gimp"]["shortcuts"]),
                     tuple(f'(action "{name}" ' for name in procedures))
    if "krita" in receipt:
        for path in receipt["krita"]["paths"]:
            remove(Path(path))
        remove_lines(Path(receipt["krita"]["kritarc"]), (f"enable_{krita_layout.PLUGIN_NAME}=",))
    for path in installer.remove():
        say(f"removed {path}")
    receipt_path().unlink()
    for path in sorted(map(Path, receipt.get("created", [])), key=lambda p: -len(p.parts)):
        remove_if_left_empty(path)
    say("removed the engine, the plug-ins and their settings entries")


def remove(path: Path) -> None:
    if path.exists() or path.is_symlink():
        remove_path(path)
        say(f"removed {path}")


def remove_if_left_empty(path: Path) -> None:
    """Remove a folder or settings file that install created, if nothing of the user's is in it."""
    if path.is_dir():
        if not any(path.iterdir()):
            remove(path)
    elif path.is_file() and not [line for line in path.read_text().splitlines()
                                 if line.strip() not in EMPTY_SETTINGS_LINES]:
        remove(path)


def remove_lines(path: Path, prefixes: tuple[str, ...]) -> None:
    """Drop the lines starting with one of `prefixes` from a user's settings file."""
    if not path.is_file():
        return
    lines = path.read_text().splitlines()
    kept = [line for line in lines if not line.startswith(prefixes)]
    if kept != lines:
        path.write_text("\n".join(kept) + "\n")
        say(f"removed ScribbleSeg's entries from {path}")
