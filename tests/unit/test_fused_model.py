"""The fused default model: its ONNX graph (views, features, head, decoded boxes, per-class NonMaxSuppression) on a
stand-in detector with known outputs, the fusion head's fit, the tags' instances, and the committed artifact."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from imagetagger.modelspec import SERVING_INPUT_SIZE, load_model_spec  # noqa: E402
from imagetagger.preprocessing import prepare_bytes  # noqa: E402
from imagetagger.tags import instances_by_class, tags_from_probabilities  # noqa: E402
from imagetagger_endpoint.backends import merge_chunks  # noqa: E402
from imagetagger_endpoint.tiny_model import write_tiny_model  # noqa: E402
from imagetagger_training.fused import graph  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = ROOT / "models" / "default"
DOG, PERSON = 16, 0  # class indices (COCO ids 18 and 1)
# Anchors (ymin, xmin, ymax, xmax): 0 and 1 overlap (IoU 0.9), 2 reaches past the right edge.
ANCHORS = np.array([[0.1, 0.1, 0.5, 0.5], [0.12, 0.1, 0.52, 0.5], [0.6, 0.6, 0.9, 1.1]], np.float32)
DOG_LOGITS = (3.0, 2.0, 1.0)  # per anchor


def sigmoid(x: float) -> float:
    return float(1 / (1 + np.exp(-x)))


def stand_in_detector(path: Path) -> Path:
    """The converted detector's interface: zero box encodings (boxes = anchors); dog logits fixed per anchor; the
    person logit of anchor 0 grows with the view's mean brightness, so images differ."""
    anchors = len(ANCHORS)
    bias = np.full((1, anchors, 91), -10.0, np.float32)
    bias[0, :, 18] = DOG_LOGITS
    weight = np.zeros((1, anchors, 91), np.float32)
    weight[0, 0, 1], bias[0, 0, 1] = 8.0, 0.0
    nodes = [
        helper.make_node("ReduceMean", ["x", "axes"], ["mean"], keepdims=0),  # [N]
        helper.make_node("Reshape", ["mean", "shape"], ["mean3"]),  # [N, 1, 1]
        helper.make_node("Mul", ["mean3", "weight"], ["scaled"]),
        helper.make_node("Add", ["scaled", "bias"], ["concat_1:0"]),
        helper.make_node("Mul", ["mean3", "zeros"], ["flat"]),
        helper.make_node("Reshape", ["flat", "shape4"], ["concat:0"]),
    ]
    inits = [
        numpy_helper.from_array(np.array([1, 2, 3], np.int64), "axes"),
        numpy_helper.from_array(np.array([-1, 1, 1], np.int64), "shape"),
        numpy_helper.from_array(np.array([-1, anchors, 1, 4], np.int64), "shape4"),
        numpy_helper.from_array(weight, "weight"),
        numpy_helper.from_array(bias, "bias"),
        numpy_helper.from_array(np.zeros((1, anchors * 4, 1), np.float32), "zeros"),  # [N, 1, 1] -> [N, A*4, 1]
    ]
    g = helper.make_graph(
        nodes,
        "stand_in",
        [helper.make_tensor_value_info(graph.DETECTOR_INPUT, TensorProto.FLOAT, ["n", 300, 300, 3])],
        [
            helper.make_tensor_value_info("concat:0", TensorProto.FLOAT, ["n", anchors, 1, 4]),
            helper.make_tensor_value_info("concat_1:0", TensorProto.FLOAT, ["n", anchors, 91]),
        ],
        inits,
    )
    g.node[0].input[0] = graph.DETECTOR_INPUT
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 18)]), str(path))
    return path


@pytest.fixture(scope="module")
def parts(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("parts")
    return stand_in_detector(folder / "detector.onnx"), write_tiny_model(folder / "classifier") / "model.onnx"


def session(model) -> ort.InferenceSession:  # noqa: ANN001
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


def images(n: int) -> np.ndarray:
    return np.stack([np.full((300, 300, 3), 40 * (i + 1), np.uint8) for i in range(n)])


def test_features_are_the_detector_max_over_anchors_and_views_and_the_classifier(parts):
    detector, classifier = parts
    features = session(graph.build_graph(detector, ANCHORS, classifier, head=None)).run(None, {"image": images(2)})[0]
    assert features.shape == (2, 80, len(graph.FEATURES))
    # dog: the best anchor's logit, in the whole image and (same here) averaged over the crops
    np.testing.assert_allclose(features[:, DOG, :2], 3.0, atol=1e-4)
    # person depends on brightness: brighter image, higher detector evidence
    assert features[1, PERSON, 0] > features[0, PERSON, 0]


def test_head_boxes_and_nms(parts):
    detector, classifier = parts
    head = graph.Head(weights=(1.0, 0.0, 0.0), bias=-0.5, temperature=2.0)
    out = dict(
        zip(
            ("p", "det", "boxes", "scores"),
            session(graph.build_graph(detector, ANCHORS, classifier, head)).run(
                ["probabilities", "detections", "detection_boxes", "detection_scores"], {"image": images(2)}
            ),
            strict=True,
        )
    )
    assert out["p"][0, DOG] == pytest.approx(sigmoid((3.0 - 0.5) / 2.0), abs=1e-5)
    dogs = out["det"][:, 1] == DOG
    # per image: anchor 1 is suppressed by anchor 0 (IoU 0.9 > 0.6); anchors 0 and 2 stay, best first
    assert out["det"][dogs].tolist() == [[0, DOG, 0], [0, DOG, 2], [1, DOG, 0], [1, DOG, 2]]
    np.testing.assert_allclose(out["scores"][dogs], [sigmoid(3), sigmoid(1)] * 2, atol=1e-5)
    # boxes as x, y, w, h; anchor 2 clipped at the right edge
    np.testing.assert_allclose(out["boxes"][dogs][:2], [[0.1, 0.1, 0.4, 0.4], [0.6, 0.6, 0.4, 0.3]], atol=1e-5)


def test_batches_give_each_image_what_it_gets_alone(parts):
    detector, classifier = parts
    s = session(graph.build_graph(detector, ANCHORS, classifier, graph.Head((0.5, 0.5, 0.2), 0.1, 1.0)))
    batch = images(3)
    together = s.run(None, {"image": batch})
    for i in range(3):
        alone = s.run(None, {"image": batch[i : i + 1]})
        np.testing.assert_allclose(together[0][i], alone[0][0], atol=1e-6)
        rows = together[1][:, 0] == i
        assert (together[1][rows][:, 1:] == alone[1][:, 1:]).all()


def test_fit_head_learns_the_informative_feature_and_never_sees_held_out_rows():
    pytest.importorskip("sklearn")
    pytest.importorskip("torch")  # the temperature fit
    from imagetagger_training.fused.head import fit_head

    rng = np.random.default_rng(0)
    targets = (rng.random((60, 80)) < 0.05).astype(np.float64)
    informative = np.where(targets > 0, 2.0, -2.0) + rng.normal(0, 1.5, targets.shape)
    noise = rng.normal(0, 1, targets.shape)
    fitted = fit_head(np.stack([informative, noise, noise * 0], -1), targets)
    assert fitted.head.weights[0] > 0.5 > abs(fitted.head.weights[1])
    assert fitted.out_of_fold.shape == targets.shape and 0 < fitted.threshold < 1
    assert 0.2 < fitted.head.temperature < 5


def test_instances_are_grouped_sorted_capped_and_clipped():
    detections = np.array([[0, 3, 7]] * 12 + [[1, 5, 0]], np.int64)
    boxes = np.array([[0.5, 0.5, 0.2, 0.2]] * 12 + [[-0.1, 0.9, 0.5, 0.5]], np.float32)
    scores = np.linspace(0.3, 0.9, 13).astype(np.float32)
    found = instances_by_class(detections, boxes, scores, n_images=2)
    assert len(found[0][3]) == 10 and found[0][3][0]["confidence"] == pytest.approx(0.85, abs=1e-4)
    assert [i["confidence"] for i in found[0][3]] == sorted((i["confidence"] for i in found[0][3]), reverse=True)
    assert found[1][5][0]["box"] == [0.0, 0.9, 0.5, 0.1]  # clipped to the image
    with pytest.raises(ValueError, match="image 1 of a batch of 1"):
        instances_by_class(detections, boxes, scores, n_images=1)


def test_a_tag_carries_its_class_instances_and_others_none(tmp_path):
    labels = load_model_spec(write_tiny_model(tmp_path)).labels
    probabilities = np.zeros(80)
    probabilities[[3, 4]] = 0.9
    box = {"box": [0.1, 0.1, 0.2, 0.2], "confidence": 0.8}
    tags = tags_from_probabilities(probabilities, labels, {3: [box], 9: [box]})
    assert {t["name"]: t["instances"] for t in tags} == {labels[3].name: [box], labels[4].name: []}


def test_merge_chunks_renumbers_images_and_drops_padding():
    def chunk(n_real: int, padded: int) -> dict[str, np.ndarray]:
        rows = np.array([[i, 1, 0] for i in range(padded)], np.int64)
        return {
            "probabilities": np.arange(padded, dtype=np.float32)[:, None],
            "detections": rows,
            "detection_boxes": np.zeros((padded, 4), np.float32),
            "detection_scores": np.full(padded, 0.5, np.float32),
        }

    merged = merge_chunks([(0, 2, chunk(2, 2)), (2, 1, chunk(1, 2))])  # the second chunk was padded to 2
    assert merged["probabilities"].ravel().tolist() == [0, 1, 0]
    assert merged["detections"][:, 0].tolist() == [0, 1, 2]
    assert len(merged["detection_scores"]) == 3


# ------------------------------------------------------------------------------------------------ committed artifact
needs_default = pytest.mark.skipif(not (DEFAULT / "seen_images.json").is_file(), reason="no fused models/default")


@needs_default
def test_the_lambda_prepares_at_the_served_models_size():
    assert load_model_spec(DEFAULT).size == SERVING_INPUT_SIZE == graph.SIZE


@needs_default
def test_the_committed_model_lists_what_each_part_saw_and_its_sources():
    spec = json.loads((DEFAULT / "model.json").read_text())
    seen = json.loads((DEFAULT / spec["seen_images"]).read_text())
    split = json.loads((ROOT / "data" / "coco-clean" / "split-fused-seed0.json").read_text())
    clean = json.loads((ROOT / "data" / "coco-clean" / "annotations" / "instances_test.json").read_text())
    test_ids = {image["id"] for image in clean["images"]}
    assert len(test_ids) == len(split["test"])
    assert test_ids <= set(seen["detector"]["coco_all_except"])  # the test half is unseen by the detector
    assert not test_ids & set(seen["fusion_head"]["coco_ids"]) and not test_ids & set(seen["classifier"]["coco_ids"])
    assert len(spec["parts"]["detector"]["member_sha256"]) == 64


@needs_default
def test_the_committed_model_answers_each_image_alike_in_any_batch():
    files = sorted((ROOT / "data" / "coco-clean" / "clean").glob("*.jpg"))[:3]
    batch = np.stack([prepare_bytes(f.read_bytes(), SERVING_INPUT_SIZE) for f in files])
    s = ort.InferenceSession(str(DEFAULT / "model.onnx"), providers=["CPUExecutionProvider"])
    together = s.run(["probabilities", "detections"], {"image": batch})
    for i in (0, 2):
        alone = s.run(["probabilities", "detections"], {"image": batch[i : i + 1]})
        np.testing.assert_allclose(together[0][i], alone[0][0], atol=1e-5)
        assert (together[1][together[1][:, 0] == i][:, 1:] == alone[1][:, 1:]).all()


@pytest.mark.parametrize("backend", ["ort-fp32", "ov-bf16"])
def test_the_endpoint_answers_tags_with_their_boxes_on_every_backend(parts, tmp_path, backend):
    from imagetagger_endpoint import handler
    from imagetagger_endpoint.backends import backend_available, load_backend

    detector, classifier = parts
    model_dir = write_tiny_model(tmp_path)  # its model.json (labels, threshold 0.5), the fused graph as model.onnx
    onnx.save(
        graph.build_graph(detector, ANCHORS, classifier, graph.Head((1.0, 0.0, 0.0), 0.0, 1.0)),
        model_dir / "model.onnx",
    )
    if not backend_available(model_dir, backend, None):
        pytest.skip(f"{backend} is not installed here")
    model = handler.TaggingModel(load_model_spec(model_dir), load_backend(model_dir, backend, tmp_path / "cache"))
    batch = np.stack([np.full((300, 300, 3), 60 * (i + 1), np.uint8) for i in range(3)])  # OpenVINO pads 3 to 4
    answer = handler.predict_fn(batch, model)
    assert len(answer["predictions"]) == 3
    for prediction in answer["predictions"]:
        (dog,) = [tag for tag in prediction["tags"] if tag["name"] == "dog"]
        boxes = [instance["box"] for instance in dog["instances"]]
        np.testing.assert_allclose(boxes, [[0.1, 0.1, 0.4, 0.4], [0.6, 0.6, 0.4, 0.3]], atol=2e-3)
        # person: the stand-in's brightness-dependent anchor 0; no other class has a box
        assert all(tag["instances"] == [] for tag in prediction["tags"] if tag["name"] not in ("dog", "person"))
    people = [[t for t in p["tags"] if t["name"] == "person"] for p in answer["predictions"]]
    assert [len(found) for found in people] == [0, 0, 1]  # only the brightest image's person logit is high enough
    assert people[2][0]["instances"][0]["box"] == pytest.approx([0.1, 0.1, 0.4, 0.4], abs=2e-3)
