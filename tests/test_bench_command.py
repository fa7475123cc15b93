"""`scribbleseg bench` end to end: real cases, the real engine, the JSON a user gets."""

import io
import json
from pathlib import Path

import pytest
from benchmark_data import BENCHMARKS

from scribbleseg.bench.progress import Progress
from scribbleseg.cli import main
from scribbleseg.engine.prior import MODEL_FILE, models_dir

needs_benchmarks = pytest.mark.skipif(
    not BENCHMARKS.is_dir(), reason=f"benchmark data not found at {BENCHMARKS}"
)


@needs_benchmarks
def test_bench_on_two_grabcut_cases_writes_every_number(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setenv("SCRIBBLESEG_MODELS", str(tmp_path))  # no subject model here
    report_file = tmp_path / "bench.json"
    argv = ["bench", str(BENCHMARKS / "grabcut"), "--limit", "2", "--json", str(report_file),
            "--speed-cases", "1", "--speed-interactions", "2", "--sizes", "64", "96"]
    assert main(argv) == 0

    out, err = capsys.readouterr()
    assert "prior: no model" in out and "scribble model: no model" in out
    assert "mIoU@5" in out and "NoS@90" in out and "peak memory at 96x96" in out
    assert "] 1/" not in err  # no progress bar when stderr is not a terminal

    report = json.loads(report_file.read_text())
    assert report["prior"]["status"] == "no model"
    [configuration] = report["configurations"]
    [dataset] = configuration["datasets"]
    assert dataset["name"] == "grabcut" and dataset["cases"] == 2
    assert len(dataset["per_case"]) == 2
    assert 0 <= dataset["human_miou"] <= 1
    robot = dataset["robot"]
    assert set(robot["miou"]) == {"1", "3", "5"}
    assert all(0 <= value <= 1 for value in robot["miou"].values())
    assert 1 <= robot["nos85"] <= robot["nos90"] <= 20
    for case in dataset["per_case"]:
        # Every case ran 5 interactions at least, and on while below IoU 0.90.
        ious = case["robot_ious"]
        assert len(ious) >= 5 or ious[-1] == 1.0
        assert ious[-1] >= 0.90 or len(ious) == 20
    assert dataset["speed"]["median_s"] > 0
    upscaled = configuration["upscaled"]
    assert set(upscaled["sizes"]) == {"64", "96"}
    assert upscaled["sizes"]["96"]["interactions"] == 2
    memory = upscaled["memory"]
    assert memory["size"] == 96 and memory["peak_rss_mb"] >= memory["increase_mb"] > 0


@needs_benchmarks
@pytest.mark.skipif(not (models_dir() / MODEL_FILE).is_file(), reason="no subject model installed")
def test_bench_measures_with_and_without_the_subject_model(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    report_file = tmp_path / "bench.json"
    argv = ["bench", str(BENCHMARKS / "grabcut"), "--limit", "1", "--interactions", "1",
            "--speed-cases", "0", "--json", str(report_file)]
    assert main(argv) == 0
    report = json.loads(report_file.read_text())
    # The scribble model's files are in git, so it is measured too.
    assert [c["name"] for c in report["configurations"]] == [
        "no prior", "prior", "scribble model", "prior + scribble model"
    ]
    assert report["prior"]["provider"].endswith("ExecutionProvider")
    assert f"prior: {MODEL_FILE} on {report['prior']['provider']}" in capsys.readouterr().out


def test_a_folder_without_benchmarks_is_refused_clearly(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    assert main(["bench", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "InvalidParameter" in err and "is not a benchmark folder" in err


def test_a_limit_below_one_is_refused(capsys: pytest.CaptureFixture) -> None:
    assert main(["bench", str(BENCHMARKS), "--limit", "0"]) == 2
    assert "--limit" in capsys.readouterr().err


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_is_drawn_on_a_terminal_only() -> None:
    terminal, log = Terminal(), io.StringIO()
    for stream in (terminal, log):
        progress = Progress(4, stream=stream)
        progress.advance("grabcut 106024")
        progress.advance("grabcut bush")
        progress.close()
    assert "2/4 grabcut bush" in terminal.getvalue() and "#" * 15 in terminal.getvalue()
    assert log.getvalue() == ""


@needs_benchmarks
@pytest.mark.parametrize(("options", "title_words", "settings"), [
    (["--positive-start"], ["robot starts with a positive stroke alone"],
     {"positive_start": True}),
    (["--dash-start", "--positive-start"], ["positive stroke alone", "first strokes are dashes"],
     {"positive_start": True, "first_stroke_shape": "dash"}),
    (["--tap-start"], ["first strokes are taps"], {"first_stroke_shape": "tap"}),
])
def test_bench_can_start_the_robot_as_people_do(
    options: list[str], title_words: list[str], settings: dict, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setenv("SCRIBBLESEG_MODELS", str(tmp_path))
    report_file = tmp_path / "bench.json"
    argv = ["bench", str(BENCHMARKS / "grabcut"), "--limit", "1", "--interactions", "1",
            "--speed-cases", "0", *options, "--json", str(report_file)]
    assert main(argv) == 0
    title = capsys.readouterr().out.splitlines()[0]
    assert all(words in title for words in title_words), title
    written = json.loads(report_file.read_text())["settings"]
    assert {key: written[key] for key in settings} == settings


def test_bench_refuses_dashes_and_taps_together(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit):
        main(["bench", str(BENCHMARKS / "grabcut"), "--dash-start", "--tap-start"])
    assert "not allowed with argument" in capsys.readouterr().err
