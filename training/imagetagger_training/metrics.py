"""Multi-label metrics: mAP, the CP/CR/CF1/OP/OR/OF1 family, per-label accuracy next to the all-negative baseline.

All figures are percentages. mAP averages only classes with at least one positive in the evaluated set (AP is
undefined otherwise); CP/CR average over those same classes; OP/OR/OF1 are micro-averaged over every decision.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torchmetrics.functional.classification import (
    multilabel_average_precision,
    multilabel_precision,
    multilabel_recall,
)

METRIC_KEYS = ("mAP", "CP", "CR", "CF1", "OP", "OR", "OF1", "per_label_accuracy", "all_negative_per_label_accuracy")


def _f1(precision: float, recall: float) -> float:
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def per_class_average_precision(probabilities: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """AP of each class (NaN where the class has no positive)."""
    present = targets.sum(0) > 0
    ap = np.full(targets.shape[1], np.nan)
    if present.any():
        scores = torch.as_tensor(probabilities[:, present], dtype=torch.float32)
        labels = torch.as_tensor(targets[:, present], dtype=torch.long)
        values = multilabel_average_precision(scores, labels, num_labels=int(present.sum()), average=None)
        ap[present] = values.numpy()
    return ap


def compute_metrics(probabilities: np.ndarray, targets: np.ndarray, thresholds: np.ndarray | float) -> dict[str, Any]:
    """Every figure of the evaluation report for [N, C] probabilities and 0/1 targets."""
    targets = targets.astype(np.int64)
    n_images, n_classes = targets.shape
    decisions = (probabilities >= np.broadcast_to(thresholds, (n_classes,))).astype(np.int64)
    present = targets.sum(0) > 0
    ap = per_class_average_precision(probabilities, targets)
    preds_t, targets_t = torch.as_tensor(decisions), torch.as_tensor(targets)
    # zero_division=0: a class the model never predicts has precision 0, which is what a user experiences.
    class_precision = multilabel_precision(preds_t, targets_t, num_labels=n_classes, average=None, zero_division=0)
    class_recall = multilabel_recall(preds_t, targets_t, num_labels=n_classes, average=None, zero_division=0)
    cp = float(class_precision.numpy()[present].mean()) if present.any() else 0.0
    cr = float(class_recall.numpy()[present].mean()) if present.any() else 0.0
    op = float(multilabel_precision(preds_t, targets_t, num_labels=n_classes, average="micro", zero_division=0))
    orec = float(multilabel_recall(preds_t, targets_t, num_labels=n_classes, average="micro", zero_division=0))
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
