"""GET /health (no auth) and GET /openapi.json."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler.router import Router

from imagetagger.api.auth import SECURITY, user_id_from_event
from imagetagger.api.schemas import Health, error_responses

router = Router()


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
    from imagetagger.api.app import openapi_document  # the document covers every router, built on first use

    user_id_from_event(router.current_event.raw_event)
    return openapi_document()
