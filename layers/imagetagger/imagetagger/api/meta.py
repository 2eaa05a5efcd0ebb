"""GET /health (no auth) and GET /openapi.json."""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

from aws_lambda_powertools.event_handler.router import Router

from imagetagger.api.auth import SECURITY, user_id_from_event
from imagetagger.api.schemas import Health, error_responses

router = Router()
# Generated from every router by `python -m imagetagger.api.app` (tests/unit/test_openapi.py fails when it is stale);
# served from the package so this module needs none of the other routers.
OPENAPI_FILE = "openapi.json"


@functools.cache
def packaged_openapi() -> dict[str, Any]:
    return json.loads(resources.files(__package__).joinpath(OPENAPI_FILE).read_text())


@router.get("/health", summary="Liveness (no authentication)", tags=["meta"])
def health() -> Health:
    return Health(status="ok")


@router.get(
    "/openapi.json",
    summary="This API's OpenAPI document",
    tags=["meta"],
    security=SECURITY,
    responses={200: {"description": "OpenAPI 3.1 document"}, **error_responses()},
)
def openapi_json() -> dict[str, Any]:
    user_id_from_event(router.current_event.raw_event)
    return packaged_openapi()
