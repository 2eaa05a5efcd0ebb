"""Multi-label metrics: mAP, the CP/CR/CF1/OP/OR/OF1 family, per-label accuracy next to the all-negative baseline.

All figures are percentages. mAP averages only classes with at least one positive in the evaluated set (AP is
undefined otherwise); CP/CR average over those same classes; OP/OR/OF1 are micro-averaged over every decision.

NumPy only, so that `imagetagger evaluate` runs in the runtime environment (no torch, no scikit-learn); AP is
scikit-learn's `average_precision_score` (step-wise, tied scores as one threshold), which tests/unit/test_metrics.py
checks against scikit-learn itself.
"""

from __future__ import annotations

from typing import Any

import numpy as np

METRIC_KEYS = ("mAP", "CP", "CR", "CF1", "OP", "OR", "OF1", "per_label_accuracy", "all_negative_per_label_accuracy")


def _f1(precision: float, recall: float) -> float:
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def average_precision(scores: np.ndarray, labels: np.ndarray) -> float:
    """AP of one class: sum over distinct score thresholds of (recall step) x precision; NaN without a positive."""
    labels = np.asarray(labels) > 0
    if not labels.any():
        return float("nan")
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="mergesort")
    ranked, hits = np.asarray(scores, dtype=np.float64)[order], labels[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(ranked)), len(ranked) - 1]
    true_pos = np.cumsum(hits)[last_of_tie]
    precision = true_pos / (last_of_tie + 1)
    recall = true_pos / true_pos[-1]
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def per_class_average_precision(probabilities: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """AP of each class (NaN where the class has no positive)."""
    return np.array([average_precision(probabilities[:, c], targets[:, c]) for c in range(targets.shape[1])])


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    # zero_division=0: a class the model never predicts has precision 0, which is what a user experiences.
    return np.divide(numerator, denominator, out=np.zeros(numerator.shape, np.float64), where=denominator > 0)


def compute_metrics(probabilities: np.ndarray, targets: np.ndarray, thresholds: np.ndarray | float) -> dict[str, Any]:
    """Every figure of the evaluation report for [N, C] probabilities and 0/1 targets."""
    targets = targets.astype(np.int64)
    n_images, n_classes = targets.shape
    decisions = (probabilities >= np.broadcast_to(thresholds, (n_classes,))).astype(np.int64)
    present = targets.sum(0) > 0
    ap = per_class_average_precision(probabilities, targets)
    true_pos = (decisions * targets).sum(0).astype(np.float64)
    predicted, actual = decisions.sum(0).astype(np.float64), targets.sum(0).astype(np.float64)
    class_precision, class_recall = _ratio(true_pos, predicted), _ratio(true_pos, actual)
    cp = float(class_precision[present].mean()) if present.any() else 0.0
    cr = float(class_recall[present].mean()) if present.any() else 0.0
    op = float(true_pos.sum() / predicted.sum()) if predicted.sum() else 0.0
    orec = float(true_pos.sum() / actual.sum()) if actual.sum() else 0.0
    return {
        "mAP": 100 * float(np.nanmean(ap)) if present.any() else 0.0,
        "CP": 100 * cp,
        "CR": 100 * cr,
        "CF1": 100 * _f1(cp, cr),
        "OP": 100 * op,
        "OR": 100 * orec,
        "OF1": 100 * _f1(op, orec),
        "per_label_accuracy": 100 * float((decisions == targets).mean()),
        "all_negative_per_label_accuracy": 100 * float((targets == 0).mean()),
        "n_images": int(n_images),
        "n_classes_present": int(present.sum()),
    }


def rounded(metrics: dict[str, Any], digits: int = 2) -> dict[str, Any]:
    return {k: round(v, digits) if isinstance(v, float) else v for k, v in metrics.items()}
