"""The Krita versions the tests run on: this machine's Krita (Debian 12: 5.1) and Krita 5.2 in the
Debian 13 root that also holds GIMP 3 (tests/gimp/build_root.sh).

Krita in the root runs like GIMP there (tests/gimp/harness.py): `unshare --mount` + chroot, the
test's work folder and the drivers bind-mounted at the same paths, the X server's socket shared.
Its Python cannot run the engine installed outside the root, so an engine host started outside
(gimp.harness.engine_host) announces itself in the runtime folder the plug-in reads; loopback is
shared.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

DRIVERS = Path(__file__).resolve().parent
X11_SOCKETS = "/tmp/.X11-unix"
DEBIAN_ROOT = Path(os.environ.get("SCRIBBLESEG_GIMP_ROOT", "/var/tmp/scribbleseg-gimp-root"))


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


BUILDS = (KritaBuild("5.1", None), KritaBuild("5.2", DEBIAN_ROOT))


def run_driver(build: KritaBuild, display, home: Path, driver: Path, env: dict[str, str],
               timeout: float = 900) -> tuple[int, str]:
    """krita_session.run_driver on `build`: (the driver's code, Krita's log)."""
    from krita_session import EXIT_MARKER

    environment = {
        "HOME": str(home), "DISPLAY": display.name, "LANG": "C.UTF-8",
        "XDG_RUNTIME_DIR": str(home / "run"), "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local/share"), "SCRIBBLESEG_KRITA_DRIVER": str(driver),
        "PYTHONUNBUFFERED": "1", "PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env,
    }
    (home / "run").mkdir(mode=0o700, exist_ok=True)
    argv, outer_environment = build.command(environment, home.parent)
    log_path = home / "krita.log"
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


def _mount(source: str, target: str) -> str:
    kind = {"proc": "-t proc", "tmpfs": "-t tmpfs"}.get(source, "--bind")
    return f"mkdir -p {shlex.quote(target)} && mount {kind} {shlex.quote(source)} " \
           f"{shlex.quote(target)}"
