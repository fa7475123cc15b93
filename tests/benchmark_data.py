"""Where the tests find the benchmark data: ../shared/benchmarks beside the checkout."""

from __future__ import annotations

from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "shared" / "benchmarks"


def benchmark(name: str) -> Path:
    """The folder of one benchmark data set; the test is skipped without it."""
    folder = BENCHMARKS / name
    if not folder.is_dir():
        pytest.skip(f"benchmark data not found at {folder} (shared/ beside the checkout)")
    return folder
