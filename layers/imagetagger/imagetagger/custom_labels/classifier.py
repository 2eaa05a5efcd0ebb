"""A trained custom label as stored and applied: a linear classifier over image embeddings, numpy only.

Training (scikit-learn's LogisticRegression, custom_labels.training) happens in the label training function; what it
leaves is a weight vector, a bias and the threshold chosen for precision, so the processing function and the API apply
a label with one matrix-vector product and no scikit-learn.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np


@dataclass(frozen=True)
class LabelClassifier:
    weights: np.ndarray  # float32 [D]
    bias: float
    threshold: float  # a probability at or above it tags the image
    precision: float  # estimated by cross-validation at the threshold
    recall: float
    embedding_version: str  # the model whose embeddings it was trained on; others' embeddings are not comparable

    def probabilities(self, embeddings: np.ndarray) -> np.ndarray:
        """P(label) for each row of `embeddings` [N, D] (float32)."""
        logits = embeddings.astype(np.float32, copy=False) @ self.weights + np.float32(self.bias)
        return 1.0 / (1.0 + np.exp(-logits.astype(np.float64)))

    def to_item(self) -> dict[str, Any]:
        return {
            "weights": self.weights.astype("<f4").tobytes(),
            "bias": _decimal(self.bias),
            "threshold": _decimal(self.threshold),
            "precision": _decimal(self.precision),
            "recall": _decimal(self.recall),
            "embedding_version": self.embedding_version,
        }

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> LabelClassifier:
        raw = item["weights"]
        data = raw.value if hasattr(raw, "value") else bytes(raw)  # boto3 returns Binary
        return cls(
            weights=np.frombuffer(data, dtype="<f4").astype(np.float32),
            bias=float(item["bias"]),
            threshold=float(item["threshold"]),
            precision=float(item["precision"]),
            recall=float(item["recall"]),
            embedding_version=str(item.get("embedding_version", "")),
        )


def _decimal(value: float) -> Decimal:
    return Decimal(str(round(float(value), 6)))
