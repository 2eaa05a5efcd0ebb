"""Per-class thresholds maximise F1; rare classes share one threshold; the temperature calibrates."""

import numpy as np
import pytest

pytest.importorskip("torch")
from sklearn.metrics import f1_score  # noqa: E402

from imagetagger_training.thresholds import best_f1_threshold, fit_temperature, tune_thresholds  # noqa: E402

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


def test_temperature_undoes_overconfident_logits():
    rng = np.random.default_rng(2)
    true_logits = rng.normal(0, 1.5, size=(4000, 1))
    targets = (rng.random((4000, 1)) < 1 / (1 + np.exp(-true_logits))).astype(float)
    assert fit_temperature(3.0 * true_logits, targets) == pytest.approx(3.0, rel=0.15)
