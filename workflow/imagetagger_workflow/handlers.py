"""Lambda handlers of the state machines' own steps (template.yaml: CodeUri workflow/). Thin: settings and clients
here, the logic in steps (PrepareData, Decide, Record), aws_prepare and bulk (one Distributed Map item)."""

from __future__ import annotations

import functools
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from imagetagger import aws
from imagetagger.correction_store import CorrectionStore
from imagetagger.model_registry import ModelRegistry
from imagetagger.processing import ImageProcessor
from imagetagger.services import services
from imagetagger_workflow import steps
from imagetagger_workflow.aws_prepare import prepare_run
from imagetagger_workflow.bulk import retag_object
from imagetagger_workflow.steps import StepSettings

logger = Logger()


@functools.cache
def _registry() -> ModelRegistry:
    return ModelRegistry.from_name(aws.dynamodb_resource(), services().settings.models_table)


@logger.inject_lambda_context
def prepare(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    built = services()
    config = StepSettings.from_env().prepare_config(built.settings.upload_bucket)
    run = prepare_run(config, aws.s3_client(), CorrectionStore(built.repo.images), _registry())
    logger.info("run prepared", extra={"run_id": run["run_id"], "counts": run["counts"]})
    return run


@logger.inject_lambda_context
def decide_step(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    comparison = steps.read_comparison(aws.s3_client(), event["run"]["evaluation_s3_uri"])
    decision = steps.gate(comparison, min_gain=StepSettings.from_env().min_gain)
    logger.info("gate", extra={"promote": decision["promote"], "reason": decision["reason"]})
    return decision


@logger.inject_lambda_context
def record(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = steps.record_outcome(event, _registry())
    if not result["recorded"]:
        error = event.get("input", event).get("error")
        logger.warning("run ended before a candidate existed", extra={"outcome": result["outcome"], "error": error})
    return result


def retag(event: dict[str, Any], context: LambdaContext) -> dict[str, str]:
    """One item of the bulk-tagging Distributed Map: {bucket, key, etag, size, serving_version, force}. Re-tagging
    bypasses the upload path's idempotency on purpose: the same object is meant to be tagged again."""
    built = services()
    serving = event.get("serving_version") or getattr(_registry().serving(), "model_version", None)
    processor = ImageProcessor(built.settings, built.s3, built.repo, built.endpoint)
    result = retag_object(processor, built.repo, event, serving, force=bool(event.get("force")))
    logger.info("bulk item", extra=result)
    return result
