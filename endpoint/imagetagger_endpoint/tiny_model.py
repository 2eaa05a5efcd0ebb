"""A tiny model in the artifact format, for tests that need a real ONNX model without torch or a trained artifact.

It keeps the contract (input `image` uint8 [N, H, W, 3], output `probabilities` [N, 80]) and depends on the pixels:
mean colour per quarter of the image, a fixed random linear layer, sigmoid. So different images get different tags,
and the full serving path (decoding, preprocessing, ONNX Runtime, thresholds) runs for real. Needs the `onnx` package.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from imagetagger.coco import COCO_CATEGORIES
from imagetagger.modelspec import SERVING_INPUT_SIZE

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def coco_labels(threshold: float = 0.5) -> list[dict[str, Any]]:
    """model.json's labels for COCO's vocabulary, every class at one threshold."""
    return [{"name": c.name, "coco_id": c.coco_id, "parent": c.parent, "threshold": threshold} for c in COCO_CATEGORIES]


def build_tiny_onnx(size: int = SERVING_INPUT_SIZE, classes: int = 80, seed: int = 0) -> bytes:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    half = size // 2
    features = 12  # 4 quarters x 3 colour channels
    weights = rng.normal(0.0, 4.0, (features, classes)).astype(np.float32)
    bias = rng.normal(-1.0, 1.0, classes).astype(np.float32)
    initializers = [
        numpy_helper.from_array(weights, "weights"),
        numpy_helper.from_array(bias, "bias"),
        numpy_helper.from_array(np.array([1 / 255.0], np.float32), "to_unit"),
        numpy_helper.from_array(np.array([0, features], np.int64), "flat_shape"),
    ]
    nodes = [
        helper.make_node("Cast", ["image"], ["pixels"], to=TensorProto.FLOAT),
        helper.make_node("Mul", ["pixels", "to_unit"], ["unit"]),
        helper.make_node("Transpose", ["unit"], ["nchw"], perm=[0, 3, 1, 2]),
        helper.make_node("AveragePool", ["nchw"], ["quarters"], kernel_shape=[half, half], strides=[half, half]),
        helper.make_node("Reshape", ["quarters", "flat_shape"], ["flat"]),
        helper.make_node("Gemm", ["flat", "weights", "bias"], ["logits"]),
        helper.make_node("Sigmoid", ["logits"], ["probabilities"]),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny_tagger",
        [helper.make_tensor_value_info("image", TensorProto.UINT8, ["batch", size, size, 3])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", classes])],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    return model.SerializeToString()


def write_tiny_model(out_dir: Path, size: int = SERVING_INPUT_SIZE) -> Path:
    """model.onnx + model.json (COCO labels, threshold 0.5) in out_dir; returns out_dir."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "model.onnx").write_bytes(build_tiny_onnx(size))
    manifest = {
        "model_version": "tiny-test",
        "backbone": "tiny",
        "preprocessing": {"size": size, "mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD)},
        "labels": coco_labels(),
        "metrics": {},
    }
    (out_dir / "model.json").write_text(json.dumps(manifest))
    return out_dir
