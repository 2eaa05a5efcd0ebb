"""`imagetagger train` / training/train.py: fine-tune a backbone with a new 80-way head, or (`--recipe head`) train
only the head on cached frozen features, the recipe of the committed default model.

SageMaker script mode: data comes from SM_CHANNEL_TRAIN (annotations.json or labels.jsonl + images/), the artifact goes
to SM_MODEL_DIR, reports to SM_OUTPUT_DATA_DIR, hyperparameters arrive as the flags below. Multi-GPU / multi-node:
launch with torchrun (DDP; gloo on CPU).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader
from tqdm import tqdm

from imagetagger_training.train_args import get_args_parser

log = logging.getLogger("imagetagger.train")
__all__ = ["evaluate", "get_args_parser", "main", "train_one_epoch"]


def train_one_epoch(
    model: nn.Module,
    loader: DataLoader,
    loss_fn: nn.Module,
    optimizer: torch.optim.Optimizer,
    device: torch.device,
    amp: bool,
    epoch: int,
    show_progress: bool = True,
) -> float:
    """One pass over the loader; returns the mean training loss."""
    from imagetagger_training.training_setup import freeze_batchnorm_of_frozen

    model.train()
    freeze_batchnorm_of_frozen(model)
    total, batches = 0.0, 0
    for images, targets in tqdm(loader, desc=f"epoch {epoch}", disable=not show_progress, leave=False):
        images, targets = images.to(device), targets.to(device)
        autocast = torch.autocast(device.type, dtype=torch.bfloat16) if amp else nullcontext()
        with autocast:
            logits = model(images)
        loss = loss_fn(logits.float(), targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total, batches = total + loss.item(), batches + 1
    return total / max(batches, 1)


def evaluate(model: nn.Module, loader: DataLoader, device: torch.device) -> tuple[np.ndarray, np.ndarray]:
    """Logits and targets of every image in the loader (no autocast: thresholds are set on these)."""
    model.eval()
    logits, targets = [], []
    with torch.inference_mode():
        for images, batch_targets in loader:
            logits.append(model(images.to(device)).float().cpu())
            targets.append(batch_targets)
    return torch.cat(logits).numpy(), torch.cat(targets).numpy()


def resolved_args(args: argparse.Namespace) -> dict[str, Any]:
    """The run's arguments as saved next to checkpoints (without the CLI's dispatch entries)."""
    return {k: v for k, v in vars(args).items() if k not in ("func", "command")}


def main(args: argparse.Namespace) -> dict[str, Any]:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    if not args.annotations:
        raise SystemExit("error: --annotations is required (or set SM_CHANNEL_TRAIN)")
    if threads := int(os.environ.get("IMAGETAGGER_THREADS", "0")):
        torch.set_num_threads(threads)  # on a shared machine fewer threads than cores can be much faster
    if args.pretrained is None:
        args.pretrained = args.backbone == "efficientnet_lite0"
    args.invocation = " ".join(["imagetagger", *sys.argv[1:]] if "imagetagger" in sys.argv[0] else sys.argv)
    Path(args.output_dir).mkdir(parents=True, exist_ok=True)
    (Path(args.output_dir) / "args.json").write_text(json.dumps(resolved_args(args), indent=1) + "\n")
    if args.recipe == "head":
        from imagetagger_training.head_pipeline import run_head_recipe

        return run_head_recipe(args)
    from imagetagger_training.finetune import fit

    return fit(args)


if __name__ == "__main__":
    main(get_args_parser().parse_args())
