"""Pieces of the fine-tuning run that are not the loop itself: data and split, sampling, staged unfreezing, DDP."""

from __future__ import annotations

import logging
import os
from argparse import Namespace
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import DataLoader, Sampler, WeightedRandomSampler

from imagetagger_training.data import LabelledImages, label_source
from imagetagger_training.dataset import TaggingDataset, readable
from imagetagger_training.model import Tagger
from imagetagger_training.split import Split, make_split
from imagetagger_training.transforms import EvalPreset, TrainPreset

log = logging.getLogger(__name__)


def init_distributed() -> tuple[int, int]:
    """(rank, world size); joins the torchrun process group (gloo on CPU, NCCL on GPUs) when launched by torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if torch.cuda.is_available() else "gloo")
    return (dist.get_rank(), world) if world > 1 else (0, 1)


def train_val_images(args: Namespace) -> tuple[LabelledImages, LabelledImages]:
    """Training and validation images: an explicit validation set, or the saved/seeded stratified split."""
    images, skipped = readable(label_source(Path(args.annotations), args.images and Path(args.images)).load())
    if skipped:
        log.warning("%d unreadable training images skipped", len(skipped))
    if args.val_annotations:
        val, _ = readable(label_source(Path(args.val_annotations), args.val_images and Path(args.val_images)).load())
        return images, val
    split_file = Path(args.split_file) if args.split_file else Path(args.output_dir) / "split.json"
    if split_file.is_file():
        split = Split.load(split_file)
    else:
        split = make_split(images, seed=args.seed)
        split.save(split_file)
    return images.subset(split.indices(images, "train")), images.subset(split.indices(images, "val"))


def sample_weights(targets: np.ndarray) -> np.ndarray:
    """Per-image weight = mean inverse frequency of its labels, so images with rare classes are drawn more often."""
    frequency = targets.sum(0).clip(min=1)
    per_label = targets / frequency
    counts = targets.sum(1)
    weights = np.where(counts > 0, per_label.sum(1) / np.maximum(counts, 1), 1.0 / len(targets))
    return weights / weights.sum()


def train_loader(images: LabelledImages, args: Namespace, rank: int, world: int) -> DataLoader:
    dataset = TaggingDataset(images, TrainPreset())
    generator = torch.Generator().manual_seed(args.seed + rank)
    sampler: Sampler | None = None
    if args.weighted_sampling:
        weights = torch.as_tensor(sample_weights(images.targets), dtype=torch.double)
        sampler = WeightedRandomSampler(weights, num_samples=len(images) // world, generator=generator)
    elif world > 1:
        sampler = torch.utils.data.distributed.DistributedSampler(
            dataset, num_replicas=world, rank=rank, seed=args.seed
        )
    return DataLoader(
        dataset,
        batch_size=args.batch_size,
        sampler=sampler,
        shuffle=sampler is None,
        generator=generator,
        num_workers=args.workers,
        drop_last=len(images) // world > args.batch_size,
    )


def eval_loader(images: LabelledImages, args: Namespace) -> DataLoader:
    return DataLoader(TaggingDataset(images, EvalPreset()), batch_size=args.batch_size, num_workers=args.workers)


def set_trainable(model: Tagger, epoch: int, unfreeze_every: int) -> int:
    """Staged unfreezing: the head always trains; one more backbone stage (from the top) every `unfreeze_every`
    epochs. Frozen stages also keep their BatchNorm statistics. Returns the number of trainable stages."""
    stages = model.backbone.stages()
    n_open = 0 if unfreeze_every <= 0 else min(len(stages), epoch // unfreeze_every)
    if unfreeze_every < 0:  # negative: everything trains from the start
        n_open = len(stages)
    model.backbone.requires_grad_(False)
    for i, stage in enumerate(reversed(stages)):
        stage.requires_grad_(i < n_open)
    return n_open


def freeze_batchnorm_of_frozen(model: nn.Module) -> None:
    """After model.train(): BatchNorm layers whose weights are frozen use their running statistics."""
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d) and not module.weight.requires_grad:
            module.eval()
