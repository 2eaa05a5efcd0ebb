"""Building the Powertools resolvers, the one domain-error -> HTTP mapping, which function serves which routers, and
the OpenAPI document (shipped as package data, api/openapi.json, which GET /openapi.json serves as it is)."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, CORSConfig, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer
from aws_lambda_powertools.event_handler.router import Router

from imagetagger import __version__
from imagetagger.api import corrections, images, labels, meta, model_versions, similar, tagging, uploads
from imagetagger.api.validation import RequestValidation, parse_json_body
from imagetagger.errors import ImageTaggerError

logger = Logger(child=True)

API_TITLE = "imagetagger"
OPENAPI_PATH = Path(__file__).resolve().with_name(meta.OPENAPI_FILE)
# The routers each HTTP function serves (template.yaml routes their paths to it): the one list of them.
PRESIGN_ROUTERS: tuple[Router, ...] = (uploads.router,)
API_ROUTERS: tuple[Router, ...] = (
    images.router,
    tagging.router,
    meta.router,
    corrections.router,
    model_versions.router,
    similar.router,
    labels.router,
)
ALL_ROUTERS: tuple[Router, ...] = PRESIGN_ROUTERS + API_ROUTERS


def build_resolver(*routers: Router, allowed_origins: tuple[str, ...] = ()) -> APIGatewayHttpResolver:
    """A resolver serving `routers`, validating requests and responses, with CORS for `allowed_origins`."""
    cors = None
    if allowed_origins:
        cors = CORSConfig(
            allow_origin=allowed_origins[0],
            extra_origins=list(allowed_origins[1:]),
            allow_headers=["Authorization", "Content-Type"],
            max_age=600,
        )
    resolver = APIGatewayHttpResolver(cors=cors, enable_validation=True, json_body_deserializer=parse_json_body)
    resolver._request_validation_middleware = RequestValidation()  # malformed multipart: 422, not 500
    for router in routers:
        resolver.include_router(router)

    @resolver.exception_handler(ImageTaggerError)
    def domain_error(exc: ImageTaggerError) -> Response:
        # The one place where domain errors become HTTP: status from the class, message from the exception.
        logger.info("request refused", extra={"status": exc.status_code, "error": type(exc).__name__})
        return Response(
            status_code=exc.status_code,
            content_type=content_types.APPLICATION_JSON,
            body=json.dumps({"message": str(exc)}),
        )

    @resolver.exception_handler(RequestValidationError)
    def invalid_request(exc: RequestValidationError) -> Response:
        # Powertools' 422 body, plus the `message` every other error carries, so clients show one field.
        detail = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")} for e in exc.errors()
        ]
        message = "; ".join(f"{'.'.join(str(part) for part in d['loc'])}: {d['msg']}" for d in detail)
        return Response(
            status_code=422,
            content_type=content_types.APPLICATION_JSON,
            body=json.dumps({"message": message or "invalid request", "detail": detail}),
        )

    return resolver


@functools.cache
def openapi_document() -> dict[str, Any]:
    """The OpenAPI document of every route (both functions), as committed in api/openapi.json."""
    resolver = build_resolver(*ALL_ROUTERS)
    schema = resolver.get_openapi_json_schema(
        title=API_TITLE,
        version=__version__,
        description="Automated image tagging. Every route but /health needs `Authorization: Bearer <JWT>`.",
        security_schemes={"bearerAuth": HTTPBearer(bearerFormat="JWT")},
    )
    return json.loads(schema)


def render_openapi() -> str:
    return json.dumps(openapi_document(), indent=2, sort_keys=True) + "\n"


def write_openapi(path: Path = OPENAPI_PATH) -> Path:
    path.write_text(render_openapi())
    return path


def openapi_is_current(path: Path = OPENAPI_PATH) -> bool:
    return path.exists() and path.read_text() == render_openapi()


if __name__ == "__main__":  # python -m imagetagger.api.app [--check]
    import sys

    if "--check" in sys.argv[1:]:
        current = openapi_is_current()
        print(f"{OPENAPI_PATH}: {'up to date' if current else 'STALE - run python -m imagetagger.api.app'}")
        sys.exit(0 if current else 1)
    print(f"wrote {write_openapi()}")
