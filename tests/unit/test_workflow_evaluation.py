"""The Evaluate job's entry point: both models scored on the same manifest, the candidate packed for serving."""

import json
import tarfile
from pathlib import Path

import pytest

pytest.importorskip("torchmetrics")
pytest.importorskip("onnx")

from imagetagger_endpoint.packaging import build_model_tarball  # noqa: E402
from imagetagger_endpoint.tiny_model import write_tiny_model  # noqa: E402
from imagetagger_workflow.evaluation import main  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
VAL = ROOT / "data" / "coco-sample" / "val"


@pytest.fixture
def test_manifest(tmp_path):
    annotations = json.loads((ROOT / "data" / "coco-sample" / "annotations" / "instances_val.json").read_text())
    names = {c["id"]: c["name"] for c in annotations["categories"]}
    lines = []
    for image in sorted(annotations["images"], key=lambda i: i["id"])[:6]:
        labels = sorted({names[a["category_id"]] for a in annotations["annotations"] if a["image_id"] == image["id"]})
        lines.append(json.dumps({"image": str(VAL / image["file_name"]), "labels": labels}))
    path = tmp_path / "test.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_scores_candidate_and_production_on_the_same_images_and_packs_the_candidate(tmp_path, test_manifest):
    candidate = write_tiny_model(tmp_path / "candidate")
    production = build_model_tarball(write_tiny_model(tmp_path / "production"), tmp_path / "production.tar.gz")
    out = tmp_path / "out" / "comparison.json"
    serving = tmp_path / "serving" / "model.tar.gz"
    main([
        "--candidate", str(candidate), "--production", str(production), "--test", str(test_manifest),
        "--out", str(out), "--serving-out", str(serving), "--serving-code", str(ROOT / "endpoint" / "sagemaker_code"),
    ])  # fmt: skip
    comparison = json.loads(out.read_text())
    assert comparison["candidate"]["n_images"] == comparison["production"]["n_images"] == 6
    # the same model scores the same on the same images, whichever side it is on
    assert comparison["candidate"]["mAP"] == comparison["production"]["mAP"]
    with tarfile.open(serving) as archive:
        names = set(archive.getnames())
    assert {"model.onnx", "model.json", "code/inference.py", "code/imagetagger_endpoint/handler.py"} <= names


def test_the_first_run_scores_the_candidate_alone(tmp_path, test_manifest):
    out = tmp_path / "comparison.json"
    missing = tmp_path / "production" / "model.tar.gz"  # the NONE marker's folder: no archive
    main(
        [
            "--candidate",
            str(write_tiny_model(tmp_path / "c")),
            "--production",
            str(missing),
            "--test",
            str(test_manifest),
            "--out",
            str(out),
        ]
    )
    comparison = json.loads(out.read_text())
    assert comparison["production"] is None and comparison["candidate"]["n_images"] == 6
