"""The scribble robot: strokes where the protocol says, on hand-made and real ground truth."""


import numpy as np
import pytest
from benchmark_data import BENCHMARKS
from scipy import ndimage

from scribbleseg.bench.cases import load_cases
from scribbleseg.bench.robot import (
    Stroke,
    dash,
    erosion_radius,
    first_strokes,
    next_stroke,
    tap,
)


def disc_truth(size: int = 120, radius: int = 30) -> np.ndarray:
    """A white disc on black with a 2 px uncertain band around its edge."""
    rows, columns = np.mgrid[:size, :size]
    distance = np.hypot(rows - size / 2, columns - size / 2)
    truth = np.zeros((size, size), dtype=np.uint8)
    truth[distance <= radius + 2] = 128
    truth[distance <= radius] = 255
    return truth


def is_one_piece(mask: np.ndarray) -> bool:
    return ndimage.label(mask, structure=np.ones((3, 3)))[1] == 1


def test_erosion_radius_follows_the_protocol() -> None:
    assert erosion_radius(400) == pytest.approx(1.5)
    assert erosion_radius(10**6) == 16


def test_first_strokes_lie_deep_inside_the_object_and_around_it() -> None:
    truth = disc_truth()
    positive, negative = first_strokes(truth)
    assert positive.positive and not negative.positive
    assert positive.pixels.any() and np.all(truth[positive.pixels] == 255)
    assert negative.pixels.any() and np.all(truth[negative.pixels] == 0)
    assert is_one_piece(positive.pixels) and is_one_piece(negative.pixels)
    # The negative stroke is a ring: it surrounds the object, so the object's centre cannot
    # reach the image border without crossing it.
    outside_the_stroke = ndimage.label(~negative.pixels)[0]
    assert outside_the_stroke[60, 60] != outside_the_stroke[0, 0]


def test_strokes_are_three_pixels_wide() -> None:
    truth = np.zeros((60, 200), dtype=np.uint8)
    truth[10:50, 20:180] = 255  # a long bar: its skeleton is a horizontal line
    positive, _ = first_strokes(truth)
    column = positive.pixels[:, 100]
    assert np.count_nonzero(column) == 3


def test_the_robot_corrects_the_largest_missed_region_with_a_positive_stroke() -> None:
    truth = np.zeros((100, 100), dtype=np.uint8)
    truth[10:40, 10:40] = 255  # small part, missed
    truth[50:95, 50:95] = 255  # large part, also missed
    result = np.zeros_like(truth, dtype=bool)
    stroke = next_stroke(truth, result)
    assert stroke is not None and stroke.positive
    assert stroke.pixels.any() and np.all(truth[50:95, 50:95][stroke.pixels[50:95, 50:95]] == 255)
    assert not stroke.pixels[:50, :50].any()


def test_the_robot_removes_a_wrong_region_larger_than_the_missed_one() -> None:
    truth = np.zeros((100, 100), dtype=np.uint8)
    truth[10:60, 10:60] = 255
    result = truth == 255
    result[10:14, 10:14] = False  # 16 missed pixels
    result[70:95, 70:95] = True  # 625 wrong pixels
    stroke = next_stroke(truth, result)
    assert stroke is not None and not stroke.positive
    assert stroke.pixels.any() and not (stroke.pixels & ~result).any()
    assert np.all(truth[stroke.pixels] == 0)


def test_a_thin_region_emptied_by_erosion_gets_a_dot_at_its_centre() -> None:
    truth = np.zeros((40, 200), dtype=np.uint8)
    truth[10:30, 20:180] = 255
    result = truth == 255
    result[10:12, 25:175] = False  # a missed strip 2 px high: erosion by r = 1.8 empties it
    stroke = next_stroke(truth, result)
    assert stroke is not None and stroke.positive
    rows, columns = np.nonzero(stroke.pixels)
    assert set(rows) == {10, 11} and np.ptp(columns) == 2  # a 3 px dot, clipped to the strip
    assert abs(columns.mean() - 99.5) <= 1  # the strip spans columns 25 to 174


def test_no_stroke_when_the_result_is_right_up_to_the_uncertain_band() -> None:
    truth = disc_truth()
    assert next_stroke(truth, truth >= 128) is None
    assert next_stroke(truth, truth == 255) is None


@pytest.mark.skipif(not BENCHMARKS.is_dir(), reason=f"benchmark data not found at {BENCHMARKS}")
def test_robot_strokes_on_real_cases_stay_on_their_side() -> None:
    for dataset in ("grabcut", "coco_mval"):
        for case in load_cases(BENCHMARKS / dataset, limit=3):
            truth = case.truth()
            positive, negative = first_strokes(truth)
            assert positive.pixels.any() and np.all(truth[positive.pixels] == 255), case.name
            assert negative.pixels.any() and np.all(truth[negative.pixels] == 0), case.name
            correction = next_stroke(truth, positive.pixels)
            assert correction is not None and correction.positive, case.name
            assert np.all(truth[correction.pixels] == 255), case.name


def test_a_dash_is_the_middle_third_of_a_stroke() -> None:
    pixels = np.zeros((40, 200), dtype=bool)
    pixels[19:22, 20:180] = True  # a straight stroke, 160 px long, 3 px wide
    short = dash(Stroke(pixels, positive=False))
    assert not short.positive and np.all(pixels[short.pixels])
    columns = np.nonzero(short.pixels.any(axis=0))[0]
    assert 40 <= len(columns) <= 56 and abs(columns.mean() - 99.5) < 2  # ~30 % around its middle
    assert is_one_piece(short.pixels)


def test_a_tap_is_a_round_dab_at_the_middle_of_a_stroke() -> None:
    pixels = np.zeros((40, 200), dtype=bool)
    pixels[19:22, 20:180] = True  # a straight stroke, 160 px long, 3 px wide
    dab = tap(Stroke(pixels, positive=True), radius=4.5)
    assert dab.positive and is_one_piece(dab.pixels)
    rows, columns = np.nonzero(dab.pixels)
    assert np.ptp(rows) == np.ptp(columns) == 8  # 9 px across both ways: round, not a dash
    assert abs(rows.mean() - 20) < 1 and abs(columns.mean() - 99.5) < 1.5
