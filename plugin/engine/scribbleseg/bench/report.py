"""The bench's results as the table printed on the terminal."""

from __future__ import annotations

from collections.abc import Sequence

# The title's words for the robot's first strokes, by robot.FIRST_STROKE_SHAPES name.
FIRST_STROKES_TITLES = {
    "whole": "",
    "dash": "; robot's first strokes are dashes",
    "tap": "; robot's first strokes are taps",
}


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Columns aligned: the first left, the others right."""
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    return [
        "  ".join(
            cell.ljust(width) if i == 0 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in (header, *rows)
    ]


def number(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def describe_prior(prior: dict, label: str = "prior") -> str:
    if prior["model"] is None:
        return f"{label}: {prior['status']}"
    return f"{label}: {prior['model']} on {prior['provider']}"


def quality_lines(report: dict) -> list[str]:
    ks = list(report["configurations"][0]["datasets"][0]["robot"]["miou"])
    header = ["quality", "cases", "human mIoU", *(f"mIoU@{k}" for k in ks), "NoS@85", "NoS@90"]
    rows = []
    for configuration in report["configurations"]:
        for dataset in configuration["datasets"]:
            robot = dataset["robot"]
            rows.append([
                f"{dataset['name']}, {configuration['name']}",
                str(dataset["cases"]),
                number(dataset["human_miou"]),
                *(number(robot["miou"][k]) for k in ks),
                number(robot["nos85"], 2),
                number(robot["nos90"], 2),
            ])
    return format_table(header, rows)


def speed_row(label: str, speed: dict) -> list[str]:
    return [
        label,
        str(speed["interactions"]),
        number(speed["median_s"], 2),
        number(speed["median_first_s"], 2),
        number(speed["median_later_s"], 2),
    ]


def speed_lines(report: dict) -> list[str]:
    header = ["seconds per interaction (median)", "calls", "all", "first", "later"]
    rows = []
    for configuration in report["configurations"]:
        for dataset in configuration["datasets"]:
            megapixels = dataset["speed"]["median_megapixels"]
            label = f"{dataset['name']} native ~{megapixels:.2f} MP, {configuration['name']}"
            rows.append(speed_row(label, dataset["speed"]))
        upscaled = configuration.get("upscaled")
        for side, speed in (upscaled or {}).get("sizes", {}).items():
            count = len(upscaled["cases"])
            label = f"{side}x{side}, {count} case{'s' * (count != 1)}, {configuration['name']}"
            rows.append(speed_row(label, speed))
    return [
        *format_table(header, rows),
        "first = prepare (and the subject model) + the first engine call of an image; "
        "later = each call after it",
    ]


def memory_lines(report: dict) -> list[str]:
    lines = []
    for configuration in report["configurations"]:
        memory = (configuration.get("upscaled") or {}).get("memory")
        if memory is None:
            continue
        bound = " at most" if memory["increase_is_upper_bound"] else ""
        lines.append(
            f"peak memory at {memory['size']}x{memory['size']}, {configuration['name']}: "
            f"{memory['peak_rss_mb']:.0f} MB resident, "
            f"+{memory['increase_mb']:.0f} MB{bound} during {memory['interactions']} "
            f"interactions ({memory['method']})"
        )
    return lines


def format_report(report: dict) -> str:
    settings = report["settings"]
    title = (
        f"scribbleseg bench: postprocess {settings['postprocess']}, "
        f"feather {'on' if settings['feather'] else 'off'}; {describe_prior(report['prior'])}; "
        f"{describe_prior(report['scribble_model'], 'scribble model')}"
        + ("; robot starts with a positive stroke alone" if settings["positive_start"] else "")
        + FIRST_STROKES_TITLES[settings["first_stroke_shape"]]
    )
    return "\n".join(
        [title, "", *quality_lines(report), "", *speed_lines(report), *memory_lines(report)]
    )
