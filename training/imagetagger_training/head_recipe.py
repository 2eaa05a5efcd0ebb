"""The small-data recipe: train only the tagging head on cached frozen descriptions; calibrate and tune thresholds on
out-of-fold predictions (no image is scored by a head that saw it, and the evaluation split stays untouched).
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
    loss: str = "bce"
    steps: int = 300  # full-batch Adam steps: the whole cached set fits in memory
    lr: float = 1e-2
    l2: float = 1e-2  # on the linear weights only; the prior scales are free
    folds: int = 5
    seed: int = 0


def fit_head(
    head: TaggingHead, descriptions: torch.Tensor, priors: torch.Tensor, targets: torch.Tensor, config: HeadConfig
) -> TaggingHead:
    """Train `head` on every view of every image ([V, N, F], [V, N, C, 2], [N, C]); returns it in eval mode."""
    views, n, dim = descriptions.shape
    x, p = descriptions.reshape(views * n, dim), priors.reshape(views * n, *priors.shape[2:])
    y = targets.repeat(views, 1)
    head.set_standardisation(descriptions[0])  # statistics of the serving view
    torch.manual_seed(config.seed)
    head.linear.reset_parameters()
    head.prior_scale.data.zero_()
    loss_fn = build_loss(config.loss)
    optimiser = torch.optim.Adam(head.parameters(), lr=config.lr)
    head.train()
    for _ in range(config.steps):
        # per-label loss (the losses sum over classes) plus L2, so `l2` does not depend on the number of classes
        loss = loss_fn(head(x, p), y) / y.shape[1] + config.l2 * head.linear.weight.pow(2).sum()
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
    return head.eval()


def out_of_fold_logits(
    head: TaggingHead, descriptions: torch.Tensor, priors: torch.Tensor, targets: torch.Tensor, config: HeadConfig
) -> np.ndarray:
    """Logits of each image's serving view from a head trained on the other folds: [N, C]."""
    logits = np.zeros(tuple(targets.shape), dtype=np.float32)
    folds = MultilabelStratifiedKFold(n_splits=config.folds, shuffle=True, random_state=config.seed)
    for train_idx, held_idx in folds.split(np.zeros(len(targets)), targets.numpy()):
        fold_head = copy.deepcopy(head)
        fit_head(fold_head, descriptions[:, train_idx], priors[:, train_idx], targets[train_idx], config)
        with torch.inference_mode():
            logits[held_idx] = fold_head(descriptions[0, held_idx], priors[0, held_idx]).numpy()
    return logits
