"""Request validation that never turns a malformed body into a 500.

Powertools 3.37's request validation raises a bare ValueError for `multipart/form-data` without a boundary (found by
schemathesis against the local API), which the resolver answers with a 500. No route takes multipart bodies, so such
a request is a client error: it becomes the same 422 as any other body that does not validate.

JSON bodies are parsed here too (the resolver's json_body_deserializer, the one parser of request bodies): JSON
nested deeper than the parser's recursion limit (`'[' * 100000`) raised RecursionError, a 500; it is the same 422.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler.middlewares.openapi_validation import OpenAPIRequestValidationMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError


class RequestValidation(OpenAPIRequestValidationMiddleware):
    def _parse_multipart_data(self, app: Any, content_type: str) -> dict[str, Any]:
        try:
            return super()._parse_multipart_data(app, content_type)
        except ValueError as exc:
            error = {"type": "multipart_invalid", "loc": ("body",), "msg": str(exc), "input": {}}
            raise RequestValidationError([error]) from exc


def parse_json_body(body: str) -> Any:
    """json.loads for request bodies: nesting beyond the recursion limit is a validation error, not a crash."""
    try:
        return json.loads(body)
    except RecursionError as exc:
        error = {"type": "json_invalid", "loc": ("body",), "msg": "JSON nested too deeply", "input": {}}
        raise RequestValidationError([error]) from exc
