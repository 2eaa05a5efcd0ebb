"""Evaluate a model artifact (its ONNX graph, i.e. what is served) on COCO annotations or a corrections manifest.

Honest by construction: a model lists, per pretrained part, the COCO images it may have trained on (model.json's
"seen_images" file); every evaluation reports the figures on all images and on the clean subset (images no part
may have seen) side by side. Runs without torch (the runtime environment has ONNX Runtime and NumPy only).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from imagetagger.errors import InvalidImageError
from imagetagger.modelspec import load_model_spec
from imagetagger.preprocessing import prepare_bytes
from imagetagger_training.data import LabelledImages, label_source
from imagetagger_training.metrics import compute_metrics, per_class_average_precision

DEFAULT_MODEL_DIR = Path(__file__).resolve().parents[2] / "models" / "default"


def onnx_session(model_dir: Path):  # noqa: ANN201 - onnxruntime is imported lazily
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = int(os.environ.get("IMAGETAGGER_THREADS", min(4, os.cpu_count() or 1)))
    return ort.InferenceSession(str(model_dir / "model.onnx"), options, providers=["CPUExecutionProvider"])


# A batch of prepared images (uint8 NHWC) to probabilities: the fp32 graph by default, or a serving backend's run.
BatchPredictor = Callable[[np.ndarray], np.ndarray]


def fp32_predictor(model_dir: Path) -> BatchPredictor:
    session = onnx_session(model_dir)
    return lambda batch: session.run(["probabilities"], {"image": batch})[0]


def predict_files(
    model_dir: Path, paths: list[Path], batch_size: int = 16, predict: BatchPredictor | None = None
) -> tuple[np.ndarray, list[int], dict]:
    """Probabilities for the readable files: (probs [K, C], indices of those K files, {path: reason} for the rest).

    Streams in batches, so a full COCO split does not have to fit in memory as decoded images.
    """
    spec = load_model_spec(model_dir)
    predict = predict or fp32_predictor(model_dir)
    outputs: list[np.ndarray] = []
    kept: list[int] = []
    unreadable: dict[str, str] = {}
    batch: list[np.ndarray] = []
    for i, path in enumerate(paths):
        try:
            batch.append(prepare_bytes(Path(path).read_bytes(), spec.size))
            kept.append(i)
        except (InvalidImageError, OSError) as exc:
            unreadable[str(path)] = str(exc)
        if len(batch) == batch_size or (i == len(paths) - 1 and batch):
            outputs.append(predict(np.stack(batch)))
            batch = []
    probs = np.concatenate(outputs) if outputs else np.zeros((0, len(spec.labels)), dtype=np.float32)
    return probs, kept, unreadable


@dataclass
class Evaluation:
    metrics: dict[str, Any]  # the figures of `imagetagger evaluate --json`
    per_class_ap: dict[str, float]  # percentages, classes with a positive only
    unreadable: dict[str, str]  # path -> reason
    model_version: str
    names: list[str]
    probabilities: np.ndarray
    targets: np.ndarray
    # The clean subset: figures on images no part of the model may have trained on, and how many each part saw.
    clean: dict[str, Any] | None = None
    seen_by: dict[str, int] = field(default_factory=dict)
    clean_note: str = ""


def seen_images(model_dir: Path) -> dict[str, dict[str, Any]] | None:
    """Per part, the COCO ids it may have trained on ({"coco_ids": [...]} or {"coco_all_except": [...]}); None when
    the model does not say (a model trained here before this was recorded)."""
    name = json.loads((model_dir / "model.json").read_text()).get("seen_images")
    if not name:
        return None
    return json.loads((model_dir / name).read_text())


def seen_mask(part: dict[str, Any], coco_ids: list[int]) -> np.ndarray:
    """True for each image the part may have trained on."""
    ids = np.asarray(coco_ids)
    if "coco_all_except" in part:
        return ~np.isin(ids, np.asarray(part["coco_all_except"]))
    return np.isin(ids, np.asarray(part["coco_ids"]))


def clean_subset(model_dir: Path, coco_ids: list[int] | None) -> tuple[np.ndarray | None, dict[str, int], str]:
    """(mask of clean images, images seen per part, a note when the clean subset cannot be told)."""
    parts = seen_images(model_dir)
    if parts is None:
        return None, {}, "the model does not list the images its parts trained on"
    if coco_ids is None:
        return None, {}, "the evaluated images have no COCO ids, so which ones the model saw is unknown"
    masks = {name: seen_mask(part, coco_ids) for name, part in parts.items()}
    clean = ~np.any(np.stack(list(masks.values())), axis=0) if masks else np.ones(len(coco_ids), bool)
    return clean, {name: int(mask.sum()) for name, mask in masks.items()}, ""


def evaluate_model(
    model_dir: Path, annotations: Path, images_dir: Path | None, predict: BatchPredictor | None = None
) -> Evaluation:
    """Score every readable image with the ONNX model (or `predict`) and compute the report at the model's own
    thresholds."""
    spec = load_model_spec(model_dir)
    images: LabelledImages = label_source(annotations, images_dir).load()
    if images.names != spec.names:
        raise ValueError("the annotations' classes do not match the model's labels")
    probs, kept, unreadable = predict_files(model_dir, images.paths, predict=predict)
    if not kept:
        raise ValueError(f"none of the {len(images)} images could be read")
    targets = images.targets[kept]
    thresholds = np.array([label.threshold for label in spec.labels])
    ap = per_class_average_precision(probs, targets)
    ids = None if images.coco_ids is None else [images.coco_ids[i] for i in kept]
    mask, seen_by, note = clean_subset(model_dir, ids)
    clean = None
    if mask is not None:
        clean = compute_metrics(probs[mask], targets[mask], thresholds) if mask.any() else {"n_images": 0}
    return Evaluation(
        metrics=compute_metrics(probs, targets, thresholds),
        per_class_ap={n: 100 * float(v) for n, v in zip(spec.names, ap, strict=True) if not np.isnan(v)},
        unreadable=unreadable,
        model_version=spec.model_version,
        names=spec.names,
        probabilities=probs,
        targets=targets,
        clean=clean,
        seen_by=seen_by,
        clean_note=note,
    )
