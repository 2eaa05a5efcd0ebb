"""Training manifests: COCO annotations plus users' corrections -> JSON Lines `{"image", "labels"}` for train and test.

The format is the one `imagetagger_training.data.ManifestLabelSource` reads (extra keys are ignored by it). The split:
- COCO images keep the sample's own split (train/ trains, val/ tests), so the test split is the same every run and
  the production model, trained on train/, is never scored on an image it learnt from;
- corrected images are new examples: they are split train/test with multi-label iterative stratification, so every
  corrected tag is represented on both sides when it can be;
- a corrected image that is byte-identical to a COCO image (e.g. imported from the sample) replaces that image's
  labels where it stands, so no copy of a test image ever reaches training.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from imagetagger.coco import COCO_PARENTS
from imagetagger.corrections import CorrectedImage

LABELS = list(COCO_PARENTS)  # canonical order: COCO ids ascending


@dataclass
class Example:
    image: str  # a path or an s3:// URI, rewritten by whoever materialises the data
    labels: list[str]
    source: str  # "coco" or "correction"
    content_id: str = ""  # an MD5 of the bytes (S3's ETag for single-part objects), for duplicate detection

    def to_record(self) -> dict[str, Any]:
        return {"image": self.image, "labels": self.labels, "source": self.source}


def coco_examples(annotations: dict[str, Any], image_dir: str) -> list[Example]:
    """One example per image of a COCO instances document; labels are the categories with an annotation on it."""
    names = {int(c["id"]): c["name"] for c in annotations["categories"]}
    labels: dict[int, set[str]] = {int(image["id"]): set() for image in annotations["images"]}
    for annotation in annotations["annotations"]:
        labels[int(annotation["image_id"])].add(names[int(annotation["category_id"])])
    return [
        Example(
            image=f"{image_dir.rstrip('/')}/{image['file_name']}",
            labels=sorted(labels[int(image["id"])]),
            source="coco",
        )
        for image in sorted(annotations["images"], key=lambda image: int(image["id"]))
    ]


def correction_examples(images: Iterable[CorrectedImage], bucket: str) -> list[Example]:
    """Corrected images as examples pointing at their uploaded objects; an image whose correction leaves no label
    stays in (it teaches "none of these"), as COCO images without annotations do."""
    return [
        Example(image=f"s3://{bucket}/{image.s3_key}", labels=image.labels, source="correction")
        for image in sorted(images, key=lambda image: (image.user_id, image.image_id))
    ]


def manifest_from_corrections(images: Iterable[CorrectedImage], bucket: str) -> list[dict[str, Any]]:
    return [example.to_record() for example in correction_examples(images, bucket)]


@dataclass
class SplitManifests:
    train: list[Example]
    test: list[Example]

    def counts(self) -> dict[str, int]:
        corrections = sum(e.source == "correction" for e in [*self.train, *self.test])
        return {"train": len(self.train), "test": len(self.test), "corrections": corrections}


def split_examples(
    coco_train: list[Example],
    coco_test: list[Example],
    corrections: list[Example],
    test_fraction: float = 0.2,
    seed: int = 0,
) -> SplitManifests:
    """The train and test manifests (see the module docstring for the rules)."""
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be between 0 and 1, got {test_fraction}")
    by_content = {e.content_id: e for e in [*coco_train, *coco_test] if e.content_id}
    new: list[Example] = []
    for correction in corrections:
        twin = by_content.get(correction.content_id) if correction.content_id else None
        if twin is not None:
            twin.labels, twin.source = correction.labels, "correction"  # the user's word beats the old annotation
        else:
            new.append(correction)
    new = _unique_by_content(new)
    train_new, test_new = stratified_partition(new, test_fraction, seed)
    return SplitManifests(train=[*coco_train, *train_new], test=[*coco_test, *test_new])


def stratified_partition(
    examples: list[Example], test_fraction: float, seed: int
) -> tuple[list[Example], list[Example]]:
    """(train, test) with labels spread evenly; too few examples to split go to train."""
    n_test = int(round(len(examples) * test_fraction))
    if n_test == 0 or n_test == len(examples):
        return list(examples), []
    from iterstrat.ml_stratifiers import MultilabelStratifiedShuffleSplit  # scikit-learn: import only when used

    targets = label_matrix(examples)
    splitter = MultilabelStratifiedShuffleSplit(n_splits=1, test_size=n_test, random_state=seed)
    train_idx, test_idx = next(splitter.split(np.zeros(len(examples)), targets))
    return [examples[i] for i in sorted(train_idx)], [examples[i] for i in sorted(test_idx)]


def label_matrix(examples: list[Example]) -> np.ndarray:
    column = {name: i for i, name in enumerate(LABELS)}
    targets = np.zeros((len(examples), len(LABELS)), dtype=np.int64)
    for row, example in enumerate(examples):
        targets[row, [column[name] for name in example.labels]] = 1
    return targets


def _unique_by_content(examples: list[Example]) -> list[Example]:
    """One example per content (the same photo uploaded twice is one example, with the last correction's labels)."""
    seen: dict[str, Example] = {}
    unnamed: list[Example] = []
    for example in examples:
        if example.content_id:
            seen[example.content_id] = example
        else:
            unnamed.append(example)
    return [*seen.values(), *unnamed]


def write_manifest(path: Path, examples: Iterable[Example]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(e.to_record()) + "\n" for e in examples))
    return path


def read_manifest(path: Path) -> Iterator[dict[str, Any]]:
    for line in path.read_text().splitlines():
        if line.strip():
            yield json.loads(line)
