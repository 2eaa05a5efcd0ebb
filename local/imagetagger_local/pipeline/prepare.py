"""The prepare step on the local stack: COCO sample + users' corrections -> train.jsonl / test.jsonl in a run folder.

Corrected images are downloaded from the stack's bucket into the run folder, so the manifests point at local files the
training code reads directly (in AWS the same manifests point into the training job's input channel).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from imagetagger_local.pipeline.target import LocalTarget
from imagetagger_workflow.manifest import (
    Example,
    SplitManifests,
    coco_examples,
    correction_examples,
    split_examples,
    write_manifest,
)


@dataclass(frozen=True)
class PreparedData:
    train_manifest: Path
    test_manifest: Path
    counts: dict[str, int]


def md5_of(path: Path) -> str:
    # MD5 because it is what S3 reports as the ETag of a single-part object: the AWS prepare step compares ETags.
    return hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest()


def local_coco(coco_dir: Path, part: str) -> list[Example]:
    """The sample's `part` (train or val) with absolute image paths and content ids."""
    annotations = json.loads((coco_dir / "annotations" / f"instances_{part}.json").read_text())
    examples = coco_examples(annotations, str((coco_dir / part).resolve()))
    for example in examples:
        example.content_id = md5_of(Path(example.image))
    return examples


def download_corrections(target: LocalTarget, into: Path) -> list[Example]:
    """Every corrected image, fetched from the bucket; its manifest path becomes the local copy."""
    s3 = target.client("s3")
    examples = correction_examples(target.corrections.corrected_images(), target.bucket)
    for example in examples:
        key = example.image.removeprefix(f"s3://{target.bucket}/")
        local = into / key
        local.parent.mkdir(parents=True, exist_ok=True)
        s3.download_file(target.bucket, key, str(local))
        example.image, example.content_id = str(local.resolve()), md5_of(local)
    return examples


def prepare(
    target: LocalTarget,
    coco_dir: Path,
    data_dir: Path,
    test_fraction: float = 0.2,
    seed: int = 0,
    max_train_images: int | None = None,
) -> PreparedData:
    """Write the run's manifests. `max_train_images` keeps only the first N training examples: a cheap run for tests,
    or a deliberately weak candidate to see the gate refuse it."""
    corrections = download_corrections(target, data_dir / "corrections")
    split: SplitManifests = split_examples(
        local_coco(coco_dir, "train"), local_coco(coco_dir, "val"), corrections, test_fraction=test_fraction, seed=seed
    )
    if max_train_images is not None:
        split.train = split.train[:max_train_images]
    counts = split.counts()
    (data_dir / "counts.json").parent.mkdir(parents=True, exist_ok=True)
    (data_dir / "counts.json").write_text(json.dumps(counts) + "\n")
    return PreparedData(
        train_manifest=write_manifest(data_dir / "train.jsonl", split.train),
        test_manifest=write_manifest(data_dir / "test.jsonl", split.test),
        counts=counts,
    )
