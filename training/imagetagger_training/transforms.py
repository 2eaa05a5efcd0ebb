"""Train and eval presets. Eval is exactly what serving does (`imagetagger.preprocessing.prepare`: squash to a
square, uint8); training augments and ends in the same square size. Both yield float RGB in [0, 1], CHW; the model
normalises inside.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torchvision.transforms import v2

from imagetagger.preprocessing import decode_image, prepare

# The lite0 classifier's input (models/classifier-lite0). The served model's input is modelspec.SERVING_INPUT_SIZE.
CLASSIFIER_SIZE = 224


def load_image(path: Path) -> Image.Image:
    """Decode a file exactly like an upload (EXIF orientation, RGB); raises InvalidImageError when unreadable."""
    return decode_image(Path(path).read_bytes())


def to_tensor(array: np.ndarray) -> torch.Tensor:
    """uint8 HWC -> float CHW in [0, 1] (Pillow's arrays are read-only, which torch.from_numpy warns about)."""
    array = np.ascontiguousarray(array) if array.flags.writeable else np.array(array)
    return torch.from_numpy(array).permute(2, 0, 1).float().div_(255.0)


class EvalPreset:
    def __init__(self, size: int = CLASSIFIER_SIZE) -> None:
        self.size = size

    def __call__(self, image: Image.Image) -> torch.Tensor:
        return to_tensor(prepare(image, self.size))


class TrainPreset:
    """Flip, small rotation, random resized crop (mostly the whole picture: tags refer to the whole image), colour
    jitter. The crop's aspect range is wide because serving squashes, so objects are seen stretched anyway."""

    def __init__(
        self, size: int = CLASSIFIER_SIZE, min_scale: float = 0.5, jitter: float = 0.3, rotation: float = 10.0
    ):
        self.transform = v2.Compose(
            [
                v2.RandomHorizontalFlip(),
                v2.RandomRotation(rotation),
                v2.RandomResizedCrop(size, scale=(min_scale, 1.0), ratio=(0.5, 2.0), antialias=True),
                v2.ColorJitter(brightness=jitter, contrast=jitter, saturation=jitter),
            ]
        )
        self.size = size

    def __call__(self, image: Image.Image) -> torch.Tensor:
        # Start from the serving-size square so augmentation costs little and resampling matches serving.
        square = Image.fromarray(prepare(image, self.size * 2 if min(image.size) >= self.size * 2 else self.size))
        return to_tensor(np.asarray(self.transform(square)))
