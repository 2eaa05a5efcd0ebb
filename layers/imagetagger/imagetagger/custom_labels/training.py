"""Fitting a custom label: a class-balanced logistic regression over image embeddings, its threshold chosen out of
fold for precision. scikit-learn is imported here only: the label training function and the evaluation use this, the
processing function applies the result with numpy (custom_labels.classifier).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from imagetagger.custom_labels.classifier import LabelClassifier

# Bounded work per training (a few seconds on one CPU): implicit negatives (the user's other photos) beyond this are
# sampled; the user's explicit negatives (rejections) are always kept.
MAX_NEGATIVES = 4000
FOLDS = 5
# Precision counts this many times more than recall when the threshold is chosen (F-beta, beta = 0.5).
PRECISION_BETA = 0.5
# Regularisation: embeddings are L2-normalised (entries ~0.1), so a weak penalty lets 5 examples speak.
INVERSE_REGULARISATION = 10.0


class NotTrainableError(ValueError):
    """Too few examples to fit or to estimate a threshold; the message is shown on the label."""


@dataclass(frozen=True)
class TrainingSet:
    positives: np.ndarray  # [p, D] float32
    negatives: np.ndarray  # [n, D] float32 (explicit first)
    explicit_negatives: int = 0


def sample_negatives(explicit: np.ndarray, implicit: np.ndarray, seed: int = 0) -> np.ndarray:
    """All explicit negatives, then implicit ones up to MAX_NEGATIVES in all (a seeded sample)."""
    room = max(0, MAX_NEGATIVES - len(explicit))
    if len(implicit) > room:
        implicit = implicit[np.random.default_rng(seed).choice(len(implicit), room, replace=False)]
    return np.concatenate([explicit, implicit]) if len(explicit) else implicit


def _model() -> LogisticRegression:
    return LogisticRegression(C=INVERSE_REGULARISATION, class_weight="balanced", max_iter=2000)


def out_of_fold_probabilities(x: np.ndarray, y: np.ndarray, seed: int = 0) -> np.ndarray:
    folds = min(FOLDS, int(y.sum()), int((1 - y).sum()))
    if folds < 2:
        raise NotTrainableError("needs at least 2 positive examples and 2 other photos")
    scores = np.zeros(len(y), np.float64)
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=seed).split(x, y):
        scores[test] = _model().fit(x[train], y[train]).predict_proba(x[test])[:, 1]
    return scores


def choose_threshold(y: np.ndarray, scores: np.ndarray) -> tuple[float, float, float]:
    """(threshold, precision, recall) maximising F-beta (beta < 1: precision first) over the out-of-fold scores; ties
    go to the higher cut. The threshold lies midway between the last score kept and the next one below, so a photo a
    little less typical than the examples is not lost to the margin. Precision and recall are the out-of-fold
    estimates at that threshold."""
    order = np.argsort(-scores, kind="stable")
    ranked, labels = scores[order], y[order]
    true_positives = np.cumsum(labels)
    predicted = np.arange(1, len(labels) + 1)
    precision = true_positives / predicted
    recall = true_positives / max(1, int(labels.sum()))
    beta2 = PRECISION_BETA**2
    f_beta = (1 + beta2) * precision * recall / np.maximum(beta2 * precision + recall, 1e-12)
    # A threshold only between distinct scores: cut after the last of a run of equal scores.
    last_of_run = np.append(ranked[1:] != ranked[:-1], True)
    f_beta = np.where(last_of_run, f_beta, -1.0)
    best = int(np.argmax(f_beta))
    threshold = (ranked[best] + ranked[best + 1]) / 2 if best + 1 < len(ranked) else ranked[best]
    return float(threshold), float(precision[best]), float(recall[best])


def train_label(data: TrainingSet, embedding_version: str, seed: int = 0) -> LabelClassifier:
    """The label's classifier; NotTrainableError when there are too few examples.

    The user's other photos are unlabelled, not known negatives: some show the label (that is why they want it). So,
    as in two-step positive-unlabelled learning, a first out-of-fold pass scores every photo, the unlabelled ones
    scoring at least as high as the weakest example are set aside as ambiguous (explicit negatives always stay), and
    the threshold, its recall estimate and the final fit use the examples against the rest. The precision estimate is
    the first pass's at that threshold, every unlabelled photo counted as a negative: a lower bound where some of
    them show the label, where the second pass's would be optimistic (measured: docs/model.md, "Custom labels").
    """
    if len(data.positives) < 2 or len(data.negatives) < 2:
        raise NotTrainableError("needs at least 2 positive examples and 2 other photos")
    x = np.concatenate([data.positives, data.negatives]).astype(np.float32)
    y = np.concatenate([np.ones(len(data.positives)), np.zeros(len(data.negatives))])
    first = out_of_fold_probabilities(x, y, seed)
    implicit = np.arange(len(y)) >= len(data.positives) + data.explicit_negatives
    ambiguous = implicit & (first >= first[y == 1].min())
    if int((~ambiguous & (y == 0)).sum()) < 2:
        ambiguous[:] = False  # nothing left to contrast with: keep them all
    threshold, _, recall = choose_threshold(
        y[~ambiguous], out_of_fold_probabilities(x[~ambiguous], y[~ambiguous], seed)
    )
    kept = first >= threshold
    precision = float(y[kept].mean()) if kept.any() else 0.0
    model = _model().fit(x[~ambiguous], y[~ambiguous])
    return LabelClassifier(
        weights=model.coef_[0].astype(np.float32),
        bias=float(model.intercept_[0]),
        threshold=threshold,
        precision=precision,
        recall=recall,
        embedding_version=embedding_version,
    )
