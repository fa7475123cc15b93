"""A float32 copy of a float16 ONNX model, for ONNX Runtime on the CPU.

The subject model as shipped (models/README.md) keeps its weights in float16 and computes its
convolutions in float16. ONNX Runtime's float16 kernels on x86 CPUs are slower than its float32
ones, so on the CPU the engine runs a float32 copy, with the same probabilities (the figures:
models/README.md). The copy is written once, by the `onnx` package, into the models folder's
.cache/, and kept in memory where that folder cannot be written.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path

import numpy as np
import onnx
from onnx import AttributeProto, TensorProto, numpy_helper

from scribbleseg_editor.models import CACHE_FOLDER

LOG = logging.getLogger(__name__)


def float32_copy(source: Path) -> Path | bytes:
    """The path of source's float32 copy, written first when missing or older than source; the
    model itself (serialized) when it cannot be written."""
    target = source.parent / CACHE_FOLDER / f"{source.stem}.float32.onnx"
    if target.is_file() and target.stat().st_mtime >= source.stat().st_mtime:
        return target
    model = float32_model(source)
    # One partial file per process: engine hosts started together each write their own.
    partial = target.with_name(f"{target.name}.{os.getpid()}.part")
    try:
        target.parent.mkdir(exist_ok=True)
        partial.write_bytes(model)
        partial.replace(target)
    except OSError as error:
        LOG.info("could not write %s (%s): its float32 model stays in memory", target, error)
        with contextlib.suppress(OSError):  # a disk that filled up keeps no partial copy
            partial.unlink()
        return model
    LOG.info("wrote %s, the float32 copy of %s, for the CPU", target, source.name)
    return target


def float32_model(source: Path) -> bytes:
    """source's model, serialized, with every float16 weight, constant, cast and declared type
    of its main graph made float32 (the subject model has no subgraphs)."""
    model = onnx.load(source)
    graph = model.graph
    for tensor in graph.initializer:
        _make_float32(tensor)
    for node in graph.node:
        for attribute in node.attribute:
            if attribute.type == AttributeProto.TENSOR:
                _make_float32(attribute.t)
            elif node.op_type == "Cast" and attribute.name == "to" and (
                attribute.i == TensorProto.FLOAT16
            ):
                attribute.i = TensorProto.FLOAT
    for value in (*graph.input, *graph.output, *graph.value_info):
        if value.type.tensor_type.elem_type == TensorProto.FLOAT16:
            value.type.tensor_type.elem_type = TensorProto.FLOAT
    return model.SerializeToString()


def _make_float32(tensor: TensorProto) -> None:
    """A float16 tensor, in place, as float32 (others stay as they are)."""
    if tensor.data_type == TensorProto.FLOAT16:
        values = numpy_helper.to_array(tensor).astype(np.float32)
        tensor.CopyFrom(numpy_helper.from_array(values, tensor.name))
