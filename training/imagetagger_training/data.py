"""Multi-label targets from pluggable label sources: COCO instances JSON now, a user-corrections manifest later.

A label source turns "some annotation format" into `LabelledImages`: image paths plus an [N, C] 0/1 matrix in the
canonical class order (COCO's 80 categories sorted by id), so splits, training and evaluation never see the format.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from imagetagger.coco import COCO_CATEGORIES, Category

ClassInfo = Category  # a class of the label order: name, coco_id, parent


def coco_classes() -> list[ClassInfo]:
    """COCO's 80 categories sorted by id: the label order of every model and target matrix."""
    return list(COCO_CATEGORIES)


@dataclass
class LabelledImages:
    paths: list[Path]
    targets: np.ndarray  # float32 [N, C], 1 where the class is present
    classes: list[ClassInfo]
    coco_ids: list[int] | None = None  # COCO image ids where the source has them (what a model may have seen)

    def __len__(self) -> int:
        return len(self.paths)

    def subset(self, indices: np.ndarray | list[int]) -> LabelledImages:
        indices = list(indices)
        ids = None if self.coco_ids is None else [self.coco_ids[i] for i in indices]
        return LabelledImages([self.paths[i] for i in indices], self.targets[indices], self.classes, ids)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.classes]


class LabelSource(Protocol):
    def load(self) -> LabelledImages: ...


@dataclass(frozen=True)
class CocoLabelSource:
    """COCO instances JSON: an image is positive for every category with at least one annotation on it."""

    annotations: Path
    images_dir: Path

    def load(self) -> LabelledImages:
        # Plain JSON (no pycocotools): `imagetagger evaluate` runs in the runtime environment too.
        document = json.loads(self.annotations.read_text())
        classes = coco_classes()
        column = {c.coco_id: i for i, c in enumerate(classes)}
        images = sorted(document["images"], key=lambda image: image["id"])
        row_of = {image["id"]: row for row, image in enumerate(images)}
        targets = np.zeros((len(images), len(classes)), dtype=np.float32)
        for ann in document.get("annotations", []):
            if ann["category_id"] in column and ann["image_id"] in row_of:
                targets[row_of[ann["image_id"]], column[ann["category_id"]]] = 1.0
        paths = [self.images_dir / image["file_name"] for image in images]
        return LabelledImages(paths, targets, classes, coco_ids=[int(image["id"]) for image in images])


@dataclass(frozen=True)
class ManifestLabelSource:
    """User corrections as JSON Lines: one `{"image": "path", "labels": ["dog", "person"]}` per line.

    Relative image paths are resolved against the manifest's folder; unknown label names are an error (a typo in a
    correction must not silently become a negative).
    """

    manifest: Path

    def load(self) -> LabelledImages:
        classes = coco_classes()
        column = {c.name: i for i, c in enumerate(classes)}
        paths: list[Path] = []
        rows: list[np.ndarray] = []
        for line_no, line in enumerate(self.manifest.read_text().splitlines(), start=1):
            if not line.strip():
                continue
            record = json.loads(line)
            unknown = sorted(set(record["labels"]) - column.keys())
            if unknown:
                raise ValueError(f"{self.manifest}:{line_no}: unknown labels {unknown}")
            row = np.zeros(len(classes), dtype=np.float32)
            row[[column[name] for name in record["labels"]]] = 1.0
            image = Path(record["image"])
            paths.append(image if image.is_absolute() else self.manifest.parent / image)
            rows.append(row)
        targets = np.stack(rows) if rows else np.zeros((0, len(classes)), dtype=np.float32)
        return LabelledImages(paths, targets, classes)


def label_source(annotations: Path, images_dir: Path | None = None) -> LabelSource:
    """Pick the label source by file type: `.jsonl` is a corrections manifest, anything else COCO JSON."""
    if annotations.suffix == ".jsonl":
        return ManifestLabelSource(annotations)
    if images_dir is None:
        raise ValueError("COCO annotations need the images folder")
    return CocoLabelSource(annotations, images_dir)
