"""The fusion head: one logistic regression over (image, class) pairs, its weights shared by all classes, fitted on
detector/classifier features of images the detector never saw; then a temperature and one decision threshold from
out-of-fold predictions of those same images. The test part of coco-clean is never touched here.

Shared weights (4 numbers) instead of one regression per class: coco-clean has 1-2 positives for many classes, too
few to fit 80 separate heads; per-class AP does not depend on a per-class offset anyway.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold

from imagetagger_training.fused.graph import Head
from imagetagger_training.thresholds import fit_temperature, global_threshold

FOLDS = 5
C = 1.0  # sklearn's default L2 strength; 4 parameters over ~10,000 pairs barely need it


@dataclass(frozen=True)
class FittedHead:
    head: Head
    threshold: float
    out_of_fold: np.ndarray  # [N, 80] probabilities of the fitting images, each from a head that did not see it


def _regression(features: np.ndarray, targets: np.ndarray) -> LogisticRegression:
    pairs = features.reshape(-1, features.shape[-1])
    return LogisticRegression(C=C, max_iter=1000).fit(pairs, targets.reshape(-1))


def _logits(model: LogisticRegression, features: np.ndarray) -> np.ndarray:
    return model.decision_function(features.reshape(-1, features.shape[-1])).reshape(features.shape[:2])


def fit_head(features: np.ndarray, targets: np.ndarray, seed: int = 0) -> FittedHead:
    """features [N, 80, F] (logits), targets [N, 80] 0/1 of the fitting images only."""
    oof_logits = np.zeros(targets.shape, dtype=np.float64)
    for train, held_out in KFold(FOLDS, shuffle=True, random_state=seed).split(features):
        oof_logits[held_out] = _logits(_regression(features[train], targets[train]), features[held_out])
    temperature = fit_temperature(oof_logits, targets)
    out_of_fold = 1 / (1 + np.exp(-oof_logits / temperature))
    threshold = float(global_threshold(out_of_fold, targets)[0])
    final = _regression(features, targets)
    head = Head(tuple(float(w) for w in final.coef_[0]), float(final.intercept_[0]), temperature)
    return FittedHead(head, threshold, out_of_fold)
