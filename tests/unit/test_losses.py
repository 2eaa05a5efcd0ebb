"""The losses against values computed by hand from their definitions."""

import math

import pytest

torch = pytest.importorskip("torch")

from imagetagger_training.losses import AsymmetricLoss, FocalLoss, build_loss  # noqa: E402

pytestmark = pytest.mark.torch

LOGIT_P75 = math.log(3.0)  # sigmoid(ln 3) = 0.75


def test_focal_loss_matches_hand_computed_value():
    # p = 0.5 for both: BCE ln 2 scaled by (1 - 0.5)^2, summed over the two classes.
    loss = FocalLoss(gamma=2.0)(torch.tensor([[0.0, 0.0]]), torch.tensor([[1.0, 0.0]]))
    assert loss.item() == pytest.approx(2 * 0.25 * math.log(2), rel=1e-5)


def test_focal_loss_down_weights_easy_positive_and_applies_alpha():
    # p = 0.75 positive: -ln(0.75) * 0.25^2, then alpha 0.25 for a positive.
    logits, targets = torch.tensor([[LOGIT_P75]]), torch.tensor([[1.0]])
    assert FocalLoss(gamma=2.0)(logits, targets).item() == pytest.approx(-math.log(0.75) * 0.0625, rel=1e-5)
    assert FocalLoss(gamma=2.0, alpha=0.25)(logits, targets).item() == pytest.approx(
        0.25 * -math.log(0.75) * 0.0625, rel=1e-5
    )


def test_focal_loss_with_gamma_zero_is_bce_summed_over_classes_averaged_over_images():
    logits = torch.tensor([[0.3, -1.2, 2.0], [0.0, 0.5, -0.5]])
    targets = torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
    expected = torch.nn.functional.binary_cross_entropy_with_logits(logits, targets, reduction="sum") / 2
    assert build_loss("bce")(logits, targets).item() == pytest.approx(expected.item(), rel=1e-5)


def test_asymmetric_loss_matches_hand_computed_values():
    loss = AsymmetricLoss(gamma_neg=4.0, gamma_pos=1.0, clip=0.05)
    # positive, p = 0.75: (1 - 0.75)^1 * -ln 0.75
    assert loss(torch.tensor([[LOGIT_P75]]), torch.tensor([[1.0]])).item() == pytest.approx(
        0.25 * -math.log(0.75), rel=1e-5
    )
    # negative, p = 0.75 shifted to 0.70: 0.7^4 * -ln 0.3
    assert loss(torch.tensor([[LOGIT_P75]]), torch.tensor([[0.0]])).item() == pytest.approx(
        0.7**4 * -math.log(0.3), rel=1e-5
    )
    # an easy negative below the clip margin costs nothing
    assert loss(torch.tensor([[math.log(0.04 / 0.96)]]), torch.tensor([[0.0]])).item() == pytest.approx(0.0, abs=1e-7)


@pytest.mark.parametrize(
    "make", [lambda: FocalLoss(gamma=-1), lambda: FocalLoss(alpha=1.5), lambda: AsymmetricLoss(clip=1.0)]
)
def test_invalid_parameters_are_rejected(make):
    with pytest.raises(ValueError):
        make()


def test_unknown_loss_name_is_rejected():
    with pytest.raises(ValueError, match="unknown loss"):
        build_loss("hinge")
