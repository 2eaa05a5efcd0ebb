"""The PrepareData step in AWS: COCO sample + corrections -> the run's training and test channels in S3.

Layout under s3://ARTIFACT_BUCKET/:
- datasets/coco-sample/{annotations,train,val}/...   uploaded once by `imagetagger aws upload-dataset`
- runs/{run_id}/data/train/labels.jsonl + images/... the training job's `train` channel (SM_CHANNEL_TRAIN)
- runs/{run_id}/data/test/test.jsonl + images/...    the Evaluate job's `data` input
- runs/{run_id}/production/model.tar.gz               the serving model (absent on the first run: NONE marker)
- runs/{run_id}/{output,checkpoints,evaluation}/      written by the jobs
- runs/{run_id}/serving/model.tar.gz                  the candidate with code/inference.py: what the endpoint serves
Manifest paths are relative to the manifest, so they resolve inside the containers. Images are copied server-side.
"""

from __future__ import annotations

import json
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from imagetagger.correction_store import CorrectionStore
from imagetagger.model_registry import ModelRegistry
from imagetagger_workflow.manifest import Example, coco_examples, correction_examples, split_examples

DATASET_PREFIX = "datasets/coco-sample"


@dataclass(frozen=True)
class PrepareConfig:
    artifact_bucket: str
    upload_bucket: str
    poll_seconds: int = 60
    test_fraction: float = 0.2
    seed: int = 0


def new_run_id() -> str:
    """Short enough for every SageMaker job name it prefixes (63 characters at most), time-ordered."""
    return time.strftime("it-%Y%m%d-%H%M%S-", time.gmtime()) + secrets.token_hex(2)


def prepare_run(
    config: PrepareConfig, s3: Any, corrections: CorrectionStore, registry: ModelRegistry
) -> dict[str, Any]:
    run_id = new_run_id()
    root = f"runs/{run_id}"
    etags = _etags(s3, config.artifact_bucket, f"{DATASET_PREFIX}/")
    coco = {part: _coco_part(s3, config.artifact_bucket, part, etags) for part in ("train", "val")}
    fixes = correction_examples(corrections.corrected_images(), config.upload_bucket)
    for example in fixes:
        key = example.image.removeprefix(f"s3://{config.upload_bucket}/")
        example.content_id = s3.head_object(Bucket=config.upload_bucket, Key=key)["ETag"].strip('"')
    split = split_examples(coco["train"], coco["val"], fixes, config.test_fraction, config.seed)
    _write_channel(s3, config, f"{root}/data/train", "labels.jsonl", split.train)
    _write_channel(s3, config, f"{root}/data/test", "test.jsonl", split.test)
    _stage_production_model(s3, config.artifact_bucket, f"{root}/production", registry)
    uri = f"s3://{config.artifact_bucket}/{root}"
    return {
        "run_id": run_id,
        "training_job_name": run_id,
        "processing_job_name": f"{run_id}-eval",
        "model_name": run_id,
        "endpoint_config_name": run_id,
        "train_s3_uri": f"{uri}/data/train/",
        "test_s3_uri": f"{uri}/data/test/",
        "production_s3_uri": f"{uri}/production/",
        "output_s3_uri": f"{uri}/output/",
        "checkpoint_s3_uri": f"{uri}/checkpoints/",
        "evaluation_s3_uri": f"{uri}/evaluation/",
        "serving_s3_uri": f"{uri}/serving/",
        "poll_seconds": config.poll_seconds,
        "counts": split.counts(),
    }


def _etags(s3: Any, bucket: str, prefix: str) -> dict[str, str]:
    etags: dict[str, str] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        etags.update({obj["Key"]: obj["ETag"].strip('"') for obj in page.get("Contents", [])})
    return etags


def _coco_part(s3: Any, bucket: str, part: str, etags: dict[str, str]) -> list[Example]:
    key = f"{DATASET_PREFIX}/annotations/instances_{part}.json"
    annotations = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    examples = coco_examples(annotations, f"s3://{bucket}/{DATASET_PREFIX}/{part}")
    for example in examples:
        example.content_id = etags.get(example.image.removeprefix(f"s3://{bucket}/"), "")
    return examples


def _write_channel(s3: Any, config: PrepareConfig, prefix: str, manifest_name: str, examples: list[Example]) -> None:
    """Copy each image under prefix/images/ and write the manifest with paths relative to it."""
    copies: list[tuple[str, str, str]] = []
    records = []
    for index, example in enumerate(examples):
        source_bucket, _, source_key = example.image.removeprefix("s3://").partition("/")
        relative = f"images/{index:06d}-{source_key.rsplit('/', 1)[-1]}"
        copies.append((source_bucket, source_key, f"{prefix}/{relative}"))
        records.append({**example.to_record(), "image": relative})

    def copy(job: tuple[str, str, str]) -> None:
        bucket, key, destination = job
        s3.copy_object(Bucket=config.artifact_bucket, Key=destination, CopySource={"Bucket": bucket, "Key": key})

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(copy, copies))
    body = "".join(json.dumps(record) + "\n" for record in records)
    s3.put_object(Bucket=config.artifact_bucket, Key=f"{prefix}/{manifest_name}", Body=body.encode())


def _stage_production_model(s3: Any, bucket: str, prefix: str, registry: ModelRegistry) -> None:
    serving = registry.serving()
    if serving is None or not serving.artifact.startswith("s3://"):
        # The Evaluate job finds no model.tar.gz and scores the candidate alone (the first promotion).
        s3.put_object(Bucket=bucket, Key=f"{prefix}/NONE", Body=b"no serving model is registered\n")
        return
    source_bucket, _, source_key = serving.artifact.removeprefix("s3://").partition("/")
    s3.copy_object(Bucket=bucket, Key=f"{prefix}/model.tar.gz", CopySource={"Bucket": source_bucket, "Key": source_key})
