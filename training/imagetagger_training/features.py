"""Cache frozen-backbone image descriptions (and prior logits) of several views per image.

Training a head on cached descriptions takes seconds, so the default model can use augmented views and k-fold
calibration and still rebuild on 2 CPU cores well inside the time budget.
"""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from imagetagger_training.data import LabelledImages
from imagetagger_training.dataset import TaggingDataset
from imagetagger_training.model import Tagger
from imagetagger_training.transforms import EvalPreset, TrainPreset


def cache_features(
    tagger: Tagger, images: LabelledImages, augmented_views: int, seed: int, batch_size: int = 16
) -> tuple[torch.Tensor, torch.Tensor]:
    """(descriptions [V, N, F], priors [V, N, C, 2]) with V = 1 + augmented_views; view 0 is the serving
    preprocessing, the others seeded training augmentations."""
    tagger.eval()
    descriptions, priors = [], []
    for view in range(1 + augmented_views):
        torch.manual_seed(seed + view)
        transform = EvalPreset() if view == 0 else TrainPreset()
        loader = DataLoader(TaggingDataset(images, transform), batch_size=batch_size, shuffle=False)
        with torch.inference_mode():
            parts = [tagger.describe(x) for x, _ in tqdm(loader, desc=f"features, view {view}", leave=False)]
        descriptions.append(torch.cat([d for d, _ in parts]))
        priors.append(torch.cat([p for _, p in parts]))
    return torch.stack(descriptions), torch.stack(priors)
