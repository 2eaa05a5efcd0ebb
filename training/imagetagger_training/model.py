"""The tagger: backbone -> tagging head (pooled features + ImageNet log-probabilities + ImageNet->COCO prior).

`Tagger` takes float RGB in [0, 1], NCHW, and normalises inside, so the checkpoint alone rebuilds everything;
`ServingModel` adds what the ONNX graph needs (uint8 NHWC input, calibrated probabilities).
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import torch
from torch import nn

from imagetagger_training.backbones import NORMALISATION, Backbone, build_backbone

IMAGENET_CLASSES = 1000


def imagenet_prior_matrix(class_names: list[str]) -> torch.Tensor:
    """[C, 1000] 0/1 matrix: which ImageNet classes hint at each COCO class (from imagenet_prior.json)."""
    mapping = json.loads(resources.files(__package__).joinpath("imagenet_prior.json").read_text())
    matrix = torch.zeros(len(class_names), IMAGENET_CLASSES)
    for row, name in enumerate(class_names):
        for index in mapping.get(name, {}):
            matrix[row, int(index)] = 1.0
    return matrix


class TaggingHead(nn.Module):
    """Linear layer over standardised [pooled, ImageNet log-probs] plus a learned scale on each class's prior logit.

    The prior logit is logit(P(any mapped ImageNet class)); its scale starts at 0 and is learned, so a class whose
    ImageNet evidence helps can use it from its first examples, and one whose mapping misleads can ignore it.
    """

    def __init__(self, feature_dim: int, prior: torch.Tensor, dropout: float = 0.0) -> None:
        super().__init__()
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        num_classes = prior.shape[0]
        in_dim = feature_dim + IMAGENET_CLASSES
        self.register_buffer("input_mean", torch.zeros(in_dim))
        self.register_buffer("input_std", torch.ones(in_dim))
        self.register_buffer("prior", prior.clone())
        self.dropout = nn.Dropout(dropout)
        self.linear = nn.Linear(in_dim, num_classes)
        self.prior_scale = nn.Parameter(torch.zeros(num_classes))

    @staticmethod
    def inputs(pooled: torch.Tensor, imagenet_logits: torch.Tensor) -> torch.Tensor:
        return torch.cat([pooled, torch.log_softmax(imagenet_logits.float(), dim=1)], dim=1)

    def set_standardisation(self, features: torch.Tensor) -> None:
        """Standardise inputs with statistics of the training features (so weight decay treats them alike)."""
        self.input_mean.copy_(features.mean(0))
        self.input_std.copy_(features.std(0).clamp_min(1e-3))

    def forward_features(self, features: torch.Tensor) -> torch.Tensor:
        """Logits from already concatenated `inputs(...)`: the cached-feature recipe trains through this."""
        imagenet_log_probs = features[:, -IMAGENET_CLASSES:]
        mass = (imagenet_log_probs.exp() @ self.prior.T).clamp(1e-6, 1 - 1e-6)
        prior_logit = torch.log(mass) - torch.log1p(-mass)
        has_prior = (self.prior.sum(1) > 0).to(features.dtype)
        x = self.dropout((features - self.input_mean) / self.input_std)
        return self.linear(x) + self.prior_scale * has_prior * prior_logit

    def forward(self, pooled: torch.Tensor, imagenet_logits: torch.Tensor) -> torch.Tensor:
        return self.forward_features(self.inputs(pooled, imagenet_logits))


class Tagger(nn.Module):
    def __init__(self, backbone: Backbone, head: TaggingHead, mean: tuple[float, ...], std: tuple[float, ...]) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = head
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        pooled, imagenet_logits = self.backbone((images - self.mean) / self.std)
        return self.head(pooled, imagenet_logits)


class ServingModel(nn.Module):
    """uint8 [N, H, W, 3] RGB (as imagetagger.preprocessing.prepare makes it) -> calibrated probabilities [N, C]."""

    def __init__(self, tagger: Tagger, temperature: float = 1.0) -> None:
        super().__init__()
        if temperature <= 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        self.tagger = tagger
        self.temperature = temperature

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x = image.permute(0, 3, 1, 2).to(torch.float32) / 255.0
        return torch.sigmoid(self.tagger(x) / self.temperature)


def build_tagger(backbone: str, class_names: list[str], pretrained: bool = True, dropout: float = 0.0) -> Tagger:
    net = build_backbone(backbone, pretrained)
    head = TaggingHead(net.feature_dim, imagenet_prior_matrix(class_names), dropout=dropout)
    mean, std = NORMALISATION[backbone]
    return Tagger(net, head, mean, std)


def tagger_from_checkpoint(checkpoint: dict[str, Any]) -> Tagger:
    """Rebuild the model from the checkpoint alone (no pretrained download: the state dict has every weight)."""
    args = checkpoint["args"]
    tagger = build_tagger(args["backbone"], checkpoint["class_names"], pretrained=False)
    tagger.load_state_dict(checkpoint["model"])
    return tagger.eval()
