"""The fused model's `embedding` output: what "find similar" and the users' own labels compare (issue 15).

    embedding = L2-normalise((pooled - mean) @ components.T)                          -> "embedding" [N, DIM]

`pooled` is the lite0 classifier's global-average-pooled backbone features of the whole image ([N, 1280], inside the
fused graph); mean and components are a PCA fitted on data/coco-sample/train (never on data/coco-clean, which the
few-shot label evaluation scores on). The projection is part of the ONNX graph, so every backend (ONNX Runtime fp32
and int8, OpenVINO fp32/bf16/int8) returns the embedding.

`make model` adds it in build.py; on its own it adds (or replaces) the output of an existing fused model without
rebuilding the detector part, with the same fit:

    python -m imagetagger_training.fused.embedding --model-dir models/default
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from imagetagger.preprocessing import prepare_bytes

REPO = Path(__file__).resolve().parents[3]
FIT_ANNOTATIONS = REPO / "data" / "coco-sample" / "annotations" / "instances_train.json"
FIT_IMAGES = REPO / "data" / "coco-sample" / "train"
# The classifier's pooled features inside the fused graph (its own graph, prefixed "cls/" by graph.build_graph).
POOLED = "cls//tagger/ReduceMean_output_0"
OUTPUT = "embedding"
# 128, not 256: a PCA fitted on 208 images has at most 207 informative directions, and its last ones are noise.
DIM = 128
NORM_EPS = 1e-12
BATCH = 8


@dataclass(frozen=True)
class Projection:
    mean: np.ndarray  # [F] float32
    components: np.ndarray  # [DIM, F] float32, rows orthonormal, largest variance first
    explained_variance: float  # share of the fit images' variance the DIM components keep


def fit_projection(pooled: np.ndarray, dim: int = DIM) -> Projection:
    """PCA by SVD of the centred features; each component's sign fixed (largest entry positive) for reproducibility."""
    if len(pooled) <= dim:
        raise ValueError(f"a {dim}-d projection needs more than {dim} images, got {len(pooled)}")
    x = pooled.astype(np.float64)
    mean = x.mean(axis=0)
    _, singular, vt = np.linalg.svd(x - mean, full_matrices=False)
    components = vt[:dim]
    signs = np.sign(components[np.arange(dim), np.abs(components).argmax(axis=1)])
    components = components * signs[:, None]
    explained = float((singular[:dim] ** 2).sum() / (singular**2).sum())
    return Projection(mean.astype(np.float32), components.astype(np.float32), explained)


def without_embedding(model: onnx.ModelProto) -> onnx.ModelProto:
    """A copy without a previous embedding output and its nodes (so adding it again replaces it)."""
    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    ours = [n for n in copy.graph.node if n.name.startswith("embedding/")]
    for node in ours:
        copy.graph.node.remove(node)
    for init in [i for i in copy.graph.initializer if i.name.startswith("embedding/")]:
        copy.graph.initializer.remove(init)
    for output in [o for o in copy.graph.output if o.name == OUTPUT]:
        copy.graph.output.remove(output)
    return copy


def add_embedding(model: onnx.ModelProto, projection: Projection) -> onnx.ModelProto:
    """The model with the "embedding" output appended (nodes after every other: the int8 quantiser keeps the nodes
    after the last convolution in float, so the projection and the norm stay float32 in every variant)."""
    model = without_embedding(model)
    graph = model.graph
    if not any(POOLED in node.output for node in graph.node):
        raise ValueError(f"the model has no {POOLED} tensor: not a fused lite0 model")
    graph.initializer.extend(
        [
            numpy_helper.from_array(projection.mean, "embedding/mean"),
            numpy_helper.from_array(np.ascontiguousarray(projection.components.T), "embedding/components_t"),
            numpy_helper.from_array(np.asarray([NORM_EPS], np.float32), "embedding/eps"),
            numpy_helper.from_array(np.asarray([1], np.int64), "embedding/axis1"),
        ]
    )

    def node(op: str, inputs: list[str], output: str, **attrs: object) -> str:
        graph.node.append(helper.make_node(op, inputs, [output], name=f"embedding/{output}", **attrs))
        return output

    centred = node("Sub", [POOLED, "embedding/mean"], "embedding/centred")
    reduced = node("MatMul", [centred, "embedding/components_t"], "embedding/reduced")
    norm = node("ReduceL2", [reduced, "embedding/axis1"], "embedding/norm", keepdims=1)
    safe = node("Max", [norm, "embedding/eps"], "embedding/safe_norm")
    node("Div", [reduced, safe], OUTPUT)
    graph.output.append(
        helper.make_tensor_value_info(OUTPUT, TensorProto.FLOAT, ["batch", projection.components.shape[0]])
    )
    onnx.checker.check_model(model)
    return model


def pooled_features(model: onnx.ModelProto, paths: list[Path], size: int) -> np.ndarray:
    """The classifier's pooled features of each image, through the given (served) graph."""
    import onnxruntime as ort

    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    probe.graph.output.append(helper.make_empty_tensor_value_info(POOLED))
    options = ort.SessionOptions()
    options.intra_op_num_threads = int(os.environ.get("IMAGETAGGER_THREADS", os.cpu_count() or 1))
    session = ort.InferenceSession(probe.SerializeToString(), options, providers=["CPUExecutionProvider"])
    chunks = []
    for start in range(0, len(paths), BATCH):
        batch = np.stack([prepare_bytes(p.read_bytes(), size) for p in paths[start : start + BATCH]])
        chunks.append(session.run([POOLED], {"image": batch})[0])
    return np.concatenate(chunks).astype(np.float32)


def fit_images() -> list[Path]:
    names = sorted(image["file_name"] for image in json.loads(FIT_ANNOTATIONS.read_text())["images"])
    return [FIT_IMAGES / name for name in names]


def fitted_projection(model: onnx.ModelProto, size: int) -> Projection:
    return fit_projection(pooled_features(model, fit_images(), size))


def spec_entry(projection: Projection) -> dict[str, Any]:
    """model.json "embedding": what callers need (dim) and what it was fitted on (the model card repeats it)."""
    return {
        "dim": int(projection.components.shape[0]),
        "output": OUTPUT,
        "dtype_stored": "float16 little-endian",
        "source": "lite0 classifier: global-average-pooled backbone features of the whole image (1280)",
        "projection": "PCA (centred, not whitened), then L2-normalised",
        "fitted_on": f"data/coco-sample/train ({len(fit_images())} images); never data/coco-clean",
        "explained_variance": round(projection.explained_variance, 4),
    }


def describe(spec: dict[str, Any], projection: Projection) -> None:
    """model.json's entries for the output: in "outputs", and "embedding" (dim, what fitted it)."""
    spec["outputs"][OUTPUT] = f"[N, {DIM}] float32, L2-normalised (PCA of the classifier's pooled features)"
    spec["embedding"] = spec_entry(projection)


def add_to_model_dir(model_dir: Path) -> dict[str, Any]:
    """Add (or replace) the embedding of the fused model in `model_dir`; model.json gets a new model_version (the
    graph changed; its tags did not) and the card is written again."""
    from imagetagger_training.fused.card import model_card

    spec = json.loads((model_dir / "model.json").read_text())
    model = without_embedding(onnx.load(str(model_dir / "model.onnx")))
    projection = fitted_projection(model, int(spec["preprocessing"]["size"]))
    onnx.save(add_embedding(model, projection), str(model_dir / "model.onnx"))
    digest = hashlib.sha256((model_dir / "model.onnx").read_bytes()).hexdigest()
    spec["model_version"] = re.sub(
        r"-\d{8}-[0-9a-f]{8}$", f"-{datetime.now(UTC):%Y%m%d}-{digest[:8]}", spec["model_version"]
    )
    describe(spec, projection)
    (model_dir / "model.json").write_text(json.dumps(spec, indent=1) + "\n")
    (model_dir / "model_card.md").write_text(model_card(spec, digest))
    return spec


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model-dir", type=Path, default=REPO / "models" / "default")
    args = parser.parse_args()
    spec = add_to_model_dir(args.model_dir)
    print(json.dumps({"model_version": spec["model_version"], "embedding": spec["embedding"]}))  # noqa: T201


if __name__ == "__main__":
    main()
