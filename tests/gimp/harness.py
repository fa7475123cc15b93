"""Run GIMP 3 from the Debian 13 root (tests/gimp/build_root.sh) on the driver, drive.py.

The work folder is bind-mounted into the root at the same path, so paths in job files mean the
same inside and outside; loopback is shared, so the plug-in reaches an engine host started
outside. With a display (a virtual X server started here), full GIMP runs instead of
gimp-console, and the harness presses keys when the driver asks (NAME.keys marker files), as a
user would: GIMP's PDB has no undo, no shortcuts and no dialogs.
Needs root (unshare --mount, chroot).
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

from scribbleseg_editor import host

GIMP_ROOT = Path(os.environ.get("SCRIBBLESEG_GIMP_ROOT", "/var/tmp/scribbleseg-gimp-root"))
READY_STAMP = GIMP_ROOT / ".scribbleseg-root-ready"
DRIVER = Path(__file__).resolve().parent / "drive.py"
X11_SOCKETS = "/tmp/.X11-unix"
KEYS_MARKER = ".keys"


def unavailable_reason(display: bool = False) -> str | None:
    """Why GIMP cannot run here, or None."""
    if not READY_STAMP.is_file():
        return f"no GIMP root at {GIMP_ROOT}: run `sh tests/gimp/build_root.sh` (as root)"
    if os.geteuid() != 0:
        return "running GIMP in its root needs root (unshare --mount, chroot)"
    missing = [tool for tool in ("Xvfb", "xdotool") if display and not shutil.which(tool)]
    if missing:
        return f"GIMP's window tests need {' and '.join(missing)} (apt-get install xvfb xdotool)"
    return None


@contextlib.contextmanager
def engine_host(runtime_dir: Path, config_dir: Path) -> Iterator[None]:
    """The installed engine host, launched as the plug-ins launch it: with the engine that
    `build.py install` recorded in config_dir/engine.json. It announces itself in runtime_dir,
    which this process uses too while it runs."""
    with mock.patch.dict(os.environ, SCRIBBLESEG_RUNTIME_DIR=str(runtime_dir),
                         SCRIBBLESEG_CONFIG_DIR=str(config_dir)):
        os.environ.pop("SCRIBBLESEG_PYTHON", None)  # engine.json names the engine, as for a user
        command, environment = host.engine_launch()
        process = subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 60
            while host.find_host() is None:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the engine host did not start")
                time.sleep(0.2)
            yield
        finally:
            process.terminate()
            process.wait(10)


@contextlib.contextmanager
def virtual_display() -> Iterator[str]:
    """An Xvfb server on a free display number: yields ":N"."""
    read_end, write_end = os.pipe()
    server = subprocess.Popen(["Xvfb", "-displayfd", str(write_end), "-nolisten", "tcp",
                               "-screen", "0", "1280x1024x24"], pass_fds=[write_end],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write_end)
    with os.fdopen(read_end) as announced:
        number = announced.readline().strip()
    try:
        yield f":{number}"
    finally:
        server.terminate()
        server.wait(10)


def run_gimp(work: Path, env: dict[str, str], display: str | None = None,
             timeout: float = 900) -> subprocess.CompletedProcess:
    """Run drive.py in GIMP with the profile work/profile; `env` is all the driver and the
    plug-in see besides PATH, LANG, HOME, GIMP3_DIRECTORY (and DISPLAY)."""
    work = work.resolve()
    script = work / DRIVER.name
    shutil.copyfile(DRIVER, script)
    inner_env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": str(work),
                 "GIMP3_DIRECTORY": str(work / "profile"), "PYTHONUNBUFFERED": "1", **env}
    if display:
        inner_env["DISPLAY"] = display
    # GIMP's window wants a session bus; without one GLib tries to autolaunch dbus-launch,
    # which the root lacks, and the run fails now and then: give it a private bus.
    session_bus = ["dbus-run-session", "--"] if display else []
    gimp = ["chroot", str(GIMP_ROOT), "/usr/bin/env", "-i",
            *(f"{key}={value}" for key, value in inner_env.items()), *session_bus,
            "gimp-3.0" if display else "gimp-console-3.0", "-i" if not display else "-s",
            "--batch-interpreter=python-fu-eval", "-b", f'exec(open("{script}").read())',
            "--quit"]
    mounts = [("proc", "/proc"), ("/dev", "/dev"), ("tmpfs", "/dev/shm"), (str(work), str(work))]
    if display:
        mounts.append((X11_SOCKETS, X11_SOCKETS))
    setup = " && ".join(_mount(source, str(GIMP_ROOT) + inside) for source, inside in mounts)
    command = ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c",
               f"{setup} && exec {shlex.join(gimp)}"]
    log = work / "gimp.log"
    with open(log, "w") as output, subprocess.Popen(command, stdout=output,
                                                    stderr=subprocess.STDOUT) as process:
        try:
            if display:
                _press_keys_when_asked(process, work / "out", display,
                                       time.monotonic() + timeout)
            process.wait(timeout)
        except BaseException:
            process.kill()  # else leaving the with block waits for a GIMP that waits for keys
            raise
    return subprocess.CompletedProcess(command, process.returncode, log.read_text(), "")


def _mount(source: str, target: str) -> str:
    kind = {"proc": "-t proc", "tmpfs": "-t tmpfs"}.get(source, "--bind")
    return f"mkdir -p {shlex.quote(target)} && mount {kind} {shlex.quote(source)} " \
           f"{shlex.quote(target)}"


def _press_keys_when_asked(process: subprocess.Popen, out: Path, display: str,
                           deadline: float) -> None:
    """Each time the driver leaves NAME.keys (a JSON list of xdotool commands), run them and
    remove the file."""
    while process.poll() is None and time.monotonic() < deadline:
        for marker in out.glob(f"*{KEYS_MARKER}"):
            for arguments in json.loads(marker.read_text()):
                try:
                    subprocess.run(["xdotool", *arguments], check=True, timeout=120,
                                   env=dict(os.environ, DISPLAY=display))
                except subprocess.TimeoutExpired as error:
                    raise AssertionError(f"GIMP never showed what `xdotool {shlex.join(arguments)}`"
                                         f" waits for ({marker.stem})") from error
            marker.unlink()
        time.sleep(0.2)
