"""The checkpoint dict both recipes save (house style: inference rebuilds the model from the checkpoint alone) and the
resolved arguments saved next to it."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from torch import nn

from imagetagger_training.backbones import NORMALISATION
from imagetagger_training.data import ClassInfo
from imagetagger_training.export import git_commit


def resolved_args(args: argparse.Namespace) -> dict[str, Any]:
    """The run's arguments as saved next to checkpoints (without the CLI's dispatch entries)."""
    return {k: v for k, v in vars(args).items() if k not in ("func", "command")}


def make_checkpoint(
    model: nn.Module,
    args: argparse.Namespace,
    classes: Sequence[ClassInfo],
    *,
    names: list[str],
    optimizer: Any = None,
    scheduler: Any = None,
    epoch: int = 0,
    **extra: Any,
) -> dict[str, Any]:
    """model, optimizer and scheduler state (None where there is nothing to resume), epoch, the resolved arguments,
    the classes in output order, the backbone's normalisation, the command and commit that made it, plus `extra`
    (metrics, thresholds, history...)."""
    return {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "epoch": epoch,
        "args": resolved_args(args),
        "class_names": names,
        "classes": [{"name": c.name, "coco_id": c.coco_id, "parent": c.parent} for c in classes],
        "normalisation": dict(zip(("mean", "std"), map(list, NORMALISATION[args.backbone]), strict=True)),
        "command": args.invocation,
        "git_commit": git_commit(),
        **extra,
    }
