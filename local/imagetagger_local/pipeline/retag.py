"""`imagetagger pipeline retag`: the Distributed Map's item logic over the local stack's images."""

from __future__ import annotations

from typing import Any

from imagetagger.model_client import EndpointClient
from imagetagger.processing import ImageProcessor
from imagetagger.records import upload_key
from imagetagger.scans import tagged_by_another_model
from imagetagger.settings import Settings
from imagetagger.storage import ImageRepository
from imagetagger_local.pipeline.target import LocalTarget
from imagetagger_workflow.bulk import retag_object


def retag_stale_images(target: LocalTarget, user_id: str | None = None) -> dict[str, Any]:
    """Re-tag every TAGGED or FAILED image whose model version is not the endpoint's; returns counts by outcome."""
    import boto3

    settings = Settings.from_env(target.environment)
    repo = ImageRepository(images=target.images, tags=target.table(settings.tags_table))
    runtime = boto3.client(
        "sagemaker-runtime",
        endpoint_url=target.endpoint_url,
        region_name=target.region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - the local stack's fixed credentials
    )
    processor = ImageProcessor(settings, target.client("s3"), repo, EndpointClient(settings.endpoint_name, runtime))
    serving = target.serving_version()
    summary: dict[str, Any] = {"serving_version": serving, "retagged": 0, "skipped": 0, "failed": 0}
    for owner, image_id in tagged_by_another_model(target.images, serving, user_id):
        obj = {"bucket": target.bucket, "key": upload_key(owner, image_id), "etag": "", "size": 0}
        result = retag_object(processor, repo, obj, serving)
        outcome = {"TAGGED": "retagged", "SKIPPED": "skipped"}.get(result["status"], "failed")
        summary[outcome] += 1
    return summary
