"""`scribbleseg segment` run as a user runs it: a real process on the example photo."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
PHOTO = EXAMPLES / "astronaut.png"
POSITIVE = EXAMPLES / "astronaut_positive.png"
NEGATIVE = EXAMPLES / "astronaut_negative.png"


def scribbleseg(*args: object, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "scribbleseg", "segment", *map(str, args)],
        capture_output=True, text=True, cwd=ROOT, timeout=300, env=env,
    )


def painted(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path))[:, :, 3] >= 128


@pytest.fixture(scope="module")
def cutout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    output = tmp_path_factory.mktemp("segment") / "astronaut_cutout.png"
    result = scribbleseg(PHOTO, "--positive", POSITIVE, "--negative", NEGATIVE, "-o", output)
    assert result.returncode == 0, result.stderr
    return output


def test_example_gives_a_cut_out_of_the_astronaut(cutout: Path) -> None:
    picture = Image.open(cutout)
    assert (picture.format, picture.mode, picture.size) == ("PNG", "RGBA", (512, 512))
    pixels = np.asarray(picture)
    assert (pixels[:, :, :3] == np.asarray(Image.open(PHOTO))).all()
    selected = pixels[:, :, 3] >= 128
    assert selected[painted(POSITIVE)].all() and not selected[painted(NEGATIVE)].any()
    assert selected[120, 225] and selected[470, 470]  # her face and the helmet she holds
    assert not selected[20, 500] and not selected[150, 30]  # the wall and the flag
    assert 0.4 < selected.mean() < 0.65


def test_integrated_mask_gives_the_same_cut_out(cutout: Path, tmp_path: Path) -> None:
    integrated = np.zeros((512, 512, 3), np.uint8)
    integrated[:, :, 1] = painted(POSITIVE) * 255
    integrated[:, :, 2] = painted(NEGATIVE) * 255
    Image.fromarray(integrated).save(tmp_path / "integrated.png")
    output = tmp_path / "out.png"
    result = scribbleseg(PHOTO, "--integrated", tmp_path / "integrated.png", "-o", output)
    assert result.returncode == 0, result.stderr
    assert (np.asarray(Image.open(output)) == np.asarray(Image.open(cutout))).all()


def test_mask_alone_as_jpeg_chosen_by_the_output_name(cutout: Path, tmp_path: Path) -> None:
    output = tmp_path / "mask.jpg"
    result = scribbleseg(PHOTO, "--positive", POSITIVE, "--negative", NEGATIVE,
                         "--return-form", "only_alpha", "--postprocess", "edgerefine",
                         "--no-feather", "-o", output)
    assert result.returncode == 0, result.stderr
    picture = Image.open(output)
    assert (picture.format, picture.mode, picture.size) == ("JPEG", "L", (512, 512))
    reference = np.asarray(Image.open(cutout))[:, :, 3] >= 128
    agreement = (np.asarray(picture) >= 128) == reference
    assert agreement.mean() > 0.97


def test_jpg_cut_out_falls_back_to_white_background(tmp_path: Path) -> None:
    output = tmp_path / "cutout.out"
    result = scribbleseg(PHOTO, "--positive", POSITIVE, "--negative", NEGATIVE,
                         "--format", "jpg", "-o", output)
    assert result.returncode == 0, result.stderr
    picture = Image.open(output)
    assert (picture.format, picture.mode) == ("JPEG", "RGB")
    assert min(picture.getpixel((500, 20))) > 245  # the wall is now white


@pytest.mark.parametrize("return_form", ["rgb_alpha", "only_alpha"])
def test_feeding_the_result_back_as_the_mask_changes_nothing(
    cutout: Path, tmp_path: Path, return_form: str
) -> None:
    """Reruns with no new strokes, each fed the previous output (a cut-out with a feathered
    edge, or the mask alone): the selection neither grows nor oscillates."""
    first = np.asarray(Image.open(cutout))[:, :, 3]
    previous = cutout
    for rerun in range(3):
        output = tmp_path / f"rerun{rerun}.png"
        result = scribbleseg(PHOTO, "--positive", POSITIVE, "--negative", NEGATIVE,
                             "--mask", previous, "--return-form", return_form, "-o", output)
        assert result.returncode == 0, result.stderr
        pixels = np.asarray(Image.open(output))
        alpha = pixels[:, :, 3] if return_form == "rgb_alpha" else pixels
        np.testing.assert_array_equal(alpha, first)
        previous = output


@pytest.fixture
def unsigned_api_server() -> Iterator[str]:
    """`scribbleseg serve --unsigned` on a free loopback port; yields its URL."""
    server = subprocess.Popen(
        [sys.executable, "-m", "scribbleseg", "serve", "--unsigned", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT,
    )
    try:
        line = server.stdout.readline()
        assert "listening on" in line
        yield line.split()[-1]
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_endpoint_segments_through_the_cloud_protocol(
    cutout: Path, unsigned_api_server: str, tmp_path: Path
) -> None:
    no_access_key = {name: value for name, value in os.environ.items()
                     if not name.startswith("ALIBABA_CLOUD_")}
    no_access_key["SCRIBBLESEG_CONFIG_DIR"] = str(tmp_path)  # no cloud.json: unsigned calls
    output = tmp_path / "remote.png"
    result = scribbleseg(PHOTO, "--positive", POSITIVE, "--negative", NEGATIVE,
                         "--endpoint", unsigned_api_server, "-o", output, env=no_access_key)
    assert result.returncode == 0, result.stderr
    remote = np.asarray(Image.open(output))
    local = np.asarray(Image.open(cutout))
    assert remote.shape == (512, 512, 4)
    assert ((remote[:, :, 3] >= 128) == (local[:, :, 3] >= 128)).mean() > 0.99


# --- refusals: exit status 2 and the API code -----------------------------------------

def test_unsupported_image_format(tmp_path: Path) -> None:
    Image.open(PHOTO).save(tmp_path / "astronaut.gif")
    result = scribbleseg(tmp_path / "astronaut.gif", "--positive", POSITIVE, "-o",
                         tmp_path / "out.png")
    assert result.returncode == 2
    assert result.stderr.startswith(
        "scribbleseg: InvalidImage.Format: The image file is a GIF image"
    )
    assert not (tmp_path / "out.png").exists()


def test_strokes_of_another_size(tmp_path: Path) -> None:
    Image.open(POSITIVE).resize((256, 256)).save(tmp_path / "small.png")
    result = scribbleseg(PHOTO, "--positive", tmp_path / "small.png", "-o", tmp_path / "out.png")
    assert result.returncode == 2
    assert "scribbleseg: InvalidParameter: The positive strokes (256x256 pixels)" in result.stderr


def test_missing_file(tmp_path: Path) -> None:
    result = scribbleseg(PHOTO, "--negative", tmp_path / "nowhere.png", "-o", tmp_path / "o.png")
    assert result.returncode == 2
    assert "InvalidParameter: Cannot read the negative strokes file" in result.stderr


def test_truncated_image(tmp_path: Path) -> None:
    (tmp_path / "cut.png").write_bytes(PHOTO.read_bytes()[:50_000])
    result = scribbleseg(tmp_path / "cut.png", "--positive", POSITIVE, "-o", tmp_path / "o.png")
    assert result.returncode == 2 and "InvalidFile.Content" in result.stderr


@pytest.mark.parametrize(
    "arguments",
    [["--postprocess", "none"], ["--return-form", "rgba"], ["--format", "gif"],
     ["--mask", POSITIVE, "--integrated", POSITIVE]],
)
def test_bad_arguments_are_refused_with_usage(arguments: list, tmp_path: Path) -> None:
    result = scribbleseg(PHOTO, "--positive", POSITIVE, *arguments, "-o", tmp_path / "o.png")
    assert result.returncode == 2 and "usage: scribbleseg segment" in result.stderr
