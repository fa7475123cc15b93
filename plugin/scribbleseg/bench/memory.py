"""`python -m scribbleseg.bench.memory FOLDER`: replay engine calls, print peak memory as JSON.

Run by speed.peak_memory in a fresh process, so that the peak belongs to these calls alone.
"""

from __future__ import annotations

import json
import resource
import sys
from pathlib import Path

import numpy as np

from scribbleseg.bench.sessions import EngineSettings
from scribbleseg.engine.prior import load_prior

MIB = 1024 * 1024


def resident_bytes() -> int:
    """The current resident set size (Linux /proc)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize()


def peak_resident_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kilobytes on Linux


def replay(folder: Path) -> dict:
    options = json.loads((folder / "settings.json").read_text())
    settings = EngineSettings(
        prior_model=load_prior() if options["prior"] else None,
        postprocess=options["postprocess"],
        feather=options["feather"],
    )
    arrays = np.load(folder / "replay.npz")
    image, added_positive, added_negative = arrays["image"], arrays["positive"], arrays["negative"]
    width = image.shape[1]
    positive = np.zeros(image.shape[:2], dtype=bool)
    negative = np.zeros(image.shape[:2], dtype=bool)

    before, peak_before = resident_bytes(), peak_resident_bytes()
    prepared = settings.prepare(image)
    result = None
    for packed_positive, packed_negative in zip(added_positive, added_negative, strict=True):
        positive |= np.unpackbits(packed_positive, axis=-1, count=width).astype(bool)
        negative |= np.unpackbits(packed_negative, axis=-1, count=width).astype(bool)
        result = settings.segment(prepared, positive, negative, result) >= 128
    peak = peak_resident_bytes()
    return {
        "method": "fresh process, getrusage ru_maxrss",
        "interactions": len(added_positive),
        "rss_before_mb": round(before / MIB, 1),
        "peak_rss_mb": round(peak / MIB, 1),
        "increase_mb": round((peak - before) / MIB, 1),
        # The process may have peaked higher while loading, before the engine ran: then the
        # engine's own peak is hidden and the increase is only an upper bound.
        "increase_is_upper_bound": peak == peak_before,
    }


if __name__ == "__main__":
    print(json.dumps(replay(Path(sys.argv[1]))))
