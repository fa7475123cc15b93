"""Run a driver script inside a real Krita under a private Xvfb display, one HOME per run."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conftest import Installation

ROOT = Path(__file__).resolve().parents[2]
HARNESS = Path(__file__).resolve().parent / "harness"
EXIT_MARKER = re.compile(r"^SCRIBBLESEG-DRIVER-EXIT (\d+)$", re.MULTILINE)

sys.path.insert(0, str(ROOT / "plugin" / "build_steps"))
from buildtasks import krita_layout  # noqa: E402


def missing_tools() -> list[str]:
    return [tool for tool in ("krita", "Xvfb") if shutil.which(tool) is None]


class Display:
    """A private Xvfb server; the display number comes back on a pipe (no race for numbers)."""

    def __init__(self) -> None:
        read_end, write_end = os.pipe()
        self.process = subprocess.Popen(
            ["Xvfb", "-displayfd", str(write_end), "-nolisten", "tcp", "-screen", "0",
             "1600x1200x24"], pass_fds=(write_end,), stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        os.close(write_end)
        with os.fdopen(read_end) as stream:
            number = stream.readline().strip()
        if not number:
            self.process.kill()
            raise RuntimeError("Xvfb did not start")
        self.name = f":{number}"

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def install_profile(home: Path, installation: Installation) -> None:
    """Give `home` a copy of what `build.py install` wrote into installation.home (the Krita
    resources; kritarc and scribbleseg/engine.json in .config), plus the test harness, enabled."""
    shutil.copytree(installation.krita_resources, home / ".local" / "share" / "krita")
    shutil.copytree(installation.home / ".config", home / ".config")
    pykrita = home / ".local" / "share" / "krita" / "pykrita"
    shutil.copy2(HARNESS / "scribbleseg_test_harness.desktop", pykrita)
    shutil.copytree(HARNESS / "scribbleseg_test_harness", pykrita / "scribbleseg_test_harness")
    krita_layout.enable_in_kritarc(home / ".config" / "kritarc", "scribbleseg_test_harness")


def run_driver(display: Display, home: Path, driver: Path, env: dict[str, str],
               timeout: float = 600) -> tuple[int, str]:
    """Start Krita on `home`, run `driver`'s main() in it; return (driver's code, Krita's log)."""
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home),
        "DISPLAY": display.name, "LANG": "C.UTF-8", "XDG_RUNTIME_DIR": str(home / "run"),
        "XDG_CONFIG_HOME": str(home / ".config"), "XDG_DATA_HOME": str(home / ".local/share"),
        "SCRIBBLESEG_KRITA_DRIVER": str(driver), "PYTHONUNBUFFERED": "1", **env,
    }
    (home / "run").mkdir(mode=0o700, exist_ok=True)
    log_path = home / "krita.log"
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(["krita", "--nosplash"], env=environment, cwd=home,
                                   stdin=subprocess.DEVNULL, stdout=log_file,
                                   stderr=subprocess.STDOUT)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    log = log_path.read_text(errors="replace")
    found = EXIT_MARKER.search(log)
    return (int(found.group(1)) if found else -1), log


def stop_host(home: Path) -> None:
    """Stop the engine host the plug-in started in Krita on `home` (by the pid in its runtime
    file, which it writes in $XDG_RUNTIME_DIR/scribbleseg: run_driver sets that to home/run)."""
    runtime_file = home / "run" / "scribbleseg" / "host.json"
    try:
        pid = int(json.loads(runtime_file.read_text())["pid"])
    except (OSError, ValueError, KeyError):
        return
    runtime_file.unlink()
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
