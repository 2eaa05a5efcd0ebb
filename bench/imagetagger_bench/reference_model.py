"""Reference models for the benchmark and the tests, exported in the artifact format of docs/architecture.md.

torchvision's ResNet50 is the industry yardstick for CPU inference speed. ImageNet weights cannot be downloaded on
this machine, so its weights are random: that changes nothing about speed, and accuracy is only measured on the
trained default model. torch is imported inside the functions; serving never imports this module.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from imagetagger_endpoint.tiny_model import IMAGENET_MEAN, IMAGENET_STD, coco_labels


def wrap_for_artifact(backbone: Any, mean: tuple[float, ...], std: tuple[float, ...]) -> Any:
    """uint8 NHWC RGB in, sigmoid probabilities out: the contract's graph, normalisation included."""
    import torch

    class ArtifactModel(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.backbone = backbone
            self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1) * 255.0)
            self.register_buffer("inv_std", 1.0 / (torch.tensor(std).view(1, 3, 1, 1) * 255.0))

        def forward(self, image: torch.Tensor) -> torch.Tensor:
            x = image.permute(0, 3, 1, 2).float()
            return torch.sigmoid(self.backbone((x - self.mean) * self.inv_std))

    return ArtifactModel().eval()


def resnet50_artifact_model(num_classes: int = 80, seed: int = 0) -> Any:
    """torchvision ResNet50 with random weights and an 80-way head, wrapped like the default model."""
    import torch
    from torchvision.models import resnet50

    torch.manual_seed(seed)
    return wrap_for_artifact(resnet50(weights=None, num_classes=num_classes), IMAGENET_MEAN, IMAGENET_STD)


def export_artifact(model: Any, out_dir: Path, backbone: str, size: int = 224) -> Path:
    """Write model.onnx (dynamic batch) and model.json into out_dir; returns out_dir."""
    import torch

    out_dir.mkdir(parents=True, exist_ok=True)
    example = torch.zeros(1, size, size, 3, dtype=torch.uint8)
    torch.onnx.export(
        model,
        (example,),
        str(out_dir / "model.onnx"),
        input_names=["image"],
        output_names=["probabilities"],
        dynamic_axes={"image": {0: "batch"}, "probabilities": {0: "batch"}},
        opset_version=17,
        dynamo=False,
    )
    manifest = {
        "model_version": f"{backbone}-reference",
        "backbone": backbone,
        "preprocessing": {"size": size, "mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD)},
        "labels": coco_labels(),
        "metrics": {},
        "note": "random weights: for speed measurements only",
    }
    (out_dir / "model.json").write_text(json.dumps(manifest, indent=1))
    return out_dir


def export_resnet50(out_dir: Path) -> Path:
    return export_artifact(resnet50_artifact_model(), out_dir, "resnet50")
