"""Turning the model's probabilities into tags: per-class thresholds, COCO supercategory as parent."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypedDict

import numpy as np

from imagetagger.modelspec import Label


class Tag(TypedDict):
    name: str
    confidence: float
    parents: list[str]


def tags_from_probabilities(probabilities: Sequence[float] | np.ndarray, labels: Sequence[Label]) -> list[Tag]:
    """Tags whose probability reaches their class threshold, most confident first."""
    probs = np.asarray(probabilities, dtype=np.float64)
    if probs.shape != (len(labels),):
        raise ValueError(f"expected {len(labels)} probabilities, got shape {probs.shape}")
    tags = [
        Tag(
            name=label.name, confidence=round(float(p), 4), parents=[label.parent] if label.parent != label.name else []
        )
        for label, p in zip(labels, probs, strict=True)
        if p >= label.threshold
    ]
    return sorted(tags, key=lambda tag: tag["confidence"], reverse=True)
