"""The float32 copy of a float16 model: same answers from real ONNX Runtime sessions, written
once beside the model, rebuilt when the model changes, in memory where it cannot be written."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from scribbleseg.engine.float32 import float32_copy
from scribbleseg.engine.prior import onnx_session

WEIGHTS = np.array([[0.5, -1.25], [2.0, 0.125]], np.float16)


def write_float16_model(path: Path) -> Path:
    """y = relu(float16(x) @ WEIGHTS + 1) as float32: the subject model's pattern of casts
    around float16 weights and a float16 constant."""
    graph = helper.make_graph(
        [
            helper.make_node("Cast", ["x"], ["x16"], to=TensorProto.FLOAT16),
            helper.make_node("MatMul", ["x16", "weights"], ["product"]),
            helper.make_node("Constant", [], ["one"], value=numpy_helper.from_array(
                np.ones(1, np.float16), "one_value")),
            helper.make_node("Add", ["product", "one"], ["sum"]),
            helper.make_node("Relu", ["sum"], ["y16"]),
            helper.make_node("Cast", ["y16"], ["y"], to=TensorProto.FLOAT),
        ],
        "float16_model",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])],
        initializer=[numpy_helper.from_array(WEIGHTS, "weights")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(model, path)
    return path


def run(model: Path | bytes, x: np.ndarray) -> np.ndarray:
    return onnx_session(model).run(["y"], {"x": x})[0]


def test_the_copy_computes_in_float32_what_the_float16_model_computes(tmp_path):
    source = write_float16_model(tmp_path / "model.onnx")
    copy = float32_copy(source)
    x = np.array([[0.3, -0.7]], np.float32)
    expected = np.maximum(x @ WEIGHTS.astype(np.float32) + 1.0, 0.0)
    np.testing.assert_allclose(run(copy, x), expected, rtol=1e-6)
    # float16 rounds 0.3 to 0.2998: only the copy meets float32's precision
    np.testing.assert_allclose(run(source, x), expected, rtol=1e-2)


def test_the_copy_is_written_once_and_rebuilt_when_the_model_changes(tmp_path):
    source = write_float16_model(tmp_path / "model.onnx")
    copy = float32_copy(source)
    assert copy == tmp_path / ".cache" / "model.float32.onnx"
    written = copy.stat().st_mtime_ns
    assert float32_copy(source) == copy and copy.stat().st_mtime_ns == written

    later = copy.stat().st_mtime + 10  # the model rebuilt (build.py models --force)
    os.utime(source, (later, later))
    assert float32_copy(source) == copy
    assert copy.stat().st_mtime_ns != written


def test_where_the_copy_cannot_be_written_it_stays_in_memory(tmp_path):
    source = write_float16_model(tmp_path / "model.onnx")
    (tmp_path / ".cache").write_text("a file where the folder would go")
    model = float32_copy(source)
    assert isinstance(model, bytes)
    x = np.array([[1.0, 2.0]], np.float32)
    np.testing.assert_allclose(run(model, x), np.maximum(x @ WEIGHTS.astype(np.float32) + 1, 0))
    assert sorted(path.name for path in tmp_path.iterdir()) == [".cache", "model.onnx"]
