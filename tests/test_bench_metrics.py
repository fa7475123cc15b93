"""Scores of the benchmark protocol on hand-made arrays."""

import numpy as np
import pytest

from scribbleseg.bench.metrics import NOS_CAP, binarise, interactions_to_reach, iou, iou_after


def test_iou_ignores_the_uncertain_band() -> None:
    truth = np.array([[255, 255, 128, 0]], dtype=np.uint8)
    # The uncertain pixel is selected here, and would halve the IoU if it were scored.
    result = np.array([[True, True, True, False]])
    assert iou(result, truth) == 1.0
    assert iou(np.array([[True, False, False, True]]), truth) == pytest.approx(1 / 3)


def test_iou_of_an_empty_result_is_zero() -> None:
    truth = np.array([[255, 0], [0, 0]], dtype=np.uint8)
    assert iou(np.zeros((2, 2), dtype=bool), truth) == 0.0


def test_alpha_binarises_at_128() -> None:
    alpha = np.array([0, 127, 128, 255], dtype=np.uint8)
    assert binarise(alpha).tolist() == [False, False, True, True]


def test_nos_is_the_first_interaction_reaching_the_threshold() -> None:
    ious = [0.5, 0.86, 0.84, 0.91]
    assert interactions_to_reach(ious, 0.85) == 2
    assert interactions_to_reach(ious, 0.90) == 4


def test_nos_counts_the_cap_when_never_reached() -> None:
    assert interactions_to_reach([0.5] * NOS_CAP, 0.90) == 20
    # A value reached only after the cap does not count.
    assert interactions_to_reach([0.5] * NOS_CAP + [0.95], 0.90) == 20


def test_a_run_that_stopped_early_keeps_its_last_iou() -> None:
    assert iou_after([0.7, 1.0], 5) == 1.0
    assert iou_after([0.7, 0.8, 0.9], 1) == 0.7
