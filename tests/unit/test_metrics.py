"""The metric family agrees with scikit-learn on a small random case."""

import numpy as np
import pytest

pytest.importorskip("sklearn")
from sklearn.metrics import average_precision_score, precision_score, recall_score  # noqa: E402

from imagetagger_training.metrics import average_precision, compute_metrics  # noqa: E402


@pytest.fixture
def case():
    rng = np.random.default_rng(7)
    targets = (rng.random((40, 6)) < 0.3).astype(np.int64)
    targets[:, 5] = 0  # a class absent from the evaluated set must not enter mAP / CP / CR
    probs = np.clip(0.6 * targets + 0.5 * rng.random((40, 6)), 0, 1).astype(np.float32)
    thresholds = np.array([0.5, 0.4, 0.6, 0.5, 0.7, 0.5])
    return probs, targets, thresholds


def test_map_averages_ap_over_present_classes_like_sklearn(case):
    probs, targets, thresholds = case
    expected = np.mean([average_precision_score(targets[:, c], probs[:, c]) for c in range(5)])
    metrics = compute_metrics(probs, targets, thresholds)
    assert metrics["mAP"] == pytest.approx(100 * expected, abs=1e-3)
    assert metrics["n_classes_present"] == 5
    assert metrics["n_images"] == 40


def test_f1_family_uses_the_per_class_thresholds(case):
    probs, targets, thresholds = case
    decisions = (probs >= thresholds).astype(np.int64)
    cp = precision_score(targets[:, :5], decisions[:, :5], average="macro", zero_division=0)
    cr = recall_score(targets[:, :5], decisions[:, :5], average="macro", zero_division=0)
    op = precision_score(targets, decisions, average="micro", zero_division=0)
    orec = recall_score(targets, decisions, average="micro", zero_division=0)
    metrics = compute_metrics(probs, targets, thresholds)
    assert metrics["CP"] == pytest.approx(100 * cp, abs=1e-3)
    assert metrics["CR"] == pytest.approx(100 * cr, abs=1e-3)
    assert metrics["CF1"] == pytest.approx(100 * 2 * cp * cr / (cp + cr), abs=1e-3)
    assert metrics["OP"] == pytest.approx(100 * op, abs=1e-3)
    assert metrics["OF1"] == pytest.approx(100 * 2 * op * orec / (op + orec), abs=1e-3)


def test_per_label_accuracy_is_reported_next_to_the_all_negative_baseline(case):
    probs, targets, _ = case
    metrics = compute_metrics(probs, targets, 1.01)  # a model that never predicts anything
    assert metrics["per_label_accuracy"] == pytest.approx(metrics["all_negative_per_label_accuracy"])
    assert metrics["all_negative_per_label_accuracy"] == pytest.approx(100 * (targets == 0).mean())
    assert metrics["CR"] == 0 and metrics["OF1"] == 0


def test_tied_scores_count_as_one_threshold_like_sklearn():
    rng = np.random.default_rng(3)
    labels = (rng.random(60) < 0.4).astype(np.int64)
    scores = np.round(rng.random(60) + 0.3 * labels, 1)  # coarse scores: many ties
    assert average_precision(scores, labels) == pytest.approx(average_precision_score(labels, scores), abs=1e-12)


def test_metrics_do_not_need_torch():
    import subprocess
    import sys

    code = "import sys; sys.modules['torch'] = None; import imagetagger_training.metrics, imagetagger_training.evaluate"
    subprocess.run([sys.executable, "-c", code], check=True)
