"""Our stroke-conditioned scribble model on ONNX Runtime (issue 15): P(object) from the strokes.

Two ONNX files, the Segment Anything split, written by `python -m scribbleseg_training` (see
models/scribble-model.md):

    encoder  image (1x3xSIDExSIDE, the working image stretched to a square)  -> features
             (the frozen EfficientNet-Lite0 trunk at 1/8, 1/16 and 1/32), run once per image
    decoder  features + the strokes and current mask on a GRIDxGRID grid      -> object logits
             on that grid, run for every interaction

Everything the two sides must agree on (sizes, normalisation, the stroke encoding) is here; the
training package imports it, so the engine and the training cannot drift apart.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

LOG = logging.getLogger(__name__)

ENCODER_FILE = "scribble-encoder.onnx"
DECODER_FILE = "scribble-decoder.onnx"
SIDE = 384  # the encoder's square input
GRID = 96  # the decoder's input and output grid: SIDE / 4
FEATURE_NAMES = ("f8", "f16", "f32")  # encoder outputs, decoder inputs
FEATURE_CHANNELS = (40, 112, 192)
FEATURE_STRIDES = (8, 16, 32)  # each feature map is SIDE / stride on a side
PIXEL_MEAN, PIXEL_SCALE = 127.0, 128.0  # EfficientNet-Lite's input normalisation
# Stroke channels: positive, negative, their distance maps exp(-d / DISTANCE_SCALE) in grid
# cells, the current mask, and a plane of ones when there is a current mask.
DISTANCE_SCALE = 6.0
STROKE_CHANNELS = 6


def image_tensor(image: np.ndarray) -> np.ndarray:
    """HxWx3 uint8 -> 1x3xSIDExSIDE float32, the encoder's input."""
    square = Image.fromarray(image).resize((SIDE, SIDE), Image.Resampling.BILINEAR)
    pixels = (np.asarray(square, np.float32) - PIXEL_MEAN) / PIXEL_SCALE
    return np.ascontiguousarray(pixels.transpose(2, 0, 1)[None])


def grid_marks(marks: np.ndarray) -> np.ndarray:
    """HxW bool -> GRIDxGRID bool, set where any pixel of the cell is (thin strokes survive)."""
    return grid_fraction(marks) > 0.0


def grid_fraction(marks: np.ndarray) -> np.ndarray:
    """HxW bool or [0, 1] float -> GRIDxGRID float32, the set fraction of each cell."""
    as_float = Image.fromarray(np.asarray(marks, np.float32))
    return np.asarray(as_float.resize((GRID, GRID), Image.Resampling.BOX), np.float32)


def stroke_channels(
    positive: np.ndarray, negative: np.ndarray, mask: np.ndarray | None
) -> np.ndarray:
    """GRIDxGRID positive, negative (bool) and mask (float or None) -> STROKE_CHANNELS x GRID x
    GRID float32, the decoder's stroke input."""
    no_mask = mask is None
    return np.stack([
        positive.astype(np.float32),
        negative.astype(np.float32),
        _nearness(positive),
        _nearness(negative),
        np.zeros(positive.shape, np.float32) if no_mask else mask.astype(np.float32),
        np.full(positive.shape, 0.0 if no_mask else 1.0, np.float32),
    ])


def _nearness(strokes: np.ndarray) -> np.ndarray:
    """exp(-distance to the nearest stroke cell / DISTANCE_SCALE); zeros without strokes."""
    if not strokes.any():
        return np.zeros(strokes.shape, np.float32)
    distance = ndimage.distance_transform_edt(~strokes)
    return np.exp(-distance / DISTANCE_SCALE).astype(np.float32)


def encoder_features(encoder: object, image: np.ndarray) -> dict[str, np.ndarray]:
    """The encoder (an onnxruntime.InferenceSession)'s outputs by name for an HxWx3 uint8 image
    (stretched to SIDE)."""
    outputs = encoder.run(list(FEATURE_NAMES), {"image": image_tensor(image)})
    return dict(zip(FEATURE_NAMES, outputs, strict=True))


def sigmoid(logits: np.ndarray) -> np.ndarray:
    return (1.0 / (1.0 + np.exp(-logits))).astype(np.float32)


def upscale_probability(probability: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """GRIDxGRID probability -> HxW float32, bilinear."""
    resized = Image.fromarray(probability.astype(np.float32)).resize(
        (shape[1], shape[0]), Image.Resampling.BILINEAR
    )
    return np.clip(np.asarray(resized, np.float32), 0.0, 1.0)


@dataclass
class ScribbleModel:
    """The two ONNX Runtime sessions; `features` once per image, `probability` per interaction."""

    encoder: object  # onnxruntime.InferenceSession
    decoder: object

    @property
    def provider(self) -> str:
        return self.encoder.get_providers()[0]

    def features(self, image: np.ndarray) -> dict[str, np.ndarray]:
        """HxWx3 uint8 (the working image) -> the encoder's outputs by name."""
        return encoder_features(self.encoder, image)

    def probability(
        self,
        features: dict[str, np.ndarray],
        positive: np.ndarray,
        negative: np.ndarray,
        mask: np.ndarray | None,
    ) -> np.ndarray:
        """Working-size strokes (bool) and mask (fraction or None) -> working-size P(object)."""
        channels = stroke_channels(
            grid_marks(positive),
            grid_marks(negative),
            None if mask is None else grid_fraction(mask),
        )
        logits = self.decoder.run(["logits"], {**features, "strokes": channels[None]})[0]
        return upscale_probability(sigmoid(logits[0, 0]), positive.shape)


def load_scribble_model(directory: Path) -> ScribbleModel | None:
    """Both files from `directory`, or None (the engine goes on without them)."""
    paths = [directory / ENCODER_FILE, directory / DECODER_FILE]
    missing = [path.name for path in paths if not path.is_file()]
    if missing:
        LOG.info("no scribble model in %s (%s missing): engine without it", directory,
                 ", ".join(missing))
        return None
    from scribbleseg.engine.prior import onnx_session  # one place for the session options

    try:
        encoder, decoder = (onnx_session(path) for path in paths)
    except Exception as error:  # ONNX Runtime raises several types of its own for a bad file
        LOG.warning("the scribble model in %s could not be loaded (%s): engine without it",
                    directory, error)
        return None
    return ScribbleModel(encoder, decoder)


# The decoder's term in the energy, like the prior's: STRENGTH * -log P, P kept off 0 and 1.
STRENGTH = 1.0  # measured on dev cases with the prior beside it: 1 > 0.5 on COCO-MVal
# Where the colour models know the background only from the image border (no mask, next to no
# negative strokes: solver.border_is_background) the model counts double. Measured with the
# prior beside it: a positive stroke alone rose from mIoU 0.68 to 0.76 on 40 COCO-MVal cases and
# from 0.92 to 0.94 on GrabCut, where 2 with negative strokes too cost its human scribbles 2
# points.
STRENGTH_FROM_BORDER = 2.0
PROBABILITY_FLOOR = 0.02


def scribble_unaries(
    probability: np.ndarray, border_is_background: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """(object cost, background cost) per pixel from the decoder's P(object);
    border_is_background: solver.border_is_background, nothing else tells the background."""
    strength = STRENGTH_FROM_BORDER if border_is_background else STRENGTH
    clipped = np.clip(probability, PROBABILITY_FLOOR, 1.0 - PROBABILITY_FLOOR)
    return (
        (-strength * np.log(clipped)).astype(np.float32),
        (-strength * np.log1p(-clipped)).astype(np.float32),
    )
