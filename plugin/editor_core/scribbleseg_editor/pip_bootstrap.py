"""pip for an engine environment made by a Python without ensurepip (Debian and Ubuntu ship it
apart, in python3-venv): pip's own wheel from the package index, checked against the index's
SHA-256, runs from the wheel to install itself (standard library only)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import urllib.parse
from pathlib import Path

from . import download
from .errors import ScribbleSegError

INDEX = "https://pypi.org/simple"  # pip's default; PIP_INDEX_URL overrides it, as for pip
SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"  # the index's JSON form (PEP 691)
WHEEL_NAME = re.compile(r"pip-(\d+(?:\.\d+)*)-py3-none-any\.whl")


def install_pip(python: Path, cache_dir: Path, environment: dict[str, str]) -> None:
    """Install pip into the venv whose interpreter is `python`."""
    wheel = fetch_pip_wheel(cache_dir)
    done = subprocess.run([str(python), f"{wheel}/pip", "install", "--no-index", "-q",
                           str(wheel)], env=environment, capture_output=True, text=True)
    wheel.unlink()
    if done.returncode != 0:
        raise ScribbleSegError("EngineInstallFailed", "pip could not be set up in the engine "
                               f"environment: {done.stderr.strip()[-300:]}")


def fetch_pip_wheel(cache_dir: Path) -> Path:
    index = os.environ.get("PIP_INDEX_URL", INDEX).rstrip("/") + "/pip/"
    listing = json.loads(download.read(index, "pip", accept=SIMPLE_JSON))
    wheels = [entry for entry in listing.get("files", [])
              if WHEEL_NAME.fullmatch(entry.get("filename", "")) and not entry.get("yanked")]
    if not wheels:
        raise ScribbleSegError("EngineInstallFailed", "The package index lists no wheel of pip.")
    newest = max(wheels, key=lambda entry: tuple(
        int(part) for part in WHEEL_NAME.fullmatch(entry["filename"]).group(1).split(".")))
    target = cache_dir / newest["filename"]
    partial = download.fetch(urllib.parse.urljoin(index, newest["url"]), target, "pip")
    if hashlib.sha256(partial.read_bytes()).hexdigest() != newest["hashes"].get("sha256"):
        partial.unlink()
        raise ScribbleSegError("EngineInstallFailed", "The download of pip does not match the "
                               "package index's SHA-256; it was deleted. Try again.")
    return partial.replace(target)
