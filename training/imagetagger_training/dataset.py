"""A torch Dataset over LabelledImages that skips unreadable files up front (reported, never a crash mid-epoch)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import torch
from PIL import Image
from torch.utils.data import Dataset

from imagetagger.errors import InvalidImageError
from imagetagger_training.data import LabelledImages
from imagetagger_training.transforms import load_image

log = logging.getLogger(__name__)


def readable(images: LabelledImages) -> tuple[LabelledImages, dict[str, str]]:
    """Keep the images that decode; return the others as {path: reason}."""
    keep: list[int] = []
    unreadable: dict[str, str] = {}
    for i, path in enumerate(images.paths):
        try:
            load_image(path)
            keep.append(i)
        except (InvalidImageError, OSError) as exc:
            unreadable[str(path)] = str(exc)
            log.warning("skipping unreadable image %s: %s", path, exc)
    return images.subset(keep), unreadable


class TaggingDataset(Dataset):
    def __init__(self, images: LabelledImages, transform: Callable[[Image.Image], torch.Tensor]) -> None:
        self.images = images
        self.transform = transform

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        path: Path = self.images.paths[index]
        return self.transform(load_image(path)), torch.from_numpy(self.images.targets[index])
