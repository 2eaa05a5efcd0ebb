"""Read, search, delete and synchronous tagging routes of the HTTP API, plus /health and /openapi.json."""

import os

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from imagetagger.api import corrections, images, labels, meta, model_versions, similar, tagging
from imagetagger.api.app import build_resolver
from imagetagger.settings import parse_origins

logger = Logger()
tracer = Tracer()
metrics = Metrics()
app = build_resolver(
    images.router,
    tagging.router,
    meta.router,
    corrections.router,
    model_versions.router,
    similar.router,
    labels.router,
    allowed_origins=parse_origins(os.environ.get("ALLOWED_ORIGINS", "")),
)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
