"""Where the desktop engine host announces itself: a per-user runtime file (port, token, pid)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

RUNTIME_FILE_NAME = "host.json"


def runtime_dir() -> Path:
    """Per-user folder for the runtime file; SCRIBBLESEG_RUNTIME_DIR overrides."""
    override = os.environ.get("SCRIBBLESEG_RUNTIME_DIR")
    if override:
        return Path(override)
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA", Path.home())) / "scribbleseg" / "run"
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if xdg:
        return Path(xdg) / "scribbleseg"
    return Path.home() / ".cache" / "scribbleseg" / "run"


def runtime_file() -> Path:
    return runtime_dir() / RUNTIME_FILE_NAME


def config_dir() -> Path:
    """Per-user settings folder (engine record, settings); SCRIBBLESEG_CONFIG_DIR overrides."""
    override = os.environ.get("SCRIBBLESEG_CONFIG_DIR")
    if override:
        return Path(override)
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA", Path.home())) / "scribbleseg"
    if sys.platform == "darwin":
        # Apple keeps ~/Library/Preferences for the system's own preference files (written
        # through NSUserDefaults only), so, as macOS apps do, the settings go in the app's
        # Application Support folder: a folder of their own beside the engine and models.
        return _macos_app_folder() / "settings"
    return Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config")) / "scribbleseg"


def data_dir() -> Path:
    """Per-user data folder (the engine environment, models); SCRIBBLESEG_DATA_DIR overrides."""
    override = os.environ.get("SCRIBBLESEG_DATA_DIR")
    if override:
        return Path(override)
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA", Path.home())) / "scribbleseg"
    if sys.platform == "darwin":
        return _macos_app_folder()
    return Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "scribbleseg"


def _macos_app_folder() -> Path:
    return Path.home() / "Library" / "Application Support" / "scribbleseg"


def write_runtime(port: int, token: str, pid: int) -> Path:
    """Write the runtime file readable by this user alone (created 0600, replaced atomically)."""
    path = runtime_file()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_suffix(f".{pid}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as stream:
        json.dump({"port": port, "token": token, "pid": pid}, stream)
    os.replace(temporary, path)
    return path


def read_runtime() -> dict | None:
    """The running host's {port, token, pid}, or None when no runtime file is readable."""
    try:
        data = json.loads(runtime_file().read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not {"port", "token", "pid"} <= data.keys():
        return None
    return data


def write_json(path: Path, data: object) -> None:
    """Write `data` to `path` as JSON, replaced atomically: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    temporary.write_text(json.dumps(data, indent=2), encoding="utf-8")
    os.replace(temporary, path)
