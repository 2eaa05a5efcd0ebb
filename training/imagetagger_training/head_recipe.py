"""The small-data recipe: train only the tagging head on cached frozen features, calibrate and tune thresholds on
out-of-fold predictions (so no image is scored by a head that saw it, and the evaluation split stays untouched).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch
from iterstrat.ml_stratifiers import MultilabelStratifiedKFold

from imagetagger_training.losses import build_loss
from imagetagger_training.model import TaggingHead


@dataclass(frozen=True)
class HeadConfig:
    loss: str = "asymmetric"
    epochs: int = 60
    lr: float = 1e-3
    weight_decay: float = 1e-3
    batch_size: int = 64
    folds: int = 5
    seed: int = 0


def fit_head(head: TaggingHead, features: torch.Tensor, targets: torch.Tensor, config: HeadConfig) -> TaggingHead:
    """Train `head` on every view of every image ([V, N, F] features, [N, C] targets); returns it in eval mode."""
    views, n, dim = features.shape
    x = features.reshape(views * n, dim)
    y = targets.repeat(views, 1)
    head.set_standardisation(features[0])  # statistics of the serving view
    generator = torch.Generator().manual_seed(config.seed)
    loss_fn = build_loss(config.loss)
    optimiser = torch.optim.AdamW(head.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    steps = config.epochs * max(1, len(x) // config.batch_size)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=config.lr, total_steps=steps)
    head.train()
    for _ in range(config.epochs):
        order = torch.randperm(len(x), generator=generator)
        for start in range(0, len(x) - config.batch_size + 1, config.batch_size):
            batch = order[start : start + config.batch_size]
            loss = loss_fn(head.forward_features(x[batch]), y[batch])
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            scheduler.step()
    return head.eval()


def out_of_fold_logits(
    head: TaggingHead, features: torch.Tensor, targets: torch.Tensor, config: HeadConfig
) -> np.ndarray:
    """Logits of each image's serving view from a head trained on the other folds: [N, C]."""
    logits = np.zeros(tuple(targets.shape), dtype=np.float32)
    folds = MultilabelStratifiedKFold(n_splits=config.folds, shuffle=True, random_state=config.seed)
    for train_idx, held_idx in folds.split(np.zeros(len(targets)), targets.numpy()):
        fold_head = fit_head(copy.deepcopy(head), features[:, train_idx], targets[train_idx], config)
        with torch.inference_mode():
            logits[held_idx] = fold_head.forward_features(features[0, held_idx]).numpy()
    return logits
