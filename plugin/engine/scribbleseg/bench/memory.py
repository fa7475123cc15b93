"""`python -m scribbleseg.bench.memory FOLDER`: replay engine calls, print peak memory as JSON.

Run by speed.peak_memory in a fresh process. The peak is the kernel's high-water mark of this
process's resident memory (VmHWM in /proc/self/status), reset (clear_refs) once the inputs and
the subject model are loaded, so it measures the engine calls alone. getrusage's ru_maxrss
would not do: a child process inherits its parent's peak at fork.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from scribbleseg.bench.sessions import EngineSettings
from scribbleseg.engine.prior import load_prior, models_dir
from scribbleseg.engine.scribble_model import load_scribble_model

STATUS = Path("/proc/self/status")


def status_mib(field: str) -> float:
    """A memory line of /proc/self/status ("VmRSS:  1234 kB") in MiB."""
    for line in STATUS.read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise KeyError(field)


def reset_peak() -> bool:
    """Set the high-water mark to the current resident size; False where the kernel refuses."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def replay(folder: Path) -> dict:
    options = json.loads((folder / "settings.json").read_text())
    settings = EngineSettings(
        prior_model=load_prior() if options["prior"] else None,
        postprocess=options["postprocess"],
        feather=options["feather"],
        scribble_model=load_scribble_model(models_dir()) if options["scribble_model"] else None,
    )
    arrays = np.load(folder / "replay.npz")
    image, added_positive, added_negative = arrays["image"], arrays["positive"], arrays["negative"]
    width = image.shape[1]
    positive = np.zeros(image.shape[:2], dtype=bool)
    negative = np.zeros(image.shape[:2], dtype=bool)

    was_reset = reset_peak()
    before = status_mib("VmRSS")
    prepared = settings.prepare(image)
    result = None
    for packed_positive, packed_negative in zip(added_positive, added_negative, strict=True):
        positive |= np.unpackbits(packed_positive, axis=-1, count=width).astype(bool)
        negative |= np.unpackbits(packed_negative, axis=-1, count=width).astype(bool)
        result = settings.segment(prepared, positive, negative, result) >= 128
    peak = status_mib("VmHWM")
    return {
        "method": "fresh process, VmHWM" + (" reset before the first call" if was_reset else ""),
        "interactions": len(added_positive),
        "rss_before_mb": round(before, 1),
        "peak_rss_mb": round(peak, 1),
        "increase_mb": round(peak - before, 1),
        # Without the reset, loading may have peaked higher than the engine: then the increase
        # is only an upper bound.
        "increase_is_upper_bound": not was_reset,
    }


if __name__ == "__main__":
    print(json.dumps(replay(Path(sys.argv[1]))))
