"""PyTorch backends for the benchmark: the fp32 eager baseline and PyTorch's own fast path (bf16 on AMX through
oneDNN, channels-last). They run the same network as the ONNX graphs; serving never uses them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from imagetagger_endpoint.backends import usable_cpus

TORCH_BACKENDS = ("torch-fp32-eager", "torch-bf16-channels-last")
BASELINE = "torch-fp32-eager"


def torch_module(model: str, model_dir: Path) -> Any:
    """The eval-mode torch module behind the ONNX graph: the seeded reference ResNet50, or the default model's
    checkpoint rebuilt by the training package."""
    import torch

    if model == "resnet50":
        from imagetagger_bench.reference_model import resnet50_artifact_model

        return resnet50_artifact_model()
    checkpoint_path = model_dir / "checkpoint.pt"
    if not checkpoint_path.is_file():
        raise FileNotFoundError(f"{checkpoint_path} is needed for the torch baseline of {model}")
    from imagetagger_training.model import ServingModel, tagger_from_checkpoint

    checkpoint = torch.load(checkpoint_path, map_location="cpu", weights_only=False)
    return ServingModel(tagger_from_checkpoint(checkpoint), float(checkpoint.get("temperature", 1.0))).eval()


class TorchBackend:
    def __init__(self, name: str, module: Any) -> None:
        import torch

        torch.set_num_threads(usable_cpus())
        self.name = name
        self._bf16 = name == "torch-bf16-channels-last"
        self._module = module.eval()
        if self._bf16:
            self._module = self._module.to(memory_format=torch.channels_last)

    def run(self, batch: np.ndarray) -> np.ndarray:
        import torch

        images = torch.from_numpy(np.ascontiguousarray(batch))
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=self._bf16):
            return self._module(images).float().numpy()


def load_torch_backend(name: str, model: str, model_dir: Path) -> TorchBackend:
    if name not in TORCH_BACKENDS:
        raise ValueError(f"unknown torch backend {name!r}")
    return TorchBackend(name, torch_module(model, model_dir))
