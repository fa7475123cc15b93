"""`scribbleseg segment`: cut an object out of an image file from stroke files.

Runs the local engine, or the cloud protocol when --endpoint is given. Stroke and mask files
follow imageio's rule: a pixel is set where it is opaque (a transparent layer with painted lines)
or bright (a black-and-white mask).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from scribbleseg.output import encode_result
from scribbleseg.request import POSTPROCESS_OPTIONS, RETURN_FORMS, SegmentRequest, decode_request
from scribbleseg_editor.errors import ScribbleSegError

JPEG_SUFFIXES = (".jpg", ".jpeg")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("image", type=Path, help="the photo: JPG, PNG, BMP or WEBP")
    parser.add_argument("--positive", type=Path, help="strokes on the object")
    parser.add_argument("--negative", type=Path, help="strokes on the background")
    current = parser.add_mutually_exclusive_group()
    current.add_argument("--mask", type=Path, help="the selection so far (white = selected)")
    current.add_argument(
        "--integrated", type=Path,
        help="one RGB file: R = mask, G = positive strokes, B = negative strokes",
    )
    parser.add_argument("--return-form", choices=RETURN_FORMS, default="rgb_alpha",
                        help="cut-out (default), the mask alone, or the object on white")
    parser.add_argument("--format", type=str.upper, choices=("PNG", "JPG", "JPEG"),
                        help="output format (default: JPG for a .jpg/.jpeg output name, else PNG;"
                             " JPG turns rgb_alpha into white_background)")
    parser.add_argument("--postprocess", choices=POSTPROCESS_OPTIONS, default="maskrefine",
                        help="edge refinement: maskrefine (finest, default) or edgerefine")
    parser.add_argument("--no-feather", action="store_true", help="keep the edge unsoftened")
    parser.add_argument("--endpoint", metavar="URL",
                        help="segment with this cloud-protocol service instead of the local engine")
    parser.add_argument("-o", "--output", type=Path, required=True, help="file to write")


def run(args: argparse.Namespace) -> int:
    request = decode_request(
        image=_read(args.image, "image"),
        mask=_read(args.mask, "mask"),
        positive=_read(args.positive, "positive strokes"),
        negative=_read(args.negative, "negative strokes"),
        integrated=_read(args.integrated, "integrated mask"),
        params=_api_params(args),
    )
    alpha = _segment(request, args.endpoint)
    data, _ = encode_result(request.image, alpha, request.options)
    try:
        args.output.write_bytes(data)
    except OSError as error:
        raise ScribbleSegError(
            "InvalidParameter", f"Cannot write the output file {args.output}: {error.strerror}."
        ) from error
    print(f"wrote {args.output}")
    return 0


def _api_params(args: argparse.Namespace) -> dict[str, str]:
    output_is_jpeg = args.output.suffix.lower() in JPEG_SUFFIXES
    return {
        "ReturnForm": args.return_form,
        "ReturnFormat": args.format or ("JPG" if output_is_jpeg else "PNG"),
        "EdgeFeathering": "false" if args.no_feather else "true",
        "PostprocessOption": args.postprocess,
    }


def _segment(request: SegmentRequest, endpoint: str | None) -> np.ndarray:
    if endpoint:
        from scribbleseg.cloud import segment_via_cloud

        return segment_via_cloud(request, endpoint=endpoint)
    from scribbleseg.engine import prepare, segment_prepared

    return segment_prepared(
        prepare(request.image), request.positive, request.negative, request.mask,
        postprocess=request.options.postprocess, feather=request.options.edge_feathering,
    )


def _read(path: Path | None, label: str) -> bytes | None:
    if path is None:
        return None
    try:
        return path.read_bytes()
    except OSError as error:
        raise ScribbleSegError(
            "InvalidParameter", f"Cannot read the {label} file {path}: {error.strerror}."
        ) from error
