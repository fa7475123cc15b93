"""`build.py models`: the subject model built from its npm package without npm, verified, or a
clear refusal. Most tests run against a local stand-in of the registry serving a small package
shaped like the real one (tests/npm_standin.py), with npm hidden from PATH; CI's own
`build.py models` exercises the real registry."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from npm_standin import fake_model_package, serving

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = json.loads((ROOT / "manifest.json").read_text(encoding="utf-8"))
CACHED_PACKAGE = ROOT / "models" / ".cache" / "imgly-background-removal-data-1.4.5.tgz"
FAKE_SPEC = "@scribbleseg-test/fake-data@1.0.0"
UNREACHABLE = "http://127.0.0.1:9"  # the discard port: nothing listens there


def build_models(root: Path, *extra: str, registry: str | None = None
                 ) -> subprocess.CompletedProcess:
    """Run `build.py models` as a user would, with a PATH that has no npm on it."""
    no_npm = root.parent / "bin-without-npm"
    no_npm.mkdir(exist_ok=True)
    environment = {**os.environ, "PATH": str(no_npm)}
    if registry:
        environment["npm_config_registry"] = registry
    command = [sys.executable, str(root / "build.py"), "models", *extra]
    return subprocess.run(command, cwd=root, env=environment, capture_output=True, text=True,
                          timeout=600)


def project_copy(tmp_path: Path, models: list[dict]) -> Path:
    """A project folder with build.py, its build steps, the editor core and a manifest
    listing `models`."""
    root = tmp_path / "project"
    for part in ("build_steps", "editor_core"):
        shutil.copytree(ROOT / "plugin" / part, root / "plugin" / part)
    shutil.copy(ROOT / "build.py", root)
    (root / "manifest.json").write_text(json.dumps({**MANIFEST, "models": models}))
    return root


@pytest.fixture()
def fake_project(tmp_path: Path) -> tuple[Path, Path, dict]:
    """(project, the fake package's tarball, its manifest entry)."""
    tarball, facts = fake_model_package(tmp_path)
    entry = {"file": "fake.onnx", "package": FAKE_SPEC, "resource": "/models/medium",
             "license": "test", **facts}
    return project_copy(tmp_path, [entry]), tarball, entry


def test_manifest_lists_the_medium_model_with_its_licence():
    [entry] = MANIFEST["models"]
    assert entry["file"] == "isnet-medium.onnx"
    assert entry["package"] == "@imgly/background-removal-data@1.4.5"
    assert entry["resource"] == "/models/medium"
    assert entry["size"] == 88_188_479
    assert entry["sha256"] == "b6e8497ba978a6f5fbb647e419d2696cd80df5a23cb6a8ea532021911bd76acb"
    assert entry["license"] == "AGPL-3.0"
    if CACHED_PACKAGE.is_file():
        assert CACHED_PACKAGE.stat().st_size == entry["package_size"], "what the dialog announces"


def test_without_npm_the_model_comes_from_the_registry_and_is_verified(fake_project):
    root, tarball, entry = fake_project
    with serving({FAKE_SPEC: tarball}) as registry:
        result = build_models(root, registry=registry.url)
        again = build_models(root, registry=registry.url)

    assert result.returncode == 0, result.stdout + result.stderr
    built = root / "models" / entry["file"]
    assert hashlib.sha256(built.read_bytes()).hexdigest() == entry["sha256"]
    assert f"Downloading {FAKE_SPEC}" in result.stdout, "the user sees the download's progress"
    assert "verified" in result.stdout
    assert "127.0.0.1" not in result.stdout, "messages name the package, not the host"
    assert again.returncode == 0 and "up to date" in again.stdout
    assert len(registry.requests) == 2, "the second run fetched nothing"


def test_an_interrupted_download_resumes(fake_project):
    root, tarball, entry = fake_project
    cache = root / "models" / ".cache"
    cache.mkdir(parents=True)
    first_part = tarball.read_bytes()[:tarball.stat().st_size // 2]
    (cache / "scribbleseg-test-fake-data-1.0.0.tgz.part").write_bytes(first_part)

    with serving({FAKE_SPEC: tarball}) as registry:
        result = build_models(root, registry=registry.url)

    assert result.returncode == 0, result.stdout + result.stderr
    assert registry.requests[-1]["range"] == f"bytes={len(first_part)}-"
    assert (cache / "scribbleseg-test-fake-data-1.0.0.tgz").read_bytes() == tarball.read_bytes()


def test_a_tarball_that_fails_the_registrys_integrity_is_refused(fake_project):
    root, tarball, entry = fake_project
    with serving({FAKE_SPEC: tarball}) as registry:
        registry.wrong_integrity = True
        result = build_models(root, registry=registry.url)

    assert result.returncode == 1
    assert "does not match the registry's integrity hash" in result.stdout
    assert not (root / "models" / entry["file"]).exists()
    assert not list((root / "models" / ".cache").iterdir()), "nothing unchecked is kept"


def test_a_model_that_does_not_match_the_manifest_is_refused(fake_project, tmp_path):
    root, tarball, entry = fake_project
    manifest = json.loads((root / "manifest.json").read_text())
    manifest["models"][0]["sha256"] = "0" * 64
    (root / "manifest.json").write_text(json.dumps(manifest))

    with serving({FAKE_SPEC: tarball}) as registry:
        result = build_models(root, registry=registry.url)

    assert result.returncode == 1
    assert "differs from manifest.json" in result.stdout
    assert not (root / "models" / entry["file"]).exists()


def test_offline_it_names_the_package_and_says_the_engine_still_works(fake_project):
    root, _, _ = fake_project
    result = build_models(root, registry=UNREACHABLE)

    assert result.returncode == 1
    assert f"Could not fetch {FAKE_SPEC}: no connection" in result.stdout
    assert "keeps working without it" in result.stdout
    assert "127.0.0.1" not in result.stdout


@pytest.mark.skipif(not CACHED_PACKAGE.is_file(), reason="models/.cache holds no real package "
                    "(CI's `build.py models` fetches it)")
def test_the_real_package_builds_the_manifests_model(tmp_path):
    """The real tarball (as the registry serves it) through the stand-in: offline, no npm."""
    with serving({MANIFEST["models"][0]["package"]: CACHED_PACKAGE}) as registry:
        project = project_copy(tmp_path, MANIFEST["models"])
        result = build_models(project, registry=registry.url)
    assert result.returncode == 0, result.stdout + result.stderr
    [entry] = MANIFEST["models"]
    assert (project / "models" / entry["file"]).stat().st_size == entry["size"]
