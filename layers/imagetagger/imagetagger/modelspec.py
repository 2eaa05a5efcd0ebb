"""The model manifest (model.json) shipped next to model.onnx."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# The served model's input: models/default/model.json's "preprocessing.size" (300, the fused detector's input). The
# processing Lambda, which has no model.json, prepares uploads at it; the endpoint squashes a batch of another size to
# its own spec.size. tests/unit/test_fused_model.py checks the committed model.json agrees.
SERVING_INPUT_SIZE = 300


@dataclass(frozen=True)
class Label:
    name: str
    coco_id: int
    parent: str
    threshold: float


@dataclass(frozen=True)
class ModelSpec:
    model_version: str
    backbone: str
    size: int  # the square input the ONNX graph takes (uint8 [N, size, size, 3])
    mean: tuple[float, ...]
    std: tuple[float, ...]
    labels: tuple[Label, ...]
    metrics: dict[str, Any] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return [label.name for label in self.labels]


def parse_model_spec(document: dict[str, Any]) -> ModelSpec:
    pre = document["preprocessing"]
    return ModelSpec(
        model_version=document["model_version"],
        backbone=document["backbone"],
        size=int(pre["size"]),
        mean=tuple(float(v) for v in pre["mean"]),
        std=tuple(float(v) for v in pre["std"]),
        labels=tuple(
            Label(name=x["name"], coco_id=int(x["coco_id"]), parent=x["parent"], threshold=float(x["threshold"]))
            for x in document["labels"]
        ),
        metrics=document.get("metrics", {}),
    )


def load_model_spec(model_dir: str | Path) -> ModelSpec:
    return parse_model_spec(json.loads((Path(model_dir) / "model.json").read_text()))
