"""The training state machine's Lambda steps against moto: PrepareData turns the COCO sample and API corrections into
the run's channels, Decide applies the gate to the evaluation job's comparison, Record writes the registry."""

import json
from pathlib import Path

import boto3
import pytest
from handler_support import REGION, http_event, jpeg_bytes

from imagetagger.model_registry import ModelRegistry, ModelStatus, ModelVersion
from imagetagger_workflow import handlers

ROOT = Path(__file__).resolve().parents[2]
COCO = ROOT / "data" / "coco-sample"


@pytest.fixture
def artifacts(stack, monkeypatch):
    """The artifact bucket holding a small COCO sample (3 train and 2 val images with their annotations)."""
    bucket = stack.physical_ids["ArtifactBucket"]
    monkeypatch.setenv("ARTIFACT_BUCKET", bucket)
    monkeypatch.setenv("ENDPOINT_POLL_SECONDS", "1")
    s3 = boto3.client("s3", region_name=REGION)
    for part, keep in (("train", 3), ("val", 2)):
        document = json.loads((COCO / "annotations" / f"instances_{part}.json").read_text())
        images = sorted(document["images"], key=lambda image: image["id"])[:keep]
        ids = {image["id"] for image in images}
        document = {
            **document,
            "images": images,
            "annotations": [a for a in document["annotations"] if a["image_id"] in ids],
        }
        s3.put_object(
            Bucket=bucket, Key=f"datasets/coco-sample/annotations/instances_{part}.json", Body=json.dumps(document)
        )
        for image in images:
            s3.put_object(
                Bucket=bucket,
                Key=f"datasets/coco-sample/{part}/{image['file_name']}",
                Body=(COCO / part / image["file_name"]).read_bytes(),
            )
    handlers._registry.cache_clear()
    yield bucket
    handlers._registry.cache_clear()


@pytest.fixture
def corrected_image(upload_image, deliver, model, api, lambda_context):
    model.tags = [{"name": "dog", "confidence": 0.9, "parents": ["animal"]}]
    image_id = upload_image(jpeg_bytes())
    assert deliver()["batchItemFailures"] == []
    event = http_event(
        "api/put_image_tags.json", path=f"/images/{image_id}/tags", body=json.dumps({"reject": ["dog"], "add": ["cat"]})
    )
    event["pathParameters"] = {"image_id": image_id}
    assert api.lambda_handler(event, lambda_context)["statusCode"] == 200
    return image_id


def _lines(bucket, key):
    body = boto3.client("s3", region_name=REGION).get_object(Bucket=bucket, Key=key)["Body"].read().decode()
    return [json.loads(line) for line in body.splitlines()]


def test_prepare_writes_both_channels_with_the_corrections_as_labels(artifacts, corrected_image, lambda_context):
    run = handlers.prepare({"execution": "x", "input": {}}, lambda_context)
    root = f"runs/{run['run_id']}"
    assert run["train_s3_uri"] == f"s3://{artifacts}/{root}/data/train/" and run["poll_seconds"] == 1
    assert len(run["training_job_name"]) <= 63 and run["processing_job_name"] == f"{run['run_id']}-eval"
    train = _lines(artifacts, f"{root}/data/train/labels.jsonl")
    test = _lines(artifacts, f"{root}/data/test/test.jsonl")
    assert run["counts"] == {"train": len(train), "test": len(test), "corrections": 1}
    corrected = [r for r in train + test if r["source"] == "correction"]
    assert len(corrected) == 1 and corrected[0]["labels"] == ["cat"]
    assert len([r for r in test if r["source"] == "coco"]) == 2  # COCO val is the test split
    s3 = boto3.client("s3", region_name=REGION)
    for record in train:  # every manifest path resolves inside the channel
        assert not record["image"].startswith(("/", "s3:"))
        s3.head_object(Bucket=artifacts, Key=f"{root}/data/train/{record['image']}")
    # no serving model registered yet: the Evaluate job scores the candidate alone
    s3.head_object(Bucket=artifacts, Key=f"{root}/production/NONE")


def test_prepare_stages_the_serving_models_artifact(artifacts, stack, lambda_context):
    s3 = boto3.client("s3", region_name=REGION)
    s3.put_object(Bucket=artifacts, Key="runs/old/output/model.tar.gz", Body=b"archive")
    registry = ModelRegistry(boto3.resource("dynamodb", region_name=REGION).Table(stack.physical_ids["ModelsTable"]))
    registry.promote(ModelVersion("v1", ModelStatus.SERVING, artifact=f"s3://{artifacts}/runs/old/output/model.tar.gz"))
    run = handlers.prepare({"execution": "x", "input": {}}, lambda_context)
    staged = s3.get_object(Bucket=artifacts, Key=f"runs/{run['run_id']}/production/model.tar.gz")["Body"].read()
    assert staged == b"archive"


@pytest.mark.parametrize(("candidate_map", "promote"), [(50.0, True), (40.0, False)])
def test_decide_reads_the_comparison_and_applies_the_gate(artifacts, lambda_context, candidate_map, promote):
    comparison = {
        "candidate": {"model_version": "v2", "mAP": candidate_map},
        "production": {"model_version": "v1", "mAP": 44.36},
    }
    boto3.client("s3", region_name=REGION).put_object(
        Bucket=artifacts, Key="runs/r/evaluation/comparison.json", Body=json.dumps(comparison)
    )
    run = {"evaluation_s3_uri": f"s3://{artifacts}/runs/r/evaluation/"}
    decision = handlers.decide_step({"run": run, "training": {}}, lambda_context)
    assert decision["promote"] is promote and decision["candidate_version"] == "v2"
    assert "44.36" in decision["reason"]


def test_record_writes_each_outcome_to_the_registry(artifacts, stack, lambda_context):
    registry = ModelRegistry(boto3.resource("dynamodb", region_name=REGION).Table(stack.physical_ids["ModelsTable"]))
    decision = {"candidate_version": "v2", "reason": "better", "metrics": {"candidate": {"mAP": 50.0}}}
    run = {"run_id": "it-1", "serving_s3_uri": "s3://a/runs/it-1/serving/"}
    training = {"model_artifact": "s3://a/runs/it-1/output/model.tar.gz"}
    handlers.record({"outcome": "PROMOTED", "run": run, "decision": decision, "training": training}, lambda_context)
    assert registry.serving().model_version == "v2" and registry.get("v2").metrics == {"test": {"mAP": 50.0}}
    # the servable archive (model + code/) is what the next run stages as the production model
    assert registry.get("v2").artifact == "s3://a/runs/it-1/serving/model.tar.gz"

    worse = {**decision, "candidate_version": "v3", "reason": "worse"}
    handlers.record({"outcome": "REFUSED", "run": run, "decision": worse, "training": training}, lambda_context)
    assert registry.get("v3").status == ModelStatus.REFUSED and registry.get("v3").reason == "worse"

    failed_state = {
        "prepared": {"run": run},
        "decision": {**decision, "candidate_version": "v4"},
        "error": {"Error": "EndpointNotUpdated", "Cause": "rolled back"},
    }
    handlers.record({"outcome": "FAILED", "input": failed_state}, lambda_context)
    assert registry.get("v4").status == ModelStatus.FAILED and registry.get("v4").reason == "rolled back"
    assert registry.serving().model_version == "v2"

    early = handlers.record({"outcome": "FAILED", "input": {"error": {"Cause": "prepare broke"}}}, lambda_context)
    assert early == {"recorded": False, "outcome": "FAILED"}
