"""The tagger: backbone feature map -> image description -> tagging head.

The description of an image is [average-pooled, max-pooled features, ImageNet log-probs of the pooled features, and the
highest ImageNet probability at any location] plus two "prior" logits per COCO class from a hand-made ImageNet->COCO
mapping (whole-image and best-location). Local maxima matter because COCO objects are often small.

`Tagger` takes float RGB in [0, 1], NCHW, and normalises inside, so the checkpoint alone rebuilds everything;
`ServingModel` adds what the ONNX graph needs (uint8 NHWC input, calibrated probabilities).
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import torch
import torch.nn.functional as F
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


def _logit(p: torch.Tensor) -> torch.Tensor:
    p = p.clamp(1e-6, 1 - 1e-6)
    return torch.log(p) - torch.log1p(-p)


class TaggingHead(nn.Module):
    """Linear layer over the standardised description, plus a learned scale on each class's two prior logits.

    The prior scales start at 0 and carry no weight decay: a class whose ImageNet evidence helps can use it from its
    first examples, one whose mapping misleads can ignore it.
    """

    def __init__(self, feature_dim: int, prior: torch.Tensor, dropout: float = 0.0, n_scales: int = 1) -> None:
        super().__init__()
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        num_classes = prior.shape[0]
        self.description_dim = n_scales * (2 * feature_dim + 2 * IMAGENET_CLASSES)
        self.register_buffer("input_mean", torch.zeros(self.description_dim))
        self.register_buffer("input_std", torch.ones(self.description_dim))
        self.register_buffer("prior", prior.clone())
        self.register_buffer("has_prior", (prior.sum(1) > 0).float())
        self.dropout = nn.Dropout(dropout)
        self.linear = nn.Linear(self.description_dim, num_classes)
        self.prior_scale = nn.Parameter(torch.zeros(num_classes, 2))

    def describe(self, feature_map: torch.Tensor, classifier: nn.Linear) -> tuple[torch.Tensor, torch.Tensor]:
        """(description [N, F], prior logits [N, C, 2]) of one feature map [N, D, h, w]."""
        fmap = feature_map.float()
        pooled = fmap.mean((2, 3))
        log_probs = torch.log_softmax(classifier(pooled), dim=1)
        local_logits = torch.einsum("ndhw,kd->nkhw", fmap, classifier.weight) + classifier.bias[None, :, None, None]
        local_probs = torch.softmax(local_logits, dim=1)
        local_max = torch.log(local_probs.amax((2, 3)).clamp_min(1e-8))
        description = torch.cat([pooled, fmap.amax((2, 3)), log_probs, local_max], dim=1)
        global_mass = log_probs.exp() @ self.prior.T
        local_mass = torch.einsum("nkhw,ck->nchw", local_probs, self.prior).amax((2, 3))
        return description, torch.stack([_logit(global_mass), _logit(local_mass)], dim=-1)

    def set_standardisation(self, descriptions: torch.Tensor) -> None:
        """Standardise inputs with statistics of the training images (so weight decay treats them alike)."""
        self.input_mean.copy_(descriptions.mean(0))
        self.input_std.copy_(descriptions.std(0).clamp_min(1e-3))

    def forward(self, description: torch.Tensor, priors: torch.Tensor) -> torch.Tensor:
        x = self.dropout((description - self.input_mean) / self.input_std)
        return self.linear(x) + (self.prior_scale * priors).sum(-1) * self.has_prior


class Tagger(nn.Module):
    """Optionally looks at the (already 224-pixel) input at more scales: upsampling inside the model lets the backbone
    see small objects at the size it was trained on; descriptions are concatenated, local priors max-pooled."""

    def __init__(
        self,
        backbone: Backbone,
        head: TaggingHead,
        mean: tuple[float, ...],
        std: tuple[float, ...],
        scales: tuple[float, ...] = (1.0,),
    ) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = head
        self.scales = tuple(scales)
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1))

    def describe(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = (images - self.mean) / self.std
        parts = []
        for scale in self.scales:
            scaled = x if scale == 1.0 else F.interpolate(x, scale_factor=scale, mode="bilinear", align_corners=False)
            feature_map = self.backbone(scaled)
            # The description takes logs of probabilities near 0 and 1: float32 even under bf16 autocast.
            with torch.autocast(feature_map.device.type, enabled=False):
                parts.append(self.head.describe(feature_map.float(), self.backbone.classifier))
        description = torch.cat([d for d, _ in parts], dim=1)
        global_prior = parts[0][1][..., 0]
        local_prior = torch.stack([p[..., 1] for _, p in parts]).amax(0)
        return description, torch.stack([global_prior, local_prior], dim=-1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        description, priors = self.describe(images)
        with torch.autocast(images.device.type, enabled=False):
            return self.head(description, priors)


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


def build_tagger(
    backbone: str,
    class_names: list[str],
    pretrained: bool = True,
    dropout: float = 0.0,
    scales: tuple[float, ...] = (1.0,),
) -> Tagger:
    net = build_backbone(backbone, pretrained)
    head = TaggingHead(net.feature_dim, imagenet_prior_matrix(class_names), dropout=dropout, n_scales=len(scales))
    mean, std = NORMALISATION[backbone]
    return Tagger(net, head, mean, std, scales)


def tagger_from_checkpoint(checkpoint: dict[str, Any]) -> Tagger:
    """Rebuild the model from the checkpoint alone (no pretrained download: the state dict has every weight)."""
    args = checkpoint["args"]
    scales = tuple(args.get("scales") or (1.0,))
    tagger = build_tagger(args["backbone"], checkpoint["class_names"], pretrained=False, scales=scales)
    tagger.load_state_dict(checkpoint["model"])
    return tagger.eval()
