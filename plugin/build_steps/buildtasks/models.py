"""`build.py models`: build and verify models/ from the registry packages named in manifest.json.

The subject model ships in the npm package @imgly/background-removal-data as 4 MiB chunks listed
in its dist/resources.json. This step fetches the package with `npm pack` (cached in
models/.cache), joins the chunks of each model in manifest.json's "models" list and checks the
result's size and SHA-256 before it lands in models/.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import tarfile
import zlib
from pathlib import Path

from buildtasks.layout import load_manifest

WITHOUT_MODEL = (
    "The engine keeps working without it (colour-only, weights-free). To add the model later, "
    "install Node.js with npm (https://nodejs.org), make sure registry.npmjs.org is reachable and "
    "run `python3 build.py models` again; or copy a verified model file into models/ "
    "(or the folder named by SCRIBBLESEG_MODELS)."
)


def add_arguments(parser: argparse.ArgumentParser, command: str) -> None:
    parser.description = "Build models/ from the npm packages in manifest.json and verify them."
    parser.add_argument("--force", action="store_true",
                        help="rebuild the model files even if they are already verified")
    parser.add_argument("--models-dir", type=Path, default=None,
                        help="where to write the models (default: models/ in the project)")


def run(args: argparse.Namespace, root: Path) -> int:
    models_dir = args.models_dir or root / "models"
    cache_dir = root / "models" / ".cache"
    entries = load_manifest(root)["models"]
    for entry in entries:
        target = models_dir / entry["file"]
        if not args.force and is_verified(target, entry):
            say(f"{entry['file']}: up to date")
            continue
        try:
            tarball = fetch_package(entry["package"], cache_dir)
            say(f"{entry['file']}: joining {entry['resource']} from {tarball.name}")
            join_resource(tarball, entry["resource"], target)
        except BuildError as error:
            say(f"{entry['file']}: {error}")
            say(WITHOUT_MODEL)
            return 1
        if not is_verified(target, entry):
            target.unlink()
            say(f"{entry['file']}: size or SHA-256 differs from manifest.json; removed it. "
                f"Delete {cache_dir} and run again; if it persists the package changed upstream.")
            return 1
        say(f"{entry['file']}: verified ({entry['size']:,} bytes, SHA-256 {entry['sha256']})")
    return 0


class BuildError(Exception):
    """A step that could not complete, with a message saying why."""


def say(message: str) -> None:
    print(f"build.py models: {message}", flush=True)


def is_verified(path: Path, entry: dict) -> bool:
    return (path.is_file() and path.stat().st_size == entry["size"]
            and sha256_of(path) == entry["sha256"])


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch_package(spec: str, cache_dir: Path) -> Path:
    """The package's tarball, from the cache or `npm pack` (npm checks the registry's hash)."""
    name, version = spec.rsplit("@", 1)
    tarball = cache_dir / f"{name.lstrip('@').replace('/', '-')}-{version}.tgz"
    if tarball.is_file():
        return tarball
    npm = shutil.which("npm")
    if npm is None:
        raise BuildError(f"npm was not found on PATH, so {spec} cannot be fetched.")
    cache_dir.mkdir(parents=True, exist_ok=True)
    say(f"fetching {spec} with npm pack (about 140 MB, once; cached in {cache_dir})")
    result = subprocess.run([npm, "pack", spec, "--pack-destination", str(cache_dir),
                             "--loglevel=error"], stdout=subprocess.DEVNULL)
    if result.returncode != 0 or not tarball.is_file():
        raise BuildError(f"npm pack {spec} failed (npm's message is above); "
                         "is the npm registry reachable?")
    return tarball


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
        raise BuildError(f"{tarball} is damaged ({error}); delete it and run again") from error
    if chunks:
        raise BuildError(f"{len(chunks)} chunks of {resource} are missing from {tarball.name}")
    partial.replace(target)


def read_chunk_list(tarball: Path, resource: str) -> list[dict]:
    with tarfile.open(tarball, "r|gz") as package:
        for member in package:
            if member.name == "package/dist/resources.json":
                listing = json.load(package.extractfile(member))
                break
        else:
            raise BuildError(f"{tarball.name} has no dist/resources.json")
    if resource not in listing:
        raise BuildError(f"the package's resources.json has no {resource}")
    return listing[resource]["chunks"]
