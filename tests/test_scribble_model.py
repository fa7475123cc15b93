"""The scribble model in the engine: the committed files, their card, and what they change."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from benchmark_data import benchmark

from scribbleseg import engine
from scribbleseg.bench.cases import load_cases
from scribbleseg.bench.metrics import binarise, iou
from scribbleseg.engine import scribble_model

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "models"
CARD = MODELS / "scribble-model.md"
# Dev cases (first robot interaction; measured, never trained on) and the IoU each must reach
# with the model alone: 0.05 below what the committed decoder reached (0.796, 0.802, 0.916,
# 0.860, 0.938, 0.820), rounded down, so a decoder that is broken or loaded wrongly fails.
DEV_CASES = {
    "airplane00_000000281693": 0.74,
    "bird00_000000357060": 0.75,
    "kite00_000000532481": 0.86,
    "snowboard00_000000387916": 0.81,
    "106024": 0.88,
    "304074": 0.77,
}


def card_checksums() -> dict[str, str]:
    """{file: SHA-256} from the card's `sha256 NAME HEX` lines."""
    lines = (line.split() for line in CARD.read_text().splitlines())
    return {words[1]: words[2] for words in lines if len(words) == 3 and words[0] == "sha256"}


def test_the_card_names_both_files_with_their_sha256():
    checksums = card_checksums()
    assert set(checksums) == {scribble_model.ENCODER_FILE, scribble_model.DECODER_FILE}
    for name, expected in checksums.items():
        assert hashlib.sha256((MODELS / name).read_bytes()).hexdigest() == expected, name


def test_the_decoder_is_small_and_the_card_tells_how_to_retrain():
    assert (MODELS / scribble_model.DECODER_FILE).stat().st_size < 10_000_000
    text = CARD.read_text()
    assert "python -m scribbleseg_training" in text and "Licence" in text


@pytest.fixture(scope="module")
def model() -> scribble_model.ScribbleModel:
    loaded = scribble_model.load_scribble_model(MODELS)
    assert loaded is not None
    return loaded


def test_without_the_files_the_engine_runs_without_the_model(tmp_path: Path):
    assert scribble_model.load_scribble_model(tmp_path) is None


class CountingScribbleModel:
    """Stands in for the ONNX sessions: counts the encoder's runs, gives P = 0.5 everywhere."""

    def __init__(self) -> None:
        self.runs = 0

    def features(self, image: np.ndarray) -> dict[str, np.ndarray]:
        self.runs += 1
        return {}

    def probability(self, features, positive, negative, mask) -> np.ndarray:
        return np.full(positive.shape, 0.5, np.float32)


def test_the_encoder_runs_once_per_prepared_image_with_or_without_a_subject_prior():
    image = np.random.default_rng(1).integers(0, 256, (80, 80, 3), dtype=np.uint8)
    positive = np.zeros((80, 80), bool)
    positive[30:50, 38:42] = True
    model = CountingScribbleModel()
    prepared = engine.prepare(image, None, scribble_model=model)
    assert model.runs == 0  # prepare stays cheap: the encoder runs on first use
    for _ in range(3):
        prepared.segment(positive)
    assert model.runs == 1

    class NoPrior:  # a subject prior that never agrees: the scribble model still counts
        def predict(self, working: np.ndarray) -> np.ndarray:
            return np.zeros(working.shape[:2], np.float32)

    beside_prior = engine.prepare(image, NoPrior(), scribble_model=model)
    for _ in range(2):
        beside_prior.segment(positive)
    assert model.runs == 2


def test_a_damaged_file_is_refused_and_the_engine_goes_on(tmp_path: Path):
    for name in (scribble_model.ENCODER_FILE, scribble_model.DECODER_FILE):
        (tmp_path / name).write_bytes(b"not a model")
    assert scribble_model.load_scribble_model(tmp_path) is None


def test_the_model_gives_a_probability_the_size_of_the_working_image(model):
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (120, 90, 3), dtype=np.uint8)
    positive = np.zeros((120, 90), bool)
    positive[50:70, 40:50] = True
    probability = model.probability(model.features(image), positive, np.zeros_like(positive), None)
    assert probability.shape == (120, 90) and probability.dtype == np.float32
    assert probability.min() >= 0.0 and probability.max() <= 1.0


# A GrabCut dev case where first strokes drawn as taps, one on the object and one beside it,
# select it with both models installed (IoU 0.92; 0.77 before the models counted double where
# only the border tells the background: pipeline.BOTH_MODELS_FROM_BORDER).
TAP_CASE, TAP_FLOOR = "106024", 0.87


def dev_cases() -> list:
    found = {}
    for dataset in ("grabcut", "coco_mval"):
        found |= {case.name: case for case in load_cases(benchmark(dataset))
                  if case.name in DEV_CASES}
    return [found[name] for name in DEV_CASES]


def first_interaction(case, model, prior_model=None, shape: str = "whole") -> tuple[float, bool]:
    """IoU after the robot's first strokes (drawn in robot.FIRST_STROKE_SHAPES[shape]), and
    whether every stroked pixel kept its label."""
    from scribbleseg.bench.robot import FIRST_STROKE_SHAPES, first_strokes  # dev extra: skimage

    truth = case.truth()
    positive, negative = (
        FIRST_STROKE_SHAPES[shape](stroke).pixels for stroke in first_strokes(truth)
    )
    prepared = engine.prepare(case.image(), prior_model, scribble_model=model)
    alpha = prepared.segment(positive, negative)
    kept = bool((alpha[positive] == 255).all() and (alpha[negative & ~positive] == 0).all())
    return iou(binarise(alpha), truth), kept


@pytest.fixture(scope="module")
def dev_scores(model) -> dict[str, tuple[float, bool, float]]:
    """{case: (IoU with the model, every stroke kept, IoU without it)}."""
    pytest.importorskip("skimage", reason="the benchmark robot needs scikit-image (dev extra)")
    return {
        case.name: (*first_interaction(case, model), first_interaction(case, None)[0])
        for case in dev_cases()
    }


def test_with_the_model_every_stroke_keeps_its_label_and_each_case_clears_its_floor(dev_scores):
    for name, (score, kept, _) in dev_scores.items():
        assert kept, name
        assert score >= DEV_CASES[name], (name, score)


@pytest.mark.xfail(strict=True, reason="alone, the committed decoder does not "
                   "beat the engine without it on these first interactions yet (beside the prior "
                   "it helps): README 'The scribble model'")
def test_the_model_beats_the_engine_without_it(dev_scores):
    with_model = [score for score, _, _ in dev_scores.values()]
    without = [score for _, _, score in dev_scores.values()]
    assert np.mean(with_model) >= np.mean(without) + 0.01, (with_model, without)


def test_with_both_models_a_tap_on_the_object_and_one_beside_it_select_it(model, subject_prior):
    pytest.importorskip("skimage", reason="the benchmark robot needs scikit-image (dev extra)")
    [case] = [case for case in dev_cases() if case.name == TAP_CASE]
    score, _ = first_interaction(case, model, subject_prior, "tap")
    assert score >= TAP_FLOOR
