"""`python -m scribbleseg_training`: cache features, train, export both ONNX files and the card.

Deterministic for a given seed, thread count and PyTorch build.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from dataclasses import asdict
from pathlib import Path

import torch

from scribbleseg.engine.scribble_model import DECODER_FILE, ENCODER_FILE, GRID, SIDE
from scribbleseg_training.cache import build_cache
from scribbleseg_training.encoder import WEIGHTS_PACKAGE, pretrained_encoder
from scribbleseg_training.export import export_decoder, export_encoder, write_card
from scribbleseg_training.train import TrainSettings, train

ROOT = Path(__file__).resolve().parents[3]
DEFAULT_CASES = 30000  # two per training photo, then crops of them (samples.make_case)
DEFAULT_VALIDATION = 160  # held-out cases, from photos no training case uses


def parse(arguments: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m scribbleseg_training", description=__doc__)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared/training/duts_tr")
    parser.add_argument("--out", type=Path, default=ROOT / "models")
    parser.add_argument("--cache", type=Path, default=ROOT / ".cache/features")
    parser.add_argument("--cases", type=int, default=DEFAULT_CASES)
    parser.add_argument("--validation", type=int, default=DEFAULT_VALIDATION)
    parser.add_argument("--steps", type=int, default=TrainSettings.steps)
    parser.add_argument("--seed", type=int, default=TrainSettings.seed)
    parser.add_argument("--threads", type=int, default=2)
    return parser.parse_args(arguments)


def main(arguments: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if arguments is None else arguments)
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    args.out.mkdir(parents=True, exist_ok=True)
    differences = {ENCODER_FILE: export_encoder(pretrained_encoder(), args.out)}
    started = time.perf_counter()
    cache = build_cache(args.data, args.cache, args.cases, args.validation, args.seed,
                        args.out / ENCODER_FILE)
    cache_seconds = time.perf_counter() - started
    settings = TrainSettings(steps=args.steps, seed=args.seed)
    decoder, history = train(cache, settings)
    differences[DECODER_FILE] = export_decoder(decoder.eval(), args.out)
    card = write_card(args.out, {
        **asdict(settings), "cases": args.cases, "validation_cases": args.validation,
        "threads": args.threads, "side": SIDE,
        "grid": GRID, "weights": WEIGHTS_PACKAGE, "torch": torch.__version__,
        "losses": history.losses, "validation": history.validation, "onnx": differences,
        "seconds": history.seconds, "cache_seconds": cache_seconds,
        "command": "PYTHONPATH=plugin/training python -m scribbleseg_training "
        + shlex.join(sys.argv[1:] if arguments is None else arguments),
    })
    print(f"wrote {card}: {history.validation}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
