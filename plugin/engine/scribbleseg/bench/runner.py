"""The protocol over many cases: per-dataset quality and speed, upscaled speed and memory.

Results are plain dicts of numbers, ready for the JSON file and the printed table.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from scribbleseg.bench.cases import Case, find_datasets, load_cases
from scribbleseg.bench.metrics import NOS_CAP, interactions_to_reach, iou_after
from scribbleseg.bench.progress import Progress
from scribbleseg.bench.robot import WHOLE
from scribbleseg.bench.sessions import (
    EngineSettings,
    human_scribbles_iou,
    robot_session,
    timed_prepare,
)
from scribbleseg.bench.speed import peak_memory, upscale
from scribbleseg.engine.prior import MODEL_FILE, SubjectPrior, load_prior, models_dir
from scribbleseg.engine.scribble_model import DECODER_FILE, ScribbleModel, load_scribble_model

NOS_THRESHOLDS = (0.85, 0.90)
REPORTED_INTERACTIONS = (1, 3, 5)


def reported_interactions(interactions: int) -> list[int]:
    """The k of mIoU@k: 1, 3, 5 and the last one run, as far as the run goes."""
    return sorted({k for k in (*REPORTED_INTERACTIONS, interactions) if k <= interactions})


def speed_summary(seconds_per_image: Sequence[Sequence[float]]) -> dict:
    """Median seconds per interaction; the first of each image includes `prepare`."""
    first = [seconds[0] for seconds in seconds_per_image]
    later = [value for seconds in seconds_per_image for value in seconds[1:]]
    return {
        "interactions": len(first) + len(later),
        "median_s": statistics.median(first + later),
        "median_first_s": statistics.median(first),
        "median_later_s": statistics.median(later) if later else None,
    }


def quality_summary(ious_per_case: Sequence[Sequence[float]], interactions: int) -> dict:
    """mIoU after 1, 3, 5 interactions and NoS@85, NoS@90."""
    return {
        "miou": {
            str(k): statistics.fmean(iou_after(ious, k) for ious in ious_per_case)
            for k in reported_interactions(interactions)
        },
        **{
            f"nos{round(threshold * 100)}": statistics.fmean(
                interactions_to_reach(ious, threshold) for ious in ious_per_case
            )
            for threshold in NOS_THRESHOLDS
        },
    }


def benchmark_dataset(
    cases: Sequence[Case],
    settings: EngineSettings,
    interactions: int,
    progress: Progress,
    positive_start: bool = False,
    first_stroke_shape: str = WHOLE,
) -> dict:
    """Human scribbles (where the cases have them) and the robot (robot_session's
    positive_start and first_stroke_shape), over every case."""
    per_case = []
    seconds = []
    megapixels = []
    for case in cases:
        truth = case.truth()
        prepared, prepare_seconds = timed_prepare(settings, case.image())
        # Go on past `interactions` only while below the highest NoS threshold: exact and cheap.
        session = robot_session(
            prepared, truth, settings, interactions, until_iou=max(NOS_THRESHOLDS), cap=NOS_CAP,
            prepare_seconds=prepare_seconds, positive_start=positive_start,
            first_stroke_shape=first_stroke_shape,
        )
        scribbles = case.scribbles()
        human = None
        if scribbles is not None:  # after the robot, so its first call paid for the model
            human = human_scribbles_iou(prepared, truth, *scribbles, settings)
        per_case.append({"name": case.name, "human_iou": human, "robot_ious": session.ious})
        seconds.append(session.seconds)
        megapixels.append(truth.size / 1e6)
        progress.advance(f"{case.dataset} {case.name}")
    humans = [case["human_iou"] for case in per_case if case["human_iou"] is not None]
    return {
        "name": cases[0].dataset,
        "cases": len(cases),
        "human_miou": statistics.fmean(humans) if humans else None,
        "robot": quality_summary([case["robot_ious"] for case in per_case], interactions),
        "speed": {"median_megapixels": statistics.median(megapixels), **speed_summary(seconds)},
        "per_case": per_case,
    }


def benchmark_upscaled(
    cases: Sequence[Case],
    settings: EngineSettings,
    sides: Sequence[int],
    interactions: int,
    progress: Progress,
) -> dict:
    """Robot sessions of exactly `interactions` on the cases stretched to each side x side,
    and peak memory replaying the first case's session at the largest side."""
    by_side = {}
    for side in sorted(sides):
        seconds = []
        for case in cases:
            image, truth = upscale(case.image(), case.truth(), side)
            prepared, prepare_seconds = timed_prepare(settings, image)
            session = robot_session(
                prepared, truth, settings, interactions, prepare_seconds=prepare_seconds
            )
            seconds.append(session.seconds)
            progress.advance(f"{side}x{side} {case.name}")
            if side == max(sides) and case is cases[0]:
                memory = peak_memory(image, session, settings)
                progress.advance(f"memory {side}x{side}")
        by_side[str(side)] = speed_summary(seconds)
    return {
        "dataset": cases[0].dataset,
        "cases": [case.name for case in cases],
        "interactions_per_case": interactions,
        "sizes": by_side,
        "memory": {"size": max(sides), "case": cases[0].name, **memory},
    }


@dataclass(frozen=True)
class BenchOptions:
    interactions: int = 5
    positive_start: bool = False  # the robot's interaction 1 without its negative stroke
    first_stroke_shape: str = WHOLE  # the robot's interaction 1: robot.FIRST_STROKE_SHAPES
    limit: int | None = None  # cases of each folder, spread evenly; None: all
    use_prior: bool = True  # also measure with the subject model, when one is installed
    use_scribble_model: bool = True  # also measure with the scribble model, when installed
    postprocess: str | None = "maskrefine"
    feather: bool = True
    speed_cases: int = 3  # upscaled speed and memory on this many cases of the first folder
    speed_interactions: int = 3
    sizes: tuple[int, ...] = (2048, 4096)


def run_benchmark(data_dir: Path, options: BenchOptions) -> dict:
    """Every benchmark folder in data_dir without a model, then with the subject model and with
    the scribble model where installed; everything the bench prints and writes to JSON."""
    datasets = find_datasets(data_dir)
    cases = {dataset: load_cases(dataset, options.limit) for dataset in datasets}
    speed_cases = cases[datasets[0]][: options.speed_cases]
    prior_model = load_prior() if options.use_prior else None
    scribble = load_scribble_model(models_dir()) if options.use_scribble_model else None
    configurations = [("no prior", None, None)]
    if prior_model is not None:
        configurations.append(("prior", prior_model, None))
    if scribble is not None:
        configurations.append(("scribble model", None, scribble))
    if prior_model is not None and scribble is not None:
        configurations.append(("prior + scribble model", prior_model, scribble))

    upscaled_units = len(speed_cases) * len(options.sizes) + (1 if speed_cases else 0)
    progress = Progress(len(configurations) * (sum(map(len, cases.values())) + upscaled_units))
    results = []
    for name, model, scribble_model in configurations:
        settings = EngineSettings(model, postprocess=options.postprocess, feather=options.feather,
                                  scribble_model=scribble_model)
        result = {
            "name": name,
            "prior": model is not None,
            "scribble_model": scribble_model is not None,
            "datasets": [
                benchmark_dataset(cases[dataset], settings, options.interactions, progress,
                                  options.positive_start, options.first_stroke_shape)
                for dataset in datasets
            ],
        }
        if speed_cases:
            result["upscaled"] = benchmark_upscaled(
                speed_cases, settings, options.sizes, options.speed_interactions, progress
            )
        results.append(result)
    progress.close()
    return {
        "settings": {"data_dir": str(data_dir), "nos_cap": NOS_CAP, **asdict(options)},
        "prior": model_description(options.use_prior, prior_model, MODEL_FILE, "--no-prior"),
        "scribble_model": model_description(
            options.use_scribble_model, scribble, DECODER_FILE, "--no-scribble-model"
        ),
        "configurations": results,
    }


def model_description(
    measured: bool, model: SubjectPrior | ScribbleModel | None, file: str, flag: str
) -> dict:
    """The report's entry for one model: measured, missing, or turned off by `flag`."""
    if not measured:
        return {"model": None, "provider": None, "status": f"not measured ({flag})"}
    if model is None:
        return {"model": None, "provider": None, "status": "no model"}
    return {"model": file, "provider": model.provider, "status": "measured"}
