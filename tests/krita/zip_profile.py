"""A Krita user's HOME with the dist zip imported as Krita's own importer does it (Tools >
Scripts > Import Python Plugin from File), the plug-in enabled, the test harness beside it, and
no engine anywhere. Used by tests/test_krita_first_run.py and screens_first_run.py."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from krita_session import HARNESS, ROOT

sys.path.insert(0, str(ROOT / "plugin" / "build_steps"))
from buildtasks import krita_layout  # noqa: E402

KRITA_IMPORTER = Path("/usr/share/krita/pykrita/plugin_importer/plugin_importer.py")
VERSION = json.loads((ROOT / "manifest.json").read_text())["version"]


def import_zip(home: Path, dist: Path) -> None:
    """Import dist/scribbleseg-krita-VERSION.zip into home's Krita resources and enable it."""
    resources = home / ".local" / "share" / "krita"
    resources.mkdir(parents=True)  # Krita made it when it first started
    imported = subprocess.run([sys.executable, str(KRITA_IMPORTER),
                               str(dist / f"scribbleseg-krita-{VERSION}.zip"), str(resources)],
                              capture_output=True, text=True, timeout=60)
    if "Imported plugin" not in imported.stdout:
        raise RuntimeError(f"Krita's importer failed: {imported.stdout}{imported.stderr}")
    kritarc = home / ".config" / "kritarc"
    krita_layout.enable_in_kritarc(kritarc)
    pykrita = resources / "pykrita"
    shutil.copy(HARNESS / "scribbleseg_test_harness.desktop", pykrita)
    shutil.copytree(HARNESS / "scribbleseg_test_harness", pykrita / "scribbleseg_test_harness",
                    ignore=shutil.ignore_patterns("__pycache__"))
    krita_layout.enable_in_kritarc(kritarc, "scribbleseg_test_harness")
