"""The training loop's two passes, shared by both recipes: one epoch of training, and the logits of an evaluation."""

from __future__ import annotations

from contextlib import nullcontext

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader
from tqdm import tqdm

from imagetagger_training.training_setup import freeze_batchnorm_of_frozen


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
