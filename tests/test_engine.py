"""The engine: strokes are hard, the mask is a soft prior, sizes and options behave."""

import numpy as np
import pytest
from benchmark_data import benchmark
from PIL import Image

import scribbleseg
from scribbleseg.bench.cases import OBJECT, load_cases
from scribbleseg.engine import default_prior, default_scribble_model, prepare
from scribbleseg_editor.errors import ScribbleSegError
from scribbleseg_editor.options import NOTHING_TO_SELECT

POSTPROCESS_OPTIONS = (None, "edgerefine", "maskrefine")


def iou(alpha: np.ndarray, truth: np.ndarray) -> float:
    selected = alpha >= 128
    return (selected & truth).sum() / (selected | truth).sum()


def noisy_scene(size: int = 160, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A reddish disc on a greenish, noisy background: (image, true object mask)."""
    rng = np.random.default_rng(seed)
    rows, columns = np.mgrid[:size, :size]
    disc = np.hypot(rows - size * 0.45, columns - size * 0.55) < size * 0.28
    image = np.where(disc[..., None], [200, 60, 50], [60, 150, 70]).astype(np.float32)
    image += rng.normal(0, 18, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8), disc


def line(shape: tuple[int, int], start: tuple[int, int], end: tuple[int, int]) -> np.ndarray:
    """A 3 px wide straight stroke."""
    marks = np.zeros(shape, bool)
    for t in np.linspace(0, 1, 200):
        y = round(start[0] + t * (end[0] - start[0]))
        x = round(start[1] + t * (end[1] - start[1]))
        marks[max(0, y - 1) : y + 2, max(0, x - 1) : x + 2] = True
    return marks


def grabcut_case(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(image, positive, negative, object truth) of one GrabCut case with human scribbles."""
    found = next(case for case in load_cases(benchmark("grabcut")) if case.name == name)
    positive, negative = found.scribbles()
    return found.image(), positive, negative, found.truth() == OBJECT


@pytest.fixture(scope="module")
def scene():
    image, disc = noisy_scene()
    return prepare(image, prior_model=None), disc


def test_strokes_and_a_border_give_the_object(scene) -> None:
    prepared, disc = scene
    positive = line(disc.shape, (72, 70), (72, 100))
    alpha = prepared.segment(positive)
    assert alpha.shape == disc.shape and alpha.dtype == np.uint8
    assert iou(alpha, disc) > 0.95


def test_a_dash_of_negative_stroke_leaves_the_border_telling_the_background() -> None:
    # A red square with a darker red band running from it to the right border, on grey.
    rng = np.random.default_rng(0)
    rows, columns = np.mgrid[:160, :160]
    square = (np.abs(rows - 80) < 30) & (np.abs(columns - 70) < 30)
    band = (np.abs(rows - 80) < 12) & (columns >= 100)
    image = np.full((160, 160, 3), [120, 120, 125], np.float32)
    image[band] = [150, 40, 40]
    image[square] = [210, 50, 45]
    image = np.clip(image + rng.normal(0, 10, image.shape), 0, 255).astype(np.uint8)
    positive = line(square.shape, (70, 55), (90, 85))
    dash = np.zeros_like(square)
    dash[20:24, 30:34] = True  # a dab on the grey: it says nothing about the band's colour

    alpha = prepare(image, prior_model=None).segment(positive, dash)

    assert iou(alpha, square) > 0.95  # the band touches the border, so it is background


@pytest.mark.parametrize("postprocess", POSTPROCESS_OPTIONS)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_strokes_are_hard_constraints_even_against_the_image(postprocess, seed) -> None:
    """Random strokes, some on the wrong side of the true edge: each pixel obeys its stroke."""
    image, _ = noisy_scene(seed=seed)
    prepared = prepare(image, prior_model=None)
    rng = np.random.default_rng(seed)
    points = rng.integers(5, 155, size=(6, 2))
    positive = line(image.shape[:2], tuple(points[0]), tuple(points[1]))
    positive |= line(image.shape[:2], tuple(points[2]), tuple(points[3]))
    negative = line(image.shape[:2], tuple(points[4]), tuple(points[5])) & ~positive
    alpha = prepared.segment(positive, negative, postprocess=postprocess)
    assert np.all(alpha[positive] == 255)
    assert np.all(alpha[negative] == 0)


@pytest.mark.parametrize("name", ["banana1", "sheep"])
def test_strokes_stay_hard_on_real_photos_after_every_postprocess(name) -> None:
    image, positive, negative, truth = grabcut_case(name)
    prepared = prepare(image, prior_model=None)
    # Strokes that contradict the image: object pixels marked negative and the other way round.
    wrong_negative = line(truth.shape, (truth.shape[0] // 2, 0), (truth.shape[0] // 2, 200))
    wrong_negative &= truth & ~positive
    negative = negative | wrong_negative
    for postprocess in POSTPROCESS_OPTIONS:
        for feather in (False, True):
            alpha = prepared.segment(positive, negative, postprocess=postprocess, feather=feather)
            assert np.all(alpha[positive] == 255)
            assert np.all(alpha[negative] == 0)


@pytest.mark.parametrize("whole_image", [False, True])
def test_a_current_mask_alone_is_kept(scene, whole_image) -> None:
    prepared, disc = scene
    mask = np.ones_like(disc) if whole_image else disc  # whole image: nothing to learn from
    alpha = prepared.segment(mask=mask.astype(np.uint8) * 255)
    assert iou(alpha, mask) > 0.95


def test_a_negative_stroke_removes_a_wrongly_selected_region(scene) -> None:
    prepared, disc = scene
    wrong = np.zeros_like(disc)
    wrong[10:50, 10:60] = True  # a false positive block in the background
    negative = line(disc.shape, (30, 20), (30, 50))
    positive = line(disc.shape, (72, 70), (72, 100))
    alpha = prepared.segment(positive, negative, mask=disc | wrong)
    assert (alpha[wrong] >= 128).mean() < 0.05
    assert iou(alpha, disc) > 0.95


def test_a_positive_stroke_adds_a_missed_part(scene) -> None:
    prepared, disc = scene
    missed = disc.copy()
    missed[:, 88:] = False  # the previous result lost the right part of the disc
    positive = line(disc.shape, (72, 70), (72, 80)) | line(disc.shape, (60, 100), (90, 110))
    alpha = prepared.segment(positive, mask=missed)
    assert iou(alpha, disc) > 0.95


def test_uint8_marks_mean_the_same_as_bool_marks(scene) -> None:
    prepared, disc = scene
    positive = line(disc.shape, (72, 70), (72, 100))
    as_bool = prepared.segment(positive)
    as_uint8 = prepared.segment(positive.astype(np.uint8) * 7)
    np.testing.assert_array_equal(as_bool, as_uint8)


def test_the_public_api_is_prepare_then_segment_with_the_installed_model() -> None:
    image, disc = noisy_scene(size=96)
    positive = line(disc.shape, (43, 45), (43, 60))
    alpha = scribbleseg.segment(image, positive, postprocess="edgerefine")
    assert alpha.shape == disc.shape and alpha.dtype == np.uint8
    assert iou(alpha, disc) > 0.9
    prepared = scribbleseg.prepare(image)
    assert prepared.prior_model is default_prior()
    assert prepared.scribble_model is default_scribble_model()
    np.testing.assert_array_equal(prepared.segment(positive, postprocess="edgerefine"), alpha)


def test_a_soft_mask_counts_each_pixel_by_its_fraction(scene) -> None:
    """A faint halo (fraction 0.4) around the disc is not selected; uint8, float and bool
    spellings of one mask give one result."""
    prepared, disc = scene
    halo = edge_neighbourhood(disc, 8) & ~disc
    soft = np.where(disc, 255, np.where(halo, 102, 0)).astype(np.uint8)
    negative = line(disc.shape, (5, 5), (5, 150))  # contradicts nothing: the mask comes back
    positive = line(disc.shape, (72, 70), (72, 100)) | line(disc.shape, (30, 95), (30, 115))
    as_uint8 = prepared.segment(positive, negative, mask=soft)
    as_float = prepared.segment(positive, negative, mask=soft.astype(np.float32) / 255)
    np.testing.assert_array_equal(as_uint8, as_float)
    assert iou(as_uint8, disc) > 0.95 and (as_uint8[halo] >= 128).mean() < 0.05
    as_bool = prepared.segment(positive, negative, mask=disc)
    np.testing.assert_array_equal(as_bool, prepared.segment(positive, negative, mask=soft >= 128))


@pytest.mark.parametrize("name", ["sheep", "banana1"])
def test_a_rerun_with_no_new_strokes_returns_the_same_mask(name) -> None:
    """The feathered result fed back as the mask, several times, through the public API."""
    image, positive, negative, truth = grabcut_case(name)
    prepared = scribbleseg.prepare(image)
    first = prepared.segment(positive, negative)
    assert iou(first, truth) > 0.85
    result = first
    for _ in range(3):
        result = prepared.segment(positive, negative, mask=result)
        np.testing.assert_array_equal(result, first)
    more = line(truth.shape, (5, 5), (5, 60)) & ~truth  # a new stroke: the engine runs again
    corrected = prepared.segment(positive | more, negative, mask=first)
    assert not np.array_equal(corrected, first) and iou(corrected, truth) > 0.85


@pytest.mark.parametrize(
    ("arguments", "named", "says"),
    [
        ({"positive": np.ones((10, 10), bool)}, "positive strokes", "160x160"),
        ({"positive": np.ones((160, 160), bool), "negative": np.ones((160, 1), bool)},
         "negative strokes", "160x160"),
        ({"mask": np.ones((160, 160, 3), np.uint8)}, "mask", "HxW"),
        ({"mask": np.full((160, 160), 1.5)}, "mask", "from 0 to 1"),
        ({"mask": np.ones((160, 160), np.int64)}, "mask", "bool, uint8"),
    ],
)
def test_a_mark_that_does_not_fit_is_refused_naming_it(scene, arguments, named, says) -> None:
    prepared, _ = scene
    with pytest.raises(ScribbleSegError) as refusal:
        prepared.segment(**arguments)
    assert refusal.value.code == "InvalidParameter"
    assert named in refusal.value.message and says in refusal.value.message


@pytest.mark.parametrize(
    "arguments",
    [{}, {"negative": np.ones((160, 160), bool)}, {"mask": np.zeros((160, 160))},
     {"mask": np.full((160, 160), 127, np.uint8)}, {"mask": np.full((160, 160), 0.49)}],
)
def test_nothing_to_select_is_refused(scene, arguments) -> None:
    prepared, _ = scene
    with pytest.raises(ScribbleSegError) as refusal:
        prepared.segment(**arguments)
    assert refusal.value.code == "InvalidParameter"
    assert refusal.value.message == NOTHING_TO_SELECT


def test_an_image_that_is_not_rgb_uint8_is_refused() -> None:
    with pytest.raises(ScribbleSegError, match="HxWx3 uint8") as refusal:
        prepare(np.zeros((20, 20), np.uint8), prior_model=None)
    assert refusal.value.code == "InvalidParameter"


def test_an_unknown_postprocess_is_refused(scene) -> None:
    prepared, disc = scene
    with pytest.raises(ScribbleSegError, match="postprocess") as refusal:
        prepared.segment(mask=disc, postprocess="sharpen")
    assert refusal.value.code == "InvalidParameter"


def test_postprocess_options_soften_only_the_edge_and_keep_the_shape() -> None:
    image, positive, negative, _ = grabcut_case("sheep")
    prepared = prepare(image, prior_model=None)
    hard = prepared.segment(positive, negative, postprocess=None, feather=False)
    assert set(np.unique(hard)) <= {0, 255}
    near_edge = edge_neighbourhood(hard >= 128, 6)
    partial_counts = {}
    for postprocess in POSTPROCESS_OPTIONS:
        for feather in (False, True):
            alpha = prepared.segment(positive, negative, postprocess=postprocess, feather=feather)
            partial = (alpha > 0) & (alpha < 255)
            assert not np.any(partial & ~near_edge), "soft alpha far from the edge"
            assert iou(alpha, hard >= 128) > 0.95
            partial_counts[postprocess, feather] = partial.sum()
    assert partial_counts[None, False] == 0
    assert partial_counts["edgerefine", False] > 0
    assert partial_counts["maskrefine", False] > 0
    assert partial_counts[None, True] > 0
    for postprocess in POSTPROCESS_OPTIONS:  # feathering softens more pixels
        assert partial_counts[postprocess, True] > partial_counts[postprocess, False]
    edge = prepared.segment(positive, negative, postprocess="edgerefine", feather=False)
    matte = prepared.segment(positive, negative, postprocess="maskrefine", feather=False)
    assert np.abs(edge.astype(int) - matte).max() > 32


def edge_neighbourhood(selected: np.ndarray, radius: int) -> np.ndarray:
    from scipy import ndimage

    size = 2 * radius + 1
    grown = ndimage.maximum_filter(selected, size)
    shrunk = ndimage.minimum_filter(selected, size)
    return grown & ~shrunk


def test_a_large_image_gives_the_small_image_result_scaled_up() -> None:
    """A 4x upscaled photo runs the working-resolution path plus the edge band."""
    image, positive, negative, _ = grabcut_case("banana1")
    small = prepare(image, prior_model=None).segment(positive, negative)
    factor = 4
    height, width = image.shape[:2]
    big_image = np.asarray(
        Image.fromarray(image).resize((width * factor, height * factor), Image.Resampling.BICUBIC)
    )
    big_positive = np.kron(positive, np.ones((factor, factor), bool))
    big_negative = np.kron(negative, np.ones((factor, factor), bool))
    big = prepare(big_image, prior_model=None).segment(big_positive, big_negative)
    assert big.shape == big_positive.shape
    assert np.all(big[big_positive] == 255) and np.all(big[big_negative] == 0)
    big_as_small = np.asarray(Image.fromarray(big).resize((width, height), Image.Resampling.BOX))
    assert iou(big_as_small, small >= 128) > 0.95


class CountingPrior:
    """A stand-in subject model that says "object" in the image centre."""

    provider = "test"

    def __init__(self) -> None:
        self.runs = 0

    def predict(self, image: np.ndarray) -> np.ndarray:
        self.runs += 1
        probability = np.zeros(image.shape[:2], np.float32)
        probability[image.shape[0] // 4 : -image.shape[0] // 4, image.shape[1] // 4 :] = 1
        return probability


def test_the_subject_model_runs_once_per_prepared_image() -> None:
    image, disc = noisy_scene()
    model = CountingPrior()
    prepared = prepare(image, prior_model=model)
    assert model.runs == 0  # prepare stays cheap: the model runs on first use
    positive = line(disc.shape, (72, 70), (72, 100))
    for _ in range(3):
        alpha = prepared.segment(positive)
    assert model.runs == 1
    assert iou(alpha, disc) > 0.9
