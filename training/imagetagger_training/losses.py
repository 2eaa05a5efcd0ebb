"""Losses for multi-label tagging with heavy class imbalance (most of 80 labels are negative in every image).

Both take raw logits and 0/1 targets of shape [N, C] and return the per-image loss (summed over classes) averaged over
the batch, so their scale does not depend on the number of classes' negatives being averaged away.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class FocalLoss(nn.Module):
    """Focal loss (Lin et al., 2017): BCE scaled by (1 - p_t)^gamma, optionally weighted by alpha for positives.

    gamma=2 is the paper's default; alpha=None (no re-weighting) because the weighted sampler already balances classes.
    """

    def __init__(self, gamma: float = 2.0, alpha: float | None = None) -> None:
        super().__init__()
        if gamma < 0:
            raise ValueError(f"gamma must be >= 0, got {gamma}")
        if alpha is not None and not 0.0 < alpha < 1.0:
            raise ValueError(f"alpha must be in (0, 1) or None, got {alpha}")
        self.gamma = gamma
        self.alpha = alpha

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        logits, targets = logits.float(), targets.float()
        bce = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
        p = torch.sigmoid(logits)
        p_t = targets * p + (1 - targets) * (1 - p)
        loss = bce * (1 - p_t).pow(self.gamma)
        if self.alpha is not None:
            loss = loss * (targets * self.alpha + (1 - targets) * (1 - self.alpha))
        return loss.sum(1).mean()


class AsymmetricLoss(nn.Module):
    """Asymmetric loss (Ridnik et al., 2021): focusing gamma_pos / gamma_neg, plus a probability margin `clip` that
    discards easy negatives entirely. Defaults are the paper's (gamma_neg=4, gamma_pos=1, clip=0.05).
    """

    def __init__(self, gamma_neg: float = 4.0, gamma_pos: float = 1.0, clip: float = 0.05, eps: float = 1e-8) -> None:
        super().__init__()
        if gamma_neg < 0 or gamma_pos < 0:
            raise ValueError(f"focusing parameters must be >= 0, got gamma_neg={gamma_neg}, gamma_pos={gamma_pos}")
        if not 0.0 <= clip < 1.0:
            raise ValueError(f"clip must be in [0, 1), got {clip}")
        self.gamma_neg, self.gamma_pos, self.clip, self.eps = gamma_neg, gamma_pos, clip, eps

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        logits, targets = logits.float(), targets.float()
        p = torch.sigmoid(logits)
        p_neg = (p - self.clip).clamp(min=0) if self.clip > 0 else p  # shifted probability for negatives
        loss_pos = targets * (1 - p).pow(self.gamma_pos) * torch.log(p.clamp(min=self.eps))
        loss_neg = (1 - targets) * p_neg.pow(self.gamma_neg) * torch.log((1 - p_neg).clamp(min=self.eps))
        return -(loss_pos + loss_neg).sum(1).mean()


def build_loss(name: str) -> nn.Module:
    """`bce` is focal loss with gamma=0, so all three share the per-image reduction."""
    if name == "focal":
        return FocalLoss()
    if name == "asymmetric":
        return AsymmetricLoss()
    if name == "bce":
        return FocalLoss(gamma=0.0)
    raise ValueError(f"unknown loss {name!r}; choose one of focal, asymmetric, bce")
