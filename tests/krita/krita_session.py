"""Run a driver script inside a real Krita under a private Xvfb display, one HOME per run.

Two Krita versions (BUILDS): this machine's (Debian 12: 5.1) and 5.2 in the Debian 13 root that
also holds GIMP 3 (tests/gimp/build_root.sh). Krita in the root runs like GIMP there
(tests/gimp/harness.py): `unshare --mount` + chroot, the test's work folder (HOME's parent) and
the drivers bind-mounted at the same paths, the X server's socket shared. Its Python cannot run
the engine installed outside the root, so an engine host started outside announces itself in
the runtime folder the plug-in reads (KritaBuild.engine); loopback is shared.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conftest import Installation

ROOT = Path(__file__).resolve().parents[2]
HARNESS = Path(__file__).resolve().parent / "harness"
DRIVERS = Path(__file__).resolve().parent
X11_SOCKETS = "/tmp/.X11-unix"
DEBIAN_ROOT = Path(os.environ.get("SCRIBBLESEG_GIMP_ROOT", "/var/tmp/scribbleseg-gimp-root"))
EXIT_MARKER = re.compile(r"^SCRIBBLESEG-DRIVER-EXIT (\d+)$", re.MULTILINE)

sys.path.insert(0, str(ROOT / "plugin" / "build_steps"))
from buildtasks import krita_layout  # noqa: E402


def missing_tools() -> list[str]:
    return [tool for tool in ("krita", "Xvfb") if shutil.which(tool) is None]


@dataclass(frozen=True)
class KritaBuild:
    """One Krita to run drivers in."""

    version: str            # "5.1", "5.2": the test id
    root: Path | None       # the Debian root holding it; None: this machine's own Krita

    def unavailable_reason(self) -> str | None:
        if shutil.which("Xvfb") is None:
            return "needs Xvfb (apt-get install xvfb)"
        if self.root is None:
            return None if shutil.which("krita") else \
                "needs krita (apt-get install krita python3-pyqt5)"
        if not (self.root / "usr" / "bin" / "krita").is_file():
            return (f"no Krita {self.version} in {self.root}: run `sh tests/gimp/build_root.sh` "
                    "(as root)")
        if os.geteuid() != 0:
            return "Krita in its root needs root (unshare --mount, chroot)"
        return None

    def command(self, environment: dict[str, str], work: Path) -> tuple[list[str], dict]:
        """(argv, environment) starting Krita with `environment`; in a root, `work` (holding
        HOME, the case and the output folder) is visible at the same path."""
        if self.root is None:
            return ["krita", "--nosplash"], environment
        inside = dict(environment, PATH="/usr/bin:/bin")
        krita = ["chroot", str(self.root), "/usr/bin/env", "-i",
                 *(f"{key}={value}" for key, value in inside.items()), "krita", "--nosplash"]
        mounts = [("proc", "/proc"), ("/dev", "/dev"), ("tmpfs", "/dev/shm"),
                  (X11_SOCKETS, X11_SOCKETS), (str(work), str(work)),
                  (str(DRIVERS), str(DRIVERS))]
        setup = " && ".join(_mount(source, str(self.root) + target)
                            for source, target in mounts)
        return ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c",
                f"{setup} && exec {shlex.join(krita)}"], {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}

    @contextlib.contextmanager
    def engine(self, home: Path, config_dir: Path, outside: bool = False) -> Iterator[None]:
        """The engine host for a Krita on `home`: this machine's Krita starts the installed
        engine itself, as for a user; a Krita in a root (or any, with `outside`) finds one
        started here."""
        if self.root is None and not outside:
            yield
            return
        from gimp import harness

        with harness.engine_host(home / "run" / "scribbleseg", config_dir):
            yield


MACHINE = KritaBuild("5.1", None)
BUILDS = (MACHINE, KritaBuild("5.2", DEBIAN_ROOT))


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
               timeout: float = 600, build: KritaBuild = MACHINE) -> tuple[int, str]:
    """Start `build`'s Krita on `home`, run `driver`'s main() in it; return (driver's code,
    Krita's log)."""
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home),
        "DISPLAY": display.name, "LANG": "C.UTF-8", "XDG_RUNTIME_DIR": str(home / "run"),
        "XDG_CONFIG_HOME": str(home / ".config"), "XDG_DATA_HOME": str(home / ".local/share"),
        "SCRIBBLESEG_KRITA_DRIVER": str(driver), "PYTHONUNBUFFERED": "1", **env,
    }
    (home / "run").mkdir(mode=0o700, exist_ok=True)
    log_path = home / "krita.log"
    argv, outer_environment = build.command(environment, home.parent)
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(argv, env=outer_environment, cwd=home,
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


def _mount(source: str, target: str) -> str:
    kind = {"proc": "-t proc", "tmpfs": "-t tmpfs"}.get(source, "--bind")
    return f"mkdir -p {shlex.quote(target)} && mount {kind} {shlex.quote(source)} " \
           f"{shlex.quote(target)}"
