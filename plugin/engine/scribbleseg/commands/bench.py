"""`scribbleseg bench`: the benchmark protocol of ../shared/benchmarks/README.md, or a load test.

Quality (human scribbles, scribble robot: mIoU@1/3/5, NoS@85/90), speed per interaction at native
size and upscaled, and peak memory at the largest upscaled size; with the subject model and
without it side by side when the model is installed. `--load` load-tests the cloud API server.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from scribbleseg_editor.errors import ScribbleSegError
from scribbleseg_editor.options import POSTPROCESS_CHOICES

# The user's choices, and "none": the engine's hard edge (no refinement), for measuring.
BENCH_POSTPROCESS = {**{choice: choice for choice in POSTPROCESS_CHOICES}, "none": None}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "data_dir", type=Path, nargs="?",
        help="a benchmark folder (images/, masks/, maybe scribbles/) or a folder of them",
    )
    parser.add_argument("--interactions", type=int, default=5,
                        help="robot interactions for every case (default 5; cases below IoU 0.90"
                             " go on up to 20 for NoS)")
    parser.add_argument("--positive-start", action="store_true",
                        help="the robot starts with its positive stroke alone, as people often "
                             "do (the protocol adds a negative one)")
    shapes = parser.add_mutually_exclusive_group()
    shapes.add_argument("--dash-start", action="store_const", dest="first_stroke_shape",
                        const="dash", default="whole",
                        help="the robot's first strokes are short dashes around their middles, "
                             "as people who tap rather than trace draw")
    shapes.add_argument("--tap-start", action="store_const", dest="first_stroke_shape",
                        const="tap",
                        help="the robot's first strokes are taps, a round dab at their middles "
                             "(robot.tap), as people who click rather than draw make")
    parser.add_argument("--limit", type=int,
                        help="use this many cases of each folder, spread evenly over them")
    parser.add_argument("--json", type=Path, metavar="FILE", help="write every number here")
    parser.add_argument("--no-prior", action="store_true",
                        help="do not measure with the subject model, even when installed")
    parser.add_argument("--no-scribble-model", action="store_true",
                        help="do not measure with the scribble model, even when installed")
    parser.add_argument("--postprocess", choices=list(BENCH_POSTPROCESS), default="maskrefine",
                        help="the engine's edge refinement (default maskrefine, as for users)")
    parser.add_argument("--no-feather", action="store_true", help="no edge feathering")
    parser.add_argument("--speed-cases", type=int, default=3,
                        help="cases timed upscaled (default 3; 0 skips upscaled speed and memory)")
    parser.add_argument("--speed-interactions", type=int, default=3,
                        help="robot interactions on each upscaled case (default 3)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[2048, 4096], metavar="SIDE",
                        help="upscaled square sides (default 2048 4096); memory at the largest")
    load = parser.add_argument_group("load test (instead of a benchmark folder)")
    load.add_argument("--load", action="store_true",
                      help="load-test the cloud API server (scribbleseg serve)")
    load.add_argument("--clients", type=int, default=16, help="concurrent clients (default 16)")
    load.add_argument("--seconds", type=float, default=60, help="test length (default 60)")
    load.add_argument("--endpoint", metavar="URL",
                      help="call these running servers (http://, e.g. a load balancer) instead "
                           "of starting one; AccessKey from ALIBABA_CLOUD_ACCESS_KEY_ID/_SECRET")


def run(args: argparse.Namespace) -> int:
    if args.load:
        return run_load_test(args)
    if args.data_dir is None:
        raise ScribbleSegError("InvalidParameter", "give a benchmark folder (or --load)")
    if min(args.interactions, args.speed_interactions, *args.sizes) < 1 or (
        args.limit is not None and args.limit < 1
    ):
        raise ScribbleSegError(
            "InvalidParameter", "--interactions, --speed-interactions, --sizes and --limit must be "
            "1 or more"
        )
    try:
        # Imported here: the robot needs scikit-image (the dev extra), the other commands do not.
        from scribbleseg.bench.report import format_report
        from scribbleseg.bench.runner import BenchOptions, run_benchmark
    except ImportError as error:
        print(f"scribbleseg bench needs the dev extra (pip install -e '.[dev]'): {error}",
              file=sys.stderr)
        return 2
    options = BenchOptions(
        interactions=args.interactions,
        positive_start=args.positive_start,
        first_stroke_shape=args.first_stroke_shape,
        limit=args.limit,
        use_prior=not args.no_prior,
        use_scribble_model=not args.no_scribble_model,
        postprocess=BENCH_POSTPROCESS[args.postprocess],
        feather=not args.no_feather,
        speed_cases=args.speed_cases,
        speed_interactions=args.speed_interactions,
        sizes=tuple(sorted(set(args.sizes))),
    )
    try:
        report = run_benchmark(args.data_dir, options)
    except FileNotFoundError as error:
        raise ScribbleSegError("InvalidParameter", str(error)) from error
    print(format_report(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


def run_load_test(args: argparse.Namespace) -> int:
    from scribbleseg.bench.load import run_load_test as load_test
    from scribbleseg.bench.report import format_table

    results = load_test(clients=args.clients, seconds=args.seconds, endpoint=args.endpoint)
    rows = [
        [key, f"{value:.3f}" if isinstance(value, float) else str(value)]
        for key, value in results.items()
    ]
    print("\n".join(format_table(["load test", "value"], rows)))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0
