"""`scribbleseg segment`: cut an object out of an image file from stroke files.

Runs the local engine, or the cloud protocol when --endpoint is given. Files follow imageio's
rule: a stroke pixel is set where it is opaque (a transparent layer with painted lines) or bright
(a black-and-white mask); the mask is soft, so a cut-out written here can be fed back as --mask.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np

from scribbleseg.output import encode_result
from scribbleseg.request import FORMAT_SPELLINGS, SegmentRequest, decode_request
from scribbleseg.request import run as run_request
from scribbleseg_editor.errors import ScribbleSegError
from scribbleseg_editor.options import POSTPROCESS_CHOICES, RETURN_FORMS, SegmentOptions

JPEG_SUFFIXES = (".jpg", ".jpeg")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("image", type=Path, help="the photo: JPG, PNG, BMP or WEBP")
    parser.add_argument("--positive", type=Path, help="strokes on the object")
    parser.add_argument("--negative", type=Path, help="strokes on the background")
    current = parser.add_mutually_exclusive_group()
    current.add_argument("--mask", type=Path,
                         help="the selection so far: a cut-out or a mask (opaque or white ="
                              " selected, partly = partly selected)")
    current.add_argument(
        "--integrated", type=Path,
        help="one RGB file: R = mask, G = positive strokes, B = negative strokes",
    )
    parser.add_argument("--return-form", choices=RETURN_FORMS, default="rgb_alpha",
                        help="cut-out (default), the mask alone, or the object on white")
    parser.add_argument("--format", type=str.upper, choices=list(FORMAT_SPELLINGS),
                        help="output format (default: JPG for a .jpg/.jpeg output name, else PNG;"
                             " JPG turns rgb_alpha into white_background)")
    parser.add_argument("--postprocess", choices=POSTPROCESS_CHOICES, default="maskrefine",
                        help="edge refinement: maskrefine (finest, default) or edgerefine")
    parser.add_argument("--no-feather", action="store_true", help="keep the edge unsoftened")
    parser.add_argument("--endpoint", metavar="URL",
                        help="segment with this cloud-protocol service instead of the local engine")
    parser.add_argument("-o", "--output", type=Path, required=True, help="file to write")


def run(args: argparse.Namespace) -> int:
    files = decode_request(
        image=_read(args.image, "image"),
        mask=_read(args.mask, "mask"),
        positive=_read(args.positive, "positive strokes"),
        negative=_read(args.negative, "negative strokes"),
        integrated=_read(args.integrated, "integrated mask"),
    )
    request = dataclasses.replace(files, options=_options(args))
    alpha = _segment(request, args.endpoint)
    data, _ = encode_result(request.image, alpha, request.options)
    try:
        args.output.write_bytes(data)
    except OSError as error:
        raise ScribbleSegError(
            "InvalidParameter", f"Cannot write the output file {args.output}: {error.strerror}."
        ) from error
    print(f"wrote {args.output} ({_engine_that_ran(args.endpoint)})")
    return 0


def _engine_that_ran(endpoint: str | None) -> str:
    if endpoint:
        return "engine: the cloud endpoint"
    from scribbleseg.engine import pipeline, prior
    from scribbleseg.engine.scribble_model import DECODER_FILE

    model = pipeline.default_prior()  # cached: the one this run used
    if model is not None:
        return f"engine: local, model {prior.MODEL_FILE} on {model.provider}"
    scribble = pipeline.default_scribble_model()
    if scribble is not None:
        return f"engine: local, scribble model {DECODER_FILE} on {scribble.provider}"
    return f"engine: local, weights-free (no models in {prior.models_dir()})"


def _options(args: argparse.Namespace) -> SegmentOptions:
    output_is_jpeg = args.output.suffix.lower() in JPEG_SUFFIXES
    spelled = args.format or ("JPG" if output_is_jpeg else "PNG")
    return SegmentOptions(
        postprocess=args.postprocess,
        feather=not args.no_feather,
        return_form=args.return_form,
        return_format=FORMAT_SPELLINGS[spelled],
    )


def _segment(request: SegmentRequest, endpoint: str | None) -> np.ndarray:
    if endpoint:
        from scribbleseg.cloud import segment_via_cloud

        return segment_via_cloud(request, endpoint=endpoint)
    return run_request(request)


def _read(path: Path | None, label: str) -> bytes | None:
    if path is None:
        return None
    try:
        return path.read_bytes()
    except OSError as error:
        raise ScribbleSegError(
            "InvalidParameter", f"Cannot read the {label} file {path}: {error.strerror}."
        ) from error
