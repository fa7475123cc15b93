"""Run GIMP 3 from the Debian 13 root (tests/gimp/build_root.sh) on a driver script.

The work folder is bind-mounted into the root at the same path, so paths in job files mean the
same inside and outside; loopback is shared, so the plug-in reaches an engine host started
outside. Needs root (unshare --mount, chroot).
"""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

GIMP_ROOT = Path(os.environ.get("SCRIBBLESEG_GIMP_ROOT", "/var/tmp/scribbleseg-gimp-root"))
READY_STAMP = GIMP_ROOT / ".scribbleseg-root-ready"
DRIVER = Path(__file__).resolve().parent / "drive.py"


def unavailable_reason() -> str | None:
    """Why GIMP cannot run here, or None."""
    if not READY_STAMP.is_file():
        return f"no GIMP root at {GIMP_ROOT}: run `sh tests/gimp/build_root.sh` (as root)"
    if os.geteuid() != 0:
        return "running GIMP in its root needs root (unshare --mount, chroot)"
    return None


def run_gimp(work: Path, script: Path, env: dict[str, str],
             timeout: float = 900) -> subprocess.CompletedProcess:
    """Run `script` (inside `work`) in gimp-console with a profile in work/profile."""
    work = work.resolve()
    inner_env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": str(work),
                 "GIMP3_DIRECTORY": str(work / "profile"), "PYTHONUNBUFFERED": "1", **env}
    batch = f'exec(open("{script}").read())'
    gimp = ["chroot", str(GIMP_ROOT), "/usr/bin/env", "-i",
            *(f"{key}={value}" for key, value in inner_env.items()),
            "gimp-console-3.0", "-i", "--batch-interpreter=python-fu-eval", "-b", batch,
            "--quit"]
    root, mounted = shlex.quote(str(GIMP_ROOT)), shlex.quote(str(GIMP_ROOT) + str(work))
    setup = (f"mount -t proc proc {root}/proc && mount --bind /dev {root}/dev && "
             f"mount -t tmpfs tmpfs {root}/dev/shm && mkdir -p {mounted} && "
             f"mount --bind {shlex.quote(str(work))} {mounted} && exec {shlex.join(gimp)}")
    return subprocess.run(["unshare", "--mount", "--propagation", "private", "--", "sh", "-c",
                           setup], capture_output=True, text=True, timeout=timeout)
