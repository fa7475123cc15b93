"""`scribbleseg` command line: one subcommand a module in scribbleseg.commands."""

from __future__ import annotations

import argparse
import importlib
import sys

from scribbleseg_editor.errors import ScribbleSegError

# subcommand -> (module in scribbleseg.commands, one-line help)
SUBCOMMANDS = {
    "segment": ("segment", "cut an object out of an image from scribbles"),
    "bench": ("bench", "measure quality and speed on a benchmark folder"),
    "serve": ("serve", "run the engine host (desktop) or the cloud-compatible API server"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="scribbleseg", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        module = importlib.import_module(f"scribbleseg.commands.{module_name}")
        module.add_arguments(sub.add_parser(name, help=help_text, description=help_text))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    module = importlib.import_module(f"scribbleseg.commands.{SUBCOMMANDS[args.command][0]}")
    try:
        return module.run(args)
    except ScribbleSegError as error:
        print(f"scribbleseg: {error.code}: {error.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
