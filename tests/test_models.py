"""`build.py models`: the subject model built from its npm package, verified, or a clear refusal."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = json.loads((ROOT / "manifest.json").read_text(encoding="utf-8"))
CACHED_PACKAGE = ROOT / "models" / ".cache" / "imgly-background-removal-data-1.4.5.tgz"


def build_models(root: Path, *extra: str, path: str | None = None) -> subprocess.CompletedProcess:
    """Run `build.py models` of this checkout as a user would, for the project at `root`."""
    environment = dict(os.environ) if path is None else {**os.environ, "PATH": path}
    command = [sys.executable, str(root / "build.py"), "models", *extra]
    return subprocess.run(command, cwd=root, env=environment, capture_output=True, text=True)


def project_copy(tmp_path: Path, models: list[dict]) -> Path:
    """A project folder with build.py, its build steps and a manifest listing `models`."""
    root = tmp_path / "project"
    shutil.copytree(ROOT / "plugin" / "build_steps", root / "plugin" / "build_steps")
    shutil.copy(ROOT / "build.py", root)
    (root / "manifest.json").write_text(json.dumps({**MANIFEST, "models": models}))
    return root


def test_manifest_lists_the_medium_model_with_its_licence():
    [entry] = MANIFEST["models"]
    assert entry["file"] == "isnet-medium.onnx"
    assert entry["package"] == "@imgly/background-removal-data@1.4.5"
    assert entry["resource"] == "/models/medium"
    assert entry["size"] == 88_188_479
    assert entry["sha256"] == "b6e8497ba978a6f5fbb647e419d2696cd80df5a23cb6a8ea532021911bd76acb"
    assert entry["license"] == "AGPL-3.0"


@pytest.fixture(scope="module")
def first_build(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """models/ built once for this module (fetching the package into models/.cache if needed)."""
    if not CACHED_PACKAGE.is_file() and shutil.which("npm") is None:
        pytest.skip("npm is not installed and models/.cache has no package: cannot build the model")
    target = tmp_path_factory.mktemp("models")
    return target, build_models(ROOT, "--models-dir", str(target))


def test_models_are_built_from_the_package_and_verified(first_build):
    target, result = first_build
    assert result.returncode == 0, result.stdout + result.stderr
    [entry] = MANIFEST["models"]
    built = target / entry["file"]
    assert built.stat().st_size == entry["size"]
    assert hashlib.sha256(built.read_bytes()).hexdigest() == entry["sha256"]
    assert "verified" in result.stdout

    again = build_models(ROOT, "--models-dir", str(target))
    assert again.returncode == 0
    assert "up to date" in again.stdout


def test_a_model_that_does_not_match_the_manifest_is_refused(first_build, tmp_path):
    [entry] = MANIFEST["models"]
    root = project_copy(tmp_path, [{**entry, "sha256": "0" * 64}])
    (root / "models" / ".cache").mkdir(parents=True)
    (root / "models" / ".cache" / CACHED_PACKAGE.name).symlink_to(CACHED_PACKAGE)

    result = build_models(root)

    assert result.returncode == 1
    assert "size or SHA-256 differs from manifest.json" in result.stdout
    assert not (root / "models" / entry["file"]).exists()


def test_without_npm_it_says_what_to_do_and_that_the_engine_still_works(tmp_path):
    root = project_copy(tmp_path, MANIFEST["models"])
    empty_bin = tmp_path / "bin"
    empty_bin.mkdir()

    result = build_models(root, path=str(empty_bin))

    assert result.returncode == 1
    assert "npm was not found" in result.stdout
    assert "keeps working without it" in result.stdout
    assert "python3 build.py models" in result.stdout
