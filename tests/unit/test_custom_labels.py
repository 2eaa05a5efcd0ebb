"""Custom labels' pure logic: names, the threshold choice, training on embeddings, applying with numpy alone."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from imagetagger.corrections import Correction
from imagetagger.custom_labels.apply import predictions
from imagetagger.custom_labels.classifier import LabelClassifier
from imagetagger.custom_labels.requests import LabelRequest
from imagetagger.custom_labels.store import Label
from imagetagger.custom_labels.training import (
    MAX_NEGATIVES,
    NotTrainableError,
    TrainingSet,
    choose_threshold,
    sample_negatives,
    train_label,
)
from imagetagger.errors import InvalidRequestError
from imagetagger.label_names import label_key, validate_label_name


@pytest.mark.parametrize(
    ("raw", "stored"),
    [("  My Bike ", "My Bike"), ("receipt", "receipt"), ("Éclair", "Éclair"), ("O'Neil v2.0_x-y", "O'Neil v2.0_x-y")],
)
def test_valid_names_are_trimmed_and_kept_as_given(raw, stored):
    assert validate_label_name(raw) == stored


@pytest.mark.parametrize(
    ("raw", "reason"),
    [("", "empty"), ("a#b", "'#'"), ("<b>", "'<>'"), ("x" * 41, "at most 40"), ("Teddy Bear", "COCO tag")],
)
def test_invalid_names_say_why(raw, reason):
    with pytest.raises(InvalidRequestError, match=reason):
        validate_label_name(raw)


def test_names_compare_case_insensitively_and_unicode_normalised():
    assert label_key("My Bike") == label_key("my bike")
    assert label_key("Cafe\u0301") == label_key("Café")


def _clusters(positives: int, negatives: int, seed: int = 0, dim: int = 16) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centre = np.zeros(dim, np.float32)
    centre[0] = 1
    pos = centre + rng.normal(0, 0.12, (positives, dim)).astype(np.float32)
    neg = rng.normal(0, 1, (negatives, dim)).astype(np.float32)
    unit = lambda x: x / np.linalg.norm(x, axis=1, keepdims=True)  # noqa: E731
    return unit(pos), unit(neg)


def test_five_examples_train_a_label_that_finds_the_others_with_its_chosen_threshold():
    pos, neg = _clusters(25, 300)
    classifier = train_label(TrainingSet(pos[:5], neg[:200]), "model-1")
    # THEN new photos of the label score above its threshold, and photos of other things mostly do not
    assert (classifier.probabilities(pos[5:]) >= classifier.threshold).mean() >= 0.9
    assert (classifier.probabilities(neg[200:]) >= classifier.threshold).mean() <= 0.05
    assert 0 < classifier.precision <= 1 and 0 < classifier.recall <= 1
    assert classifier.embedding_version == "model-1"


def test_unlabelled_photos_of_the_label_do_not_hide_it():
    # The user's other photos include more of the label (why they want it): they are set aside, not learnt as "not".
    pos, neg = _clusters(10, 100)
    classifier = train_label(TrainingSet(pos[:5], np.concatenate([neg, pos[5:]])), "m")
    assert (classifier.probabilities(pos[5:]) >= classifier.threshold).mean() >= 0.8


def test_too_few_examples_cannot_train():
    pos, neg = _clusters(1, 10)
    with pytest.raises(NotTrainableError):
        train_label(TrainingSet(pos, neg), "m")


def test_threshold_favours_precision_and_reports_out_of_fold_estimates():
    y = np.array([1, 1, 0, 1, 0, 0, 0, 0])
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.3, 0.2, 0.1, 0.05])
    threshold, precision, recall = choose_threshold(y, scores)
    # F0.5: cutting after the two sure ones (P 1, R 2/3) beats taking the third at the cost of a false positive;
    # the threshold lies midway to the next score.
    assert threshold == pytest.approx(0.75) and precision == 1.0 and recall == pytest.approx(2 / 3)


def test_threshold_never_splits_equal_scores():
    y = np.array([1, 0, 1, 0])
    threshold, precision, _ = choose_threshold(y, np.array([0.9, 0.5, 0.5, 0.1]))
    assert threshold in (pytest.approx(0.7), pytest.approx(0.3)) and (threshold > 0.5) == (precision == 1.0)


def test_negatives_are_bounded_explicit_ones_always_kept():
    explicit, implicit = np.ones((3, 4), np.float32), np.zeros((MAX_NEGATIVES * 2, 4), np.float32)
    sampled = sample_negatives(explicit, implicit)
    assert len(sampled) == MAX_NEGATIVES and sampled[:3].sum() == 12


def test_the_stored_classifier_applies_as_scikit_learn_would_with_numpy_alone():
    pos, neg = _clusters(20, 50)
    x, y = np.concatenate([pos, neg]), np.r_[np.ones(20), np.zeros(50)]
    model = LogisticRegression().fit(x, y)
    stored = LabelClassifier(model.coef_[0].astype(np.float32), float(model.intercept_[0]), 0.5, 0.9, 0.8, "m")
    restored = LabelClassifier.from_item(stored.to_item())  # through its DynamoDB form
    np.testing.assert_allclose(restored.probabilities(x), model.predict_proba(x)[:, 1], atol=1e-5)


def test_predictions_exclude_the_users_examples():
    classifier = LabelClassifier(np.array([1, 0], np.float32), 0.0, 0.6, 1, 1, "m")
    vectors = np.array([[1, 0], [1, 0], [-1, 0]], np.float32)
    assert predictions(classifier, ["a", "b", "c"], vectors, exclude={"a"}) == {"b": 0.7311}


@pytest.mark.parametrize(
    ("label", "status"),
    [
        (Label("u", "x", positives=4, revision=4), "collecting"),
        (Label("u", "x", positives=5, revision=5), "training"),
        (Label("u", "x", positives=5, revision=5, trained_revision=5, reason="no embedding"), "collecting"),
        (
            Label("u", "x", positives=6, revision=6, trained_revision=5, classifier=LabelClassifier(
                np.zeros(2, np.float32), 0, 0.5, 1, 1, "m")),
            "training",
        ),
    ],
)  # fmt: skip
def test_label_status(label, status):
    assert label.status == status
    assert (label.to_api()["reason"] is not None) == (label.reason is not None and status == "collecting")


def test_examples_in_corrections():
    correction = Correction(confirmed=("dog",), added=("my bike",)).with_example("receipt", positive=False)
    assert correction.custom_positives() == ["my bike"] and correction.custom_negatives() == ["receipt"]
    assert correction.with_example("receipt", positive=True).custom_positives() == ["my bike", "receipt"]
    assert correction.without({"my bike"}).custom_positives() == [] and correction.without({"x"}).confirmed == ("dog",)


def test_requests_round_trip_and_refuse_foreign_messages():
    request = LabelRequest("train", "alice", "my bike", 7)
    assert LabelRequest.from_body(request.to_body()) == request
    with pytest.raises((ValueError, KeyError)):
        LabelRequest.from_body('{"action": "drop", "user_id": "a", "name": "b", "revision": 1}')
