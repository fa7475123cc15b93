"""The subject model as a prior: the real ONNX model on real images, and its weighting."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest
from benchmark_data import benchmark

from scribbleseg import engine
from scribbleseg.bench.cases import load_cases
from scribbleseg.bench.metrics import iou
from scribbleseg.engine import prior

ROOT = Path(__file__).resolve().parents[1]
# A GrabCut case whose subject the model finds (IoU 0.99) and whose human scribbles alone miss
# much of it (the llama's fur matches the grass): the prior should make a visible difference.
CASE = "llama"


@pytest.fixture(scope="module")
def case() -> dict[str, np.ndarray]:
    """Image, ground truth and human scribbles of CASE."""
    [found] = [c for c in load_cases(benchmark("grabcut")) if c.name == CASE]
    positive, negative = found.scribbles()
    return {"image": found.image(), "truth": found.truth(), "positive": positive,
            "negative": negative}


@pytest.fixture(scope="module")
def prepared(subject_prior, case) -> engine.PreparedImage:
    """CASE prepared with the model: the model runs at most once for all tests that share it."""
    return engine.prepare(case["image"], prior_model=subject_prior)


def test_the_session_takes_and_gives_what_the_model_card_says(subject_prior):
    [model_input] = subject_prior.session.get_inputs()
    model_output = subject_prior.session.get_outputs()[0]
    assert (model_input.name, model_input.shape, model_input.type) == (
        "input", [1, 3, 1024, 1024], "tensor(float)")
    assert (model_output.name, model_output.shape, model_output.type) == (
        "output", [1, 1, 1024, 1024], "tensor(float)")
    assert subject_prior.provider in ("CPUExecutionProvider", "CUDAExecutionProvider")


def test_the_model_finds_the_subject_at_the_image_size(prepared, case):
    probability = prepared.prior_probability()
    assert probability.shape == prepared.working_shape == case["truth"].shape
    assert probability.dtype == np.float32
    assert probability.min() >= 0.0 and probability.max() <= 1.0
    assert iou(probability >= 0.5, case["truth"]) > 0.9


def test_the_models_float32_copy_sees_what_the_shipped_float16_model_sees(prepared):
    # On the CPU, prepared's model is the float32 copy (engine/float32.py).
    shipped = prior.SubjectPrior(prior.onnx_session(ROOT / "models" / prior.MODEL_FILE))
    difference = np.abs(shipped.predict(prepared.working) - prepared.prior_probability())
    assert difference.max() < 1e-3


def test_the_prior_improves_sparse_human_scribbles(prepared, case):
    weights_free = engine.prepare(case["image"], prior_model=None)
    strokes = (case["positive"], case["negative"])
    without = weights_free.segment(*strokes) >= 128
    with_prior = prepared.segment(*strokes) >= 128
    assert iou(with_prior, case["truth"]) > iou(without, case["truth"]) + 0.2
    assert iou(with_prior, case["truth"]) > 0.9


def test_the_prior_never_flips_a_stroked_pixel(prepared, case):
    # The human scribbles (which the model agrees with), plus a negative stroke across the
    # llama's body and a positive one on the grass: both contradict the model.
    positive, negative = case["positive"].copy(), case["negative"].copy()
    subject = prepared.prior_probability() > 0.9
    rows, columns = np.nonzero(subject)
    middle_row = int(np.median(rows))
    negative[middle_row - 1 : middle_row + 2, columns.min() : columns.max()] = True
    negative &= ~positive
    grass = (prepared.prior_probability() < 0.05) & ~negative
    grass_rows, grass_columns = np.nonzero(grass)
    positive[grass_rows[:40], grass_columns[:40]] = True

    alpha = prepared.segment(positive, negative)

    assert np.all(alpha[positive] == 255)
    assert np.all(alpha[negative] == 0)


def test_the_model_runs_once_per_prepared_image(subject_prior, case):
    runs_before = subject_prior.runs
    prepared = engine.prepare(case["image"], prior_model=subject_prior)
    prepared.segment(case["positive"], case["negative"])
    more_positive = case["positive"] | np.roll(case["positive"], 5, axis=1) & ~case["negative"]
    prepared.segment(more_positive, case["negative"])
    assert subject_prior.runs - runs_before == 1


def test_a_model_that_found_another_object_leaves_the_result_alone(prepared, case):
    # Strokes swapped: the user selects the background, which the model calls "not subject".
    strokes = (case["negative"], case["positive"])
    weights_free = engine.prepare(case["image"], prior_model=None)
    assert np.array_equal(prepared.segment(*strokes),
                          weights_free.segment(*strokes))


def blob_probability() -> np.ndarray:
    """A 60x80 prior that found a square subject at rows/columns 20..40."""
    probability = np.full((60, 80), 0.01, np.float32)
    probability[20:40, 20:40] = 0.99
    return probability


def strokes_at(*spots: tuple[int, int]) -> np.ndarray:
    marks = np.zeros((60, 80), bool)
    for row, column in spots:
        marks[row - 1 : row + 2, column - 1 : column + 2] = True
    return marks


def test_an_agreeing_prior_favours_its_subject():
    costs = prior.prior_unaries(blob_probability(), strokes_at((30, 30)), strokes_at((30, 60)))
    assert costs is not None
    object_cost, background_cost = costs
    assert object_cost[30, 25] < background_cost[30, 25]  # inside the subject: object is cheap
    assert object_cost[10, 70] > background_cost[10, 70]  # outside: background is cheap


def test_a_disagreeing_prior_does_not_count():
    probability = blob_probability()
    # The user strokes something the model calls background, and marks its subject as background.
    assert prior.prior_unaries(probability, strokes_at((30, 60)), strokes_at((30, 30))) is None
    # The model's subject holds the stroked object but also what one negative stroke rejects.
    assert prior.prior_unaries(
        probability, strokes_at((25, 25)), strokes_at((35, 35), (50, 70))
    ) is None
    # One positive stroke lies where the model saw only background.
    assert prior.prior_unaries(
        probability, strokes_at((25, 25), (10, 70)), strokes_at((50, 70))
    ) is None
    # No positive strokes: nothing to agree with.
    assert prior.prior_unaries(probability, strokes_at(), strokes_at((50, 70))) is None


def test_an_empty_models_folder_means_the_weights_free_engine(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("SCRIBBLESEG_MODELS", str(tmp_path))
    with caplog.at_level(logging.INFO, logger=prior.__name__):
        assert prior.load_prior() is None
    assert "weights-free engine" in caplog.text
    assert "build.py models" in caplog.text


def test_a_partial_model_file_is_refused_with_a_clear_reason(tmp_path, monkeypatch, caplog):
    (tmp_path / prior.MODEL_FILE).write_bytes(b"\0" * 1000)
    monkeypatch.setenv("SCRIBBLESEG_MODELS", str(tmp_path))
    with caplog.at_level(logging.WARNING, logger=prior.__name__):
        assert prior.load_prior() is None
    assert f"has 1000 bytes, not {prior.MODEL_SIZE}" in caplog.text


def test_a_damaged_model_of_the_right_size_is_refused(tmp_path, monkeypatch, caplog):
    with (tmp_path / prior.MODEL_FILE).open("wb") as damaged:
        damaged.truncate(prior.MODEL_SIZE)  # the right size, all zeros
    monkeypatch.setenv("SCRIBBLESEG_MODELS", str(tmp_path))
    with caplog.at_level(logging.WARNING, logger=prior.__name__):
        assert prior.load_prior() is None
    assert "could not be loaded" in caplog.text


def test_without_the_variable_the_projects_models_folder_is_used(subject_prior, monkeypatch):
    monkeypatch.delenv("SCRIBBLESEG_MODELS", raising=False)
    assert prior.models_dir() == ROOT / "models"
    assert prior.load_prior() is not None


def test_the_manifest_and_the_engine_agree_on_the_model_file():
    [entry] = json.loads((ROOT / "manifest.json").read_text(encoding="utf-8"))["models"]
    assert (entry["file"], entry["size"]) == (prior.MODEL_FILE, prior.MODEL_SIZE)
