"""Per-class thresholds maximise F1; rare classes share one threshold; the global policy shares one cut for all;
the temperature calibrates."""

import numpy as np
import pytest

pytest.importorskip("torch")
from sklearn.metrics import f1_score  # noqa: E402

from imagetagger_training.thresholds import (  # noqa: E402
    best_f1_threshold,
    decision_thresholds,
    fit_temperature,
    global_threshold,
    tune_thresholds,
)

pytestmark = pytest.mark.torch


def test_best_threshold_separates_a_separable_class_perfectly():
    scores = np.array([0.1, 0.2, 0.35, 0.6, 0.7, 0.9])
    labels = np.array([0, 0, 0, 1, 1, 1])
    threshold, f1 = best_f1_threshold(scores, labels)
    assert f1 == pytest.approx(1.0)
    assert 0.35 < threshold <= 0.6  # between the last negative and the first positive


def test_best_threshold_is_the_max_f1_over_all_cuts():
    rng = np.random.default_rng(1)
    labels = (rng.random(60) < 0.3).astype(int)
    scores = np.clip(0.3 * labels + rng.random(60) * 0.7, 0, 1)
    threshold, f1 = best_f1_threshold(scores, labels)
    brute = max(f1_score(labels, scores >= t) for t in np.unique(scores))
    assert f1 == pytest.approx(brute)
    assert f1_score(labels, scores >= threshold) == pytest.approx(brute)


def test_classes_with_few_positives_share_the_fallback_threshold():
    probs = np.array([[0.9, 0.2], [0.8, 0.7], [0.7, 0.1], [0.1, 0.3], [0.2, 0.1]])
    targets = np.array([[1, 0], [1, 1], [1, 0], [0, 0], [0, 0]])
    thresholds = tune_thresholds(probs, targets, min_positives=3, fallback=0.5)
    assert thresholds[1] == 0.5
    assert 0.2 < thresholds[0] <= 0.7


# Scores by class (P: positive, N: negative). Pooled and sorted: .9P .8N .7P .6P .4N .3P .2N .1N. Micro F1 of each cut:
# >=.9 0.40, >=.8 0.33, >=.7 0.57, >=.6 0.75, >=.4 0.67, >=.3 0.80 (4 TP, 2 FP), >=.2 0.73 -> cut .3, midway to .2.
# Class 0 alone (.9P .8N .7P .6P): >=.6 keeps every positive with one FP, F1 0.86 -> .6 (nothing lower to meet).
SCORES = np.array([[0.9, 0.4], [0.8, 0.3], [0.7, 0.2], [0.6, 0.1]])
LABELS = np.array([[1, 0], [0, 1], [1, 0], [1, 0]])


def test_global_policy_gives_every_class_the_max_micro_f1_cut():
    assert global_threshold(SCORES, LABELS) == pytest.approx([0.25, 0.25])
    assert decision_thresholds(SCORES, LABELS, policy="global") == pytest.approx([0.25, 0.25])


def test_per_class_policy_fits_each_class_with_enough_positives():
    thresholds = decision_thresholds(SCORES, LABELS, policy="per-class", min_positives=3)
    assert thresholds == pytest.approx([0.6, 0.25])  # class 1 has one positive: it gets the shared cut


def test_unknown_threshold_policy_is_refused_by_name():
    with pytest.raises(ValueError, match="unknown threshold policy 'median'"):
        decision_thresholds(SCORES, LABELS, policy="median")


def test_temperature_undoes_overconfident_logits():
    rng = np.random.default_rng(2)
    true_logits = rng.normal(0, 1.5, size=(4000, 1))
    targets = (rng.random((4000, 1)) < 1 / (1 + np.exp(-true_logits))).astype(float)
    assert fit_temperature(3.0 * true_logits, targets) == pytest.approx(3.0, rel=0.15)
