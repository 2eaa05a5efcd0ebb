"""Cache frozen-backbone features ([pooled, ImageNet log-probs]) of several views per image.

Training a head on cached features takes seconds, so the default model can use many augmented views per image and
still rebuild on 2 CPU cores well inside the time budget.
"""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from imagetagger_training.data import LabelledImages
from imagetagger_training.dataset import TaggingDataset
from imagetagger_training.model import Tagger, TaggingHead
from imagetagger_training.transforms import EvalPreset, TrainPreset


@torch.inference_mode()
def head_inputs(tagger: Tagger, images: torch.Tensor) -> torch.Tensor:
    pooled, imagenet_logits = tagger.backbone((images - tagger.mean) / tagger.std)
    return TaggingHead.inputs(pooled, imagenet_logits)


def cache_features(
    tagger: Tagger, images: LabelledImages, augmented_views: int, seed: int, batch_size: int = 32
) -> torch.Tensor:
    """[1 + augmented_views, N, D + 1000]: view 0 is the serving preprocessing, the rest are seeded augmentations."""
    tagger.eval()
    views = []
    for view in range(1 + augmented_views):
        torch.manual_seed(seed + view)
        transform = EvalPreset() if view == 0 else TrainPreset()
        loader = DataLoader(TaggingDataset(images, transform), batch_size=batch_size, shuffle=False)
        chunks = [head_inputs(tagger, x) for x, _ in tqdm(loader, desc=f"features view {view}", leave=False)]
        views.append(torch.cat(chunks))
    return torch.stack(views)
