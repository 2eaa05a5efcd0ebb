"""`imagetagger evaluate --json` on real COCO images with the committed default model; unreadable files are skipped."""

import json
import shutil
from pathlib import Path

import pytest

pytest.importorskip("torchmetrics")
pytest.importorskip("onnxruntime")

from imagetagger_cli.main import main  # noqa: E402

pytestmark = pytest.mark.torch

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "coco-sample"
KEYS = {"mAP", "CP", "CR", "CF1", "OP", "OR", "OF1", "per_label_accuracy", "all_negative_per_label_accuracy",
        "n_images", "n_classes_present"}  # fmt: skip


@pytest.fixture
def small_coco(tmp_path):
    """Six real val images plus one corrupt file, with their COCO annotations."""
    coco = json.loads((SAMPLE / "annotations" / "instances_val.json").read_text())
    images = coco["images"][:6]
    for image in images:
        shutil.copy(SAMPLE / "val" / image["file_name"], tmp_path / image["file_name"])
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    images.append({"id": 999999999, "file_name": "broken.jpg", "width": 10, "height": 10})
    ids = {i["id"] for i in images}
    coco["images"] = images
    coco["annotations"] = [a for a in coco["annotations"] if a["image_id"] in ids]
    path = tmp_path / "instances.json"
    path.write_text(json.dumps(coco))
    return path, tmp_path


def test_evaluate_prints_the_metric_object_and_reports_unreadable_images(small_coco, capsys):
    annotations, images = small_coco
    assert main(["evaluate", "--annotations", str(annotations), "--images", str(images), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out.keys() >= KEYS
    assert out["n_images"] == 6  # the broken file is skipped, not fatal
    assert list(out["unreadable"]) == [str(images / "broken.jpg")]
    for key in KEYS - {"n_images", "n_classes_present"}:
        assert 0 <= out[key] <= 100
    assert out["n_classes_present"] >= 1
    assert out["all_negative_per_label_accuracy"] > 90  # a few labels of 80 per image


def test_evaluate_explains_a_missing_model(small_coco, tmp_path, capsys):
    annotations, images = small_coco
    code = main(
        ["evaluate", "--annotations", str(annotations), "--images", str(images), "--model", str(tmp_path / "x")]
    )
    assert code == 2
    assert "not a model artifact" in capsys.readouterr().err


def test_evaluate_scores_a_serving_backend_as_the_endpoint_runs_it(small_coco, capsys):
    annotations, images = small_coco
    args = ["evaluate", "--annotations", str(annotations), "--images", str(images), "--json"]
    assert main(args) == 0
    graph = json.loads(capsys.readouterr().out)
    assert main([*args, "--backend", "ort-fp32"]) == 0
    served = json.loads(capsys.readouterr().out)
    assert served["backend"] == "ort-fp32"
    assert served["mAP"] == pytest.approx(graph["mAP"], abs=0.01)  # the same fp32 graph, through the endpoint's engine


def test_evaluate_explains_an_unknown_or_missing_backend(small_coco, tmp_path, capsys, monkeypatch):
    annotations, images = small_coco
    monkeypatch.setenv("IMAGETAGGER_CACHE_DIR", str(tmp_path / "empty-cache"))
    args = ["evaluate", "--annotations", str(annotations), "--images", str(images)]
    assert main([*args, "--backend", "tensorrt"]) == 2
    assert "unknown backend" in capsys.readouterr().err
    assert main([*args, "--backend", "ort-int8"]) == 2  # no int8 variant in an empty cache
    assert "imagetagger_bench.optimize" in capsys.readouterr().err
