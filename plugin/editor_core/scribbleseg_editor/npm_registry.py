"""A package's tarball from the npm registry, without npm: its documented package metadata
(GET REGISTRY/NAME/VERSION) gives the tarball's URL and its integrity hash (Subresource
Integrity, "sha512-BASE64"); the tarball is downloaded resumably and kept only once it matches.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import threading
import urllib.parse
from pathlib import Path

from . import download
from .errors import ScribbleSegError

REGISTRY = "https://registry.npmjs.org"  # the one place; npm's npm_config_registry overrides it
REGISTRY_VARIABLES = ("npm_config_registry", "NPM_CONFIG_REGISTRY")


def registry_url() -> str:
    for name in REGISTRY_VARIABLES:
        if os.environ.get(name):
            return os.environ[name].rstrip("/")
    return REGISTRY


def split_spec(spec: str) -> tuple[str, str]:
    """"@scope/name@1.2.3" -> ("@scope/name", "1.2.3")."""
    name, version = spec.rsplit("@", 1)
    return name, version


def tarball_name(spec: str) -> str:
    """The file name `npm pack` gives the tarball: "scope-name-1.2.3.tgz"."""
    name, version = split_spec(spec)
    return f"{name.lstrip('@').replace('/', '-')}-{version}.tgz"


def package_dist(spec: str) -> dict:
    """The package version's "dist" metadata: {"tarball": URL, "integrity": SRI, ...}."""
    name, version = split_spec(spec)
    url = f"{registry_url()}/{urllib.parse.quote(name, safe='@')}/{version}"
    try:
        dist = json.loads(download.read(url, spec))["dist"]
        if isinstance(dist["tarball"], str) and isinstance(dist["integrity"], str):
            return dist
    except (ValueError, KeyError, TypeError):
        pass
    raise ScribbleSegError("EngineInstallFailed", f"The registry's metadata of {spec} is not "
                           "what npm documents; try again later.")


def fetch_package(spec: str, cache_dir: Path, on_progress: download.OnProgress | None = None,
                  cancel: threading.Event | None = None) -> Path:
    """The package's tarball in cache_dir: a tarball there was checked when it arrived."""
    tarball = cache_dir / tarball_name(spec)
    if tarball.is_file():
        return tarball
    dist = package_dist(spec)
    partial = download.fetch(dist["tarball"], tarball, spec, on_progress, cancel)
    if not matches_integrity(partial, dist["integrity"]):
        partial.unlink()
        raise ScribbleSegError("EngineInstallFailed", f"The download of {spec} does not match "
                               "the registry's integrity hash; it was deleted. Try again.")
    partial.replace(tarball)
    return tarball


def matches_integrity(path: Path, integrity: str) -> bool:
    """Whether the file matches one of the SRI hashes ("sha512-..." or "sha1-...")."""
    for token in integrity.split():
        algorithm, _, expected = token.partition("-")
        if algorithm not in ("sha512", "sha384", "sha256", "sha1"):
            continue
        digest = hashlib.new(algorithm)
        with path.open("rb") as file:
            for block in iter(lambda: file.read(1 << 20), b""):
                digest.update(block)
        return base64.b64encode(digest.digest()).decode() == expected
    return False

