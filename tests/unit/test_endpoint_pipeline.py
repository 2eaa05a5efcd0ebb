"""Bulk tagging of files: the same tags as one-by-one requests, in order, unreadable files reported."""

from __future__ import annotations

from pathlib import Path

import pytest

from imagetagger_endpoint import handler
from imagetagger_endpoint.pipeline import tag_files

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "coco-sample" / "val"


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> handler.TaggingModel:
    pytest.importorskip("onnx")
    from imagetagger_endpoint.tiny_model import write_tiny_model

    return handler.model_fn(str(write_tiny_model(tmp_path_factory.mktemp("tiny"))))


def test_bulk_tags_equal_single_requests_in_order_and_bad_files_are_reported(model, tmp_path):
    jpegs = sorted(SAMPLE.glob("*.jpg"))[:11]
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8 not really a jpeg")
    missing = tmp_path / "gone.jpg"
    paths = [*jpegs[:5], broken, *jpegs[5:], missing]

    results = tag_files(paths, model, batch_size=4)

    assert [r.path for r in results] == paths
    by_path = {r.path: r for r in results}
    assert by_path[broken].tags is None and "not a supported image" in by_path[broken].error
    assert by_path[missing].tags is None and "gone.jpg" in by_path[missing].error
    for path in jpegs:
        single = handler.predict_fn(handler.input_fn(path.read_bytes(), "image/jpeg"), model)
        assert by_path[path].tags == single["predictions"][0]["tags"]


def test_no_files_no_results(model):
    assert tag_files([], model) == []
