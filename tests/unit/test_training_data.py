"""Label sources (COCO JSON, corrections manifest) and the dataset report."""

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pycocotools")

from imagetagger_training.data import CocoLabelSource, ManifestLabelSource, coco_classes, label_source  # noqa: E402

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "coco-sample"


def test_coco_source_gives_one_row_per_image_in_canonical_class_order():
    images = CocoLabelSource(SAMPLE / "annotations" / "instances_val.json", SAMPLE / "val").load()
    coco = json.loads((SAMPLE / "annotations" / "instances_val.json").read_text())
    assert len(images) == len(coco["images"]) == 79
    assert images.names[:3] == ["person", "bicycle", "car"] and len(images.names) == 80
    # every (image, category) annotation pair is a positive, and nothing else is
    by_file = {i["id"]: i["file_name"] for i in coco["images"]}
    column = {c.coco_id: k for k, c in enumerate(coco_classes())}
    expected = np.zeros_like(images.targets)
    row = {p.name: r for r, p in enumerate(images.paths)}
    for ann in coco["annotations"]:
        expected[row[by_file[ann["image_id"]]], column[ann["category_id"]]] = 1
    np.testing.assert_array_equal(images.targets, expected)
    assert all(p.is_file() for p in images.paths)


def test_manifest_source_reads_jsonl_corrections(tmp_path):
    manifest = tmp_path / "corrections.jsonl"
    manifest.write_text('{"image": "a.jpg", "labels": ["dog", "couch"]}\n\n{"image": "/abs/b.jpg", "labels": []}\n')
    images = label_source(manifest).load()
    assert images.paths == [tmp_path / "a.jpg", Path("/abs/b.jpg")]
    assert images.targets.sum() == 2 and images.targets[1].sum() == 0
    assert {images.names[i] for i in np.flatnonzero(images.targets[0])} == {"dog", "couch"}


def test_manifest_with_an_unknown_label_is_rejected_with_its_line(tmp_path):
    manifest = tmp_path / "corrections.jsonl"
    manifest.write_text('{"image": "a.jpg", "labels": ["dog"]}\n{"image": "b.jpg", "labels": ["doggo"]}\n')
    with pytest.raises(ValueError, match=r"corrections.jsonl:2: unknown labels \['doggo'\]"):
        ManifestLabelSource(manifest).load()


def test_dataset_report_counts_frequencies_cardinality_and_co_occurrence(tmp_path):
    pytest.importorskip("matplotlib")
    from imagetagger_training.report import write_dataset_report

    manifest = tmp_path / "m.jsonl"
    manifest.write_text(
        '{"image": "a.jpg", "labels": ["dog", "person"]}\n'
        '{"image": "b.jpg", "labels": ["dog"]}\n'
        '{"image": "c.jpg", "labels": []}\n'
    )
    stats = write_dataset_report(label_source(manifest).load(), tmp_path / "report")
    assert stats["class_frequency"]["dog"] == 2 and stats["class_frequency"]["person"] == 1
    assert stats["label_cardinality"]["histogram"] == {0: 1, 1: 1, 2: 1}
    names = stats["classes"]
    co = np.array(stats["co_occurrence"])
    assert co[names.index("dog"), names.index("person")] == 1 and co[names.index("dog"), names.index("dog")] == 2
    for name in ("report.json", "class_frequency.png", "label_cardinality.png", "co_occurrence.png"):
        assert (tmp_path / "report" / name).stat().st_size > 0
