"""Train/val/test split: multi-label iterative stratification over groups of byte-identical images.

Exact duplicates (same content hash) form one group and always land in the same split, so a copy of a test image can
never be trained on. The split is a pure function of the data and the seed, and is saved as JSON for reuse.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from iterstrat.ml_stratifiers import MultilabelStratifiedShuffleSplit

from imagetagger_training.data import LabelledImages


@dataclass(frozen=True)
class Split:
    seed: int
    fractions: tuple[float, float, float]
    train: list[str]
    val: list[str]
    test: list[str]

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=1) + "\n")

    @classmethod
    def load(cls, path: Path) -> Split:
        doc = json.loads(path.read_text())
        return cls(doc["seed"], tuple(doc["fractions"]), doc["train"], doc["val"], doc["test"])

    def indices(self, images: LabelledImages, part: str) -> list[int]:
        """Positions in `images` of the files in one part, matched by file name."""
        wanted = set(getattr(self, part))
        return [i for i, p in enumerate(images.paths) if p.name in wanted]


def content_groups(paths: list[Path]) -> np.ndarray:
    """Group id per image; byte-identical files share one."""
    ids: dict[str, int] = {}
    return np.array([ids.setdefault(hashlib.sha256(p.read_bytes()).hexdigest(), len(ids)) for p in paths])


def _stratified_take(labels: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(rest, taken) row indices, `taken` being about `fraction` of the rows, stratified on every label."""
    splitter = MultilabelStratifiedShuffleSplit(n_splits=1, test_size=fraction, random_state=seed)
    rest, taken = next(splitter.split(np.zeros(len(labels)), labels))
    return rest, taken


def make_split(images: LabelledImages, fractions: tuple[float, float, float] = (0.8, 0.1, 0.1), seed: int = 0) -> Split:
    if len(fractions) != 3 or not np.isclose(sum(fractions), 1.0) or min(fractions) <= 0:
        raise ValueError(f"fractions must be three positive numbers summing to 1, got {fractions}")
    groups = content_groups(images.paths)
    n_groups = int(groups.max()) + 1
    group_labels = np.zeros((n_groups, images.targets.shape[1]), dtype=np.int64)
    np.maximum.at(group_labels, groups, images.targets.astype(np.int64))

    _, val_frac, test_frac = fractions
    rest, test = _stratified_take(group_labels, test_frac, seed)
    train_pos, val_pos = _stratified_take(group_labels[rest], val_frac / (1 - test_frac), seed + 1)
    part_of_group = np.empty(n_groups, dtype=object)
    part_of_group[test], part_of_group[rest[val_pos]], part_of_group[rest[train_pos]] = "test", "val", "train"
    names: dict[str, list[str]] = {"train": [], "val": [], "test": []}
    for path, group in zip(images.paths, groups, strict=True):
        names[part_of_group[group]].append(path.name)
    return Split(seed, tuple(fractions), names["train"], names["val"], names["test"])
