"""Export a checkpoint to the serving artifact: model.onnx, model.json, checkpoint.pt, model_card.md.

The layout is SageMaker's model.tar.gz layout (see docs/architecture.md); `code/` is added by the endpoint's packaging.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch

from imagetagger_training.card_metrics import metrics_section
from imagetagger_training.model import ServingModel, tagger_from_checkpoint
from imagetagger_training.transforms import CLASSIFIER_SIZE

ONNX_OPSET = 18
# How the checkpoint's thresholds were chosen (its "threshold_policy"; older and fine-tuned checkpoints are per-class).
THRESHOLD_TEXT = {
    "global": "one threshold shared by all classes maximises micro F1",
    "per-class": "per-class thresholds maximise F1",
}


def git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True)  # noqa: S607
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def export_onnx(checkpoint: dict[str, Any], path: Path, size: int = CLASSIFIER_SIZE) -> None:
    serving = ServingModel(tagger_from_checkpoint(checkpoint), float(checkpoint.get("temperature", 1.0))).eval()
    example = torch.zeros(1, size, size, 3, dtype=torch.uint8)
    torch.onnx.export(
        serving,
        (example,),
        str(path),
        input_names=["image"],
        output_names=["probabilities"],
        dynamic_axes={"image": {0: "batch"}, "probabilities": {0: "batch"}},
        opset_version=ONNX_OPSET,
        dynamo=False,  # the TorchScript exporter gives a plain, single-file graph for these static shapes
    )


def model_spec(checkpoint: dict[str, Any], onnx_path: Path, size: int) -> dict[str, Any]:
    """model.json's content; `size` is the input the ONNX graph was exported for (ModelSpec.size reads it)."""
    args = checkpoint["args"]
    digest = hashlib.sha256(onnx_path.read_bytes()).hexdigest()[:8]
    created = datetime.now(UTC)
    return {
        "model_version": f"{args['backbone']}-{created:%Y%m%d}-{digest}",
        "backbone": args["backbone"],
        "preprocessing": {
            "size": size,
            "mean": checkpoint["normalisation"]["mean"],
            "std": checkpoint["normalisation"]["std"],
        },
        "labels": [
            {"name": c["name"], "coco_id": c["coco_id"], "parent": c["parent"], "threshold": round(float(t), 4)}
            for c, t in zip(checkpoint["classes"], checkpoint["thresholds"], strict=True)
        ],
        "temperature": float(checkpoint.get("temperature", 1.0)),
        "metrics": checkpoint.get("metrics", {}),
        "created_at": created.isoformat(timespec="seconds"),
        "git_commit": checkpoint.get("git_commit") or git_commit(),
    }


def model_card(spec: dict[str, Any], checkpoint: dict[str, Any]) -> str:
    args, size = checkpoint["args"], spec["preprocessing"]["size"]
    lines = [
        f"# Model card: {spec['model_version']}",
        "",
        f"- Backbone: `{spec['backbone']}` (ImageNet-pretrained), new 80-way head over COCO's categories.",
        f"- Recipe: `{args.get('recipe', 'finetune')}`; training data: `{args.get('annotations')}` "
        f"(images under `{args.get('images')}`).",
        f"- Command: `{checkpoint.get('command', 'unknown')}`",
        f"- Git commit: `{spec['git_commit']}`; created {spec['created_at']}.",
        f"- Calibration temperature {spec['temperature']:.3f}; "
        f"{THRESHOLD_TEXT[checkpoint.get('threshold_policy', 'per-class')]} on held-out predictions of the training "
        "data (never on the evaluation split).",
        f"- Input: uint8 RGB [N, {size}, {size}, 3] from `imagetagger.preprocessing.prepare` (whole image squashed); "
        "normalisation is inside the ONNX graph.",
        "",
    ]
    lines += metrics_section(spec["metrics"])
    return "\n".join(lines)


def export_model(
    checkpoint: str | Path | dict[str, Any], out_dir: str | Path, size: int = CLASSIFIER_SIZE
) -> dict[str, Any]:
    """Write the full artifact for a checkpoint (path or loaded dict) into out_dir; returns model.json's content."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if isinstance(checkpoint, str | Path):
        source = Path(checkpoint)
        checkpoint = torch.load(source, map_location="cpu", weights_only=False)
        if source.resolve() != (out / "checkpoint.pt").resolve():
            shutil.copyfile(source, out / "checkpoint.pt")
    else:
        torch.save(checkpoint, out / "checkpoint.pt")
    export_onnx(checkpoint, out / "model.onnx", size)
    spec = model_spec(checkpoint, out / "model.onnx", size)
    (out / "model.json").write_text(json.dumps(spec, indent=1) + "\n")
    (out / "model_card.md").write_text(model_card(spec, checkpoint))
    return spec
