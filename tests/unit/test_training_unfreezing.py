"""Staged unfreezing opens backbone stages from the top, one every N epochs; the head always trains."""

import pytest

pytest.importorskip("torch")

from imagetagger_training.data import coco_classes  # noqa: E402
from imagetagger_training.model import build_tagger  # noqa: E402
from imagetagger_training.training_setup import set_trainable  # noqa: E402

pytestmark = pytest.mark.torch


def trainable(module) -> bool:
    return any(p.requires_grad for p in module.parameters())


@pytest.mark.parametrize("backbone", ["efficientnet_lite0", "resnet50"])
def test_stages_open_from_the_top_every_n_epochs(backbone):
    model = build_tagger(backbone, [c.name for c in coco_classes()], pretrained=False)
    stages = model.backbone.stages()
    assert set_trainable(model, epoch=0, unfreeze_every=2) == 0
    assert not any(trainable(s) for s in stages) and trainable(model.head)
    assert set_trainable(model, epoch=4, unfreeze_every=2) == 2
    assert [trainable(s) for s in stages] == [False] * (len(stages) - 2) + [True, True]
    assert set_trainable(model, epoch=0, unfreeze_every=-1) == len(stages)
    assert all(trainable(s) for s in stages)
    assert not trainable(model.backbone.classifier)  # the ImageNet classifier stays a fixed prior
