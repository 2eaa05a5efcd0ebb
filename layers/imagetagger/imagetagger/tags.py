"""Turning the model's probabilities into tags: per-class thresholds, COCO supercategory as parent."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypedDict

import numpy as np

from imagetagger.modelspec import Label


class Instance(TypedDict):
    """One place the tag's object was found: box [x, y, w, h] normalised to the original image (x, y the top-left
    corner), as Rekognition's Labels[].Instances[].BoundingBox; confidence of that detection."""

    box: list[float]
    confidence: float


class Tag(TypedDict):
    name: str
    confidence: float
    parents: list[str]
    # Most confident first; [] for a tag without a box (classifier-only, added by a user, or stored before boxes).
    instances: list[Instance]


def tags_from_probabilities(probabilities: Sequence[float] | np.ndarray, labels: Sequence[Label]) -> list[Tag]:
    """Tags whose probability reaches their class threshold, most confident first."""
    probs = np.asarray(probabilities, dtype=np.float64)
    if probs.shape != (len(labels),):
        raise ValueError(f"expected {len(labels)} probabilities, got shape {probs.shape}")
    tags = [
        Tag(
            name=label.name,
            confidence=round(float(p), 4),
            parents=[label.parent] if label.parent != label.name else [],
            instances=[],
        )
        for label, p in zip(labels, probs, strict=True)
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
