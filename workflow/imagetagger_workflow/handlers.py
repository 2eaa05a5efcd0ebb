"""Lambda handlers of the state machines' own steps (template.yaml: CodeUri workflow/). Thin: the logic is in
aws_prepare (PrepareData), gate (Decide), the model registry (Record) and bulk (one Distributed Map item)."""

from __future__ import annotations

import functools
import json
import os
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from imagetagger import aws
from imagetagger.correction_store import CorrectionStore
from imagetagger.model_registry import ModelRegistry, ModelStatus, ModelVersion
from imagetagger.processing import ImageProcessor
from imagetagger.services import services
from imagetagger_workflow.aws_prepare import PrepareConfig, prepare_run
from imagetagger_workflow.bulk import retag_object
from imagetagger_workflow.gate import decide

logger = Logger()


@functools.cache
def _registry() -> ModelRegistry:
    return ModelRegistry.from_name(aws.dynamodb_resource(), services().settings.models_table)


@logger.inject_lambda_context
def prepare(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = services().settings
    config = PrepareConfig(
        artifact_bucket=os.environ["ARTIFACT_BUCKET"],
        upload_bucket=settings.upload_bucket,
        poll_seconds=int(os.environ.get("ENDPOINT_POLL_SECONDS", "60")),
        test_fraction=float(os.environ.get("TEST_FRACTION", "0.2")),
    )
    run = prepare_run(config, aws.s3_client(), CorrectionStore(services().repo.images), _registry())
    logger.info("run prepared", extra={"run_id": run["run_id"], "counts": run["counts"]})
    return run


@logger.inject_lambda_context
def decide_step(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    bucket, _, prefix = event["run"]["evaluation_s3_uri"].removeprefix("s3://").partition("/")
    body = aws.s3_client().get_object(Bucket=bucket, Key=f"{prefix.rstrip('/')}/comparison.json")["Body"].read()
    comparison = json.loads(body)
    decision = decide(
        comparison["candidate"], comparison["production"], min_gain=float(os.environ.get("MIN_GAIN", "0"))
    )
    logger.info("gate", extra={"promote": decision.promote, "reason": decision.reason})
    return {
        "promote": decision.promote,
        "reason": decision.reason,
        "candidate_version": comparison["candidate"]["model_version"],
        "metrics": {"candidate": comparison["candidate"], "production": comparison["production"]},
    }


@logger.inject_lambda_context
def record(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """The outcome in the model registry: PROMOTED -> serving, REFUSED -> with the reason, FAILED -> with the cause."""
    outcome = event["outcome"]
    state = event.get("input", event)  # FAILED passes the whole state; the others pass the parts
    decision = state.get("decision") or {}
    version = decision.get("candidate_version")
    run_id = (state.get("prepared") or {}).get("run", {}).get("run_id") or (state.get("run") or {}).get("run_id", "")
    if not version:
        logger.warning("run ended before a candidate existed", extra={"outcome": outcome, "error": state.get("error")})
        return {"recorded": False, "outcome": outcome}
    metrics = {"test": (decision.get("metrics") or {}).get("candidate", {})}
    run = (state.get("prepared") or {}).get("run") or state.get("run") or {}
    # The servable archive (model + code/) once Evaluate wrote it; the next run stages it as the production model.
    artifact = f"{run['serving_s3_uri']}model.tar.gz" if run.get("serving_s3_uri") else ""
    if outcome == "PROMOTED":
        _registry().promote(ModelVersion(version, ModelStatus.SERVING, metrics, artifact, decision["reason"], run_id))
    else:
        status = ModelStatus.REFUSED if outcome == "REFUSED" else ModelStatus.FAILED
        reason = (
            decision.get("reason", "") if outcome == "REFUSED" else str((state.get("error") or {}).get("Cause", ""))
        )
        _registry().record(ModelVersion(version, status, metrics, artifact, reason[:1000], run_id))
    return {"recorded": True, "outcome": outcome, "model_version": version}


def retag(event: dict[str, Any], context: LambdaContext) -> dict[str, str]:
    """One item of the bulk-tagging Distributed Map: {bucket, key, etag, size, serving_version, force}. Re-tagging
    bypasses the upload path's idempotency on purpose: the same object is meant to be tagged again."""
    built = services()
    serving = event.get("serving_version") or getattr(_registry().serving(), "model_version", None)
    processor = ImageProcessor(built.settings, built.s3, built.repo, built.endpoint)
    result = retag_object(processor, built.repo, event, serving, force=bool(event.get("force")))
    logger.info("bulk item", extra=result)
    return result
