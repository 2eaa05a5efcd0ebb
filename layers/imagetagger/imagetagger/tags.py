"""Turning the model's probabilities into tags: per-class thresholds, COCO supercategory as parent."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, NotRequired, TypedDict

import numpy as np

from imagetagger.modelspec import Label


class Instance(TypedDict):
    """One place the tag's object was found: box [x, y, w, h] normalised to the original image (x, y the top-left
    corner), as Rekognition's Labels[].Instances[].BoundingBox; confidence of that detection."""

    box: list[float]
    confidence: float


TagSource = Literal["model", "custom", "user"]


class Tag(TypedDict):
    name: str
    confidence: float
    parents: list[str]
    # Most confident first; [] for a tag without a box (classifier-only, added by a user, or stored before boxes).
    instances: list[Instance]
    # Where the tag comes from; absent means "model" (the default model). "custom": the user's own label's classifier
    # (confidence = its probability); "user": added by hand (confidence 1). See imagetagger.custom_labels.
    source: NotRequired[TagSource]


# The boxes contract: at most this many instances per tag, most confident first, values rounded to 4 decimals.
MAX_INSTANCES = 10


def instances_by_class(
    detections: np.ndarray, boxes: np.ndarray, scores: np.ndarray, n_images: int
) -> list[dict[int, list[Instance]]]:
    """Per image, {class index: instances} from a detector model's outputs after NonMaxSuppression: `detections`
    [K, 3] (image, class, anchor), `boxes` [K, 4] (x, y, w, h, fractions of the image), `scores` [K]."""
    found: list[dict[int, list[Instance]]] = [{} for _ in range(n_images)]
    for (image, label, _anchor), box, score in zip(detections.tolist(), boxes.tolist(), scores.tolist(), strict=True):
        if not 0 <= image < n_images:
            raise ValueError(f"a detection names image {image} of a batch of {n_images}")
        x, y = min(max(box[0], 0.0), 1.0), min(max(box[1], 0.0), 1.0)
        w, h = min(max(box[2], 0.0), 1.0 - x), min(max(box[3], 0.0), 1.0 - y)
        rounded = [round(v, 4) for v in (x, y, w, h)]
        found[image].setdefault(int(label), []).append(Instance(box=rounded, confidence=round(float(score), 4)))
    for per_class in found:
        for label, instances in per_class.items():
            per_class[label] = sorted(instances, key=lambda i: i["confidence"], reverse=True)[:MAX_INSTANCES]
    return found


def tags_from_probabilities(
    probabilities: Sequence[float] | np.ndarray,
    labels: Sequence[Label],
    instances: Mapping[int, list[Instance]] | None = None,
) -> list[Tag]:
    """Tags whose probability reaches their class threshold, most confident first; each carries its class's
    instances (by class index; none for a class the detector has no box for)."""
    probs = np.asarray(probabilities, dtype=np.float64)
    if probs.shape != (len(labels),):
        raise ValueError(f"expected {len(labels)} probabilities, got shape {probs.shape}")
    tags = [
        Tag(
            name=label.name,
            confidence=round(float(p), 4),
            parents=[label.parent] if label.parent != label.name else [],
            instances=list((instances or {}).get(index, [])),
        )
        for index, (label, p) in enumerate(zip(labels, probs, strict=True))
        if p >= label.threshold
    ]
    return sorted(tags, key=lambda tag: tag["confidence"], reverse=True)


def tag_from_dict(raw: Mapping[str, Any]) -> Tag:
    """A Tag from its JSON or DynamoDB form (numbers may be Decimal); a missing "instances" (records written before
    boxes existed) reads as []. KeyError, TypeError or ValueError for a malformed one."""
    return Tag(
        name=str(raw["name"]),
        confidence=float(raw["confidence"]),
        parents=[str(parent) for parent in raw.get("parents") or []],
        instances=[_instance_from_dict(instance) for instance in raw.get("instances") or []],
    )


def _instance_from_dict(raw: Mapping[str, Any]) -> Instance:
    box = [float(value) for value in raw["box"]]
    if len(box) != 4:
        raise ValueError(f"a box is [x, y, w, h], got {len(box)} numbers")
    return Instance(box=box, confidence=float(raw["confidence"]))
