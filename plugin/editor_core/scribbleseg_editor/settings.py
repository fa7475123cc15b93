"""User settings shared by the editors: scribble layer names and the last-used run options.

Stored as JSON in `hostfile.config_dir() / "settings.json"`:
    {"layers": {"positive": ["Positive", "Plus"], "negative": ["Negative"]},
     "last_run": {"output": "layer_mask", "engine": "local", "endpoint": "",
                  "postprocess": "maskrefine", "feather": true}}
Anything missing or invalid falls back to manifest.json's defaults.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from . import hostfile
from .options import SegmentOptions

SETTINGS_NAME = "settings.json"

# Choice values with the labels the editors' dialogs show.
OUTPUTS = {"layer_mask": "Layer mask", "new_layer": "New layer (cut-out)",
           "selection": "Selection"}
ENGINES = {"local": "Local (this computer)", "cloud": "Cloud endpoint"}
POSTPROCESSES = {"maskrefine": "Finest edges (maskrefine)",
                 "edgerefine": "Stable edges (edgerefine)"}


@dataclasses.dataclass(frozen=True)
class RunOptions:
    """What one segmentation run does with the strokes."""

    output: str = "layer_mask"
    engine: str = "local"
    endpoint: str = ""
    postprocess: str = "maskrefine"
    feather: bool = True

    def segment_options(self) -> SegmentOptions:
        return SegmentOptions(postprocess=self.postprocess, feather=self.feather)


def settings_path() -> Path:
    return hostfile.config_dir() / SETTINGS_NAME


def load_settings() -> dict:
    try:
        data = json.loads(settings_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def default_options(manifest: dict) -> RunOptions:
    engine = manifest.get("engine", {})
    return _valid_options({"output": engine.get("default_output"),
                           "postprocess": engine.get("default_postprocess"),
                           "feather": engine.get("default_feather")}, RunOptions())


def last_options(manifest: dict) -> RunOptions:
    """The options of the last run (for Segment with Last Values), else the manifest's defaults."""
    saved = load_settings().get("last_run")
    defaults = default_options(manifest)
    return _valid_options(saved, defaults) if isinstance(saved, dict) else defaults


def save_last_options(options: RunOptions) -> None:
    settings = load_settings()
    settings["last_run"] = dataclasses.asdict(options)
    hostfile.write_json(settings_path(), settings)


def scribble_layer_names(manifest: dict) -> dict[str, list[str]]:
    """{"positive": [...], "negative": [...]}: names that mark a scribble layer (any case)."""
    names = {role: [name] for role, name in manifest["layers"].items()}
    configured = load_settings().get("layers")
    if isinstance(configured, dict):
        for role in names:
            value = configured.get(role)
            if isinstance(value, str):
                value = [value]
            if isinstance(value, list) and value and all(isinstance(n, str) for n in value):
                names[role] = value
    return names


def _valid_options(values: dict, fallback: RunOptions) -> RunOptions:
    """RunOptions from `values`, keeping the fallback's value for each missing or invalid field."""
    checks = {"output": lambda v: v in OUTPUTS, "engine": lambda v: v in ENGINES,
              "endpoint": lambda v: isinstance(v, str),
              "postprocess": lambda v: v in POSTPROCESSES,
              "feather": lambda v: isinstance(v, bool)}
    chosen = {field: values[field] for field, valid in checks.items()
              if field in values and valid(values[field])}
    return dataclasses.replace(fallback, **chosen)

