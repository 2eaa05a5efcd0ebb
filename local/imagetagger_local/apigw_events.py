"""Translate HTTP requests to API Gateway HTTP API (payload format 2.0) events and Lambda results back.

Follows https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
so handlers see locally exactly the shapes they see in AWS.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from imagetagger_local.lambda_runtime import ACCOUNT_ID

LOCAL_API_ID = "local"
_TEXT_TYPES = (
    "text/",
    "application/json",
    "application/xml",
    "application/javascript",
    "application/x-www-form-urlencoded",
)


@dataclass(frozen=True)
class HttpRequest:
    method: str
    path: str
    query_string: str
    headers: list[tuple[str, str]]
    body: bytes
    source_ip: str


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def _is_text(content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type.startswith(_TEXT_TYPES) or media_type.endswith("+json") or media_type.endswith("+xml")


def _join_values(pairs: Iterable[tuple[str, str]], lower_names: bool) -> dict[str, str]:
    """API Gateway joins repeated headers and query parameters with commas."""
    joined: dict[str, str] = {}
    for name, value in pairs:
        key = name.lower() if lower_names else name
        joined[key] = f"{joined[key]},{value}" if key in joined else value
    return joined


def _claim_as_string(value: Any) -> str:
    # The JWT authorizer passes every claim as a string; arrays look like "[a b]".
    if isinstance(value, list):
        return "[" + " ".join(str(item) for item in value) + "]"
    return str(value)


def build_event(
    request: HttpRequest, route_key: str, path_parameters: dict[str, str], claims: dict[str, Any] | None
) -> dict[str, Any]:
    now = datetime.now(UTC)
    headers = _join_values(((n, v) for n, v in request.headers if n.lower() != "cookie"), lower_names=True)
    cookies = [c.strip() for n, v in request.headers if n.lower() == "cookie" for c in v.split(";") if c.strip()]
    query = _join_values(parse_qsl(request.query_string, keep_blank_values=True), lower_names=False)
    request_context: dict[str, Any] = {
        "accountId": ACCOUNT_ID,
        "apiId": LOCAL_API_ID,
        "domainName": headers.get("host", "127.0.0.1"),
        "domainPrefix": headers.get("host", "127.0.0.1").split(".")[0],
        "http": {
            "method": request.method,
            "path": request.path,
            "protocol": "HTTP/1.1",
            "sourceIp": request.source_ip,
            "userAgent": headers.get("user-agent", ""),
        },
        "requestId": uuid.uuid4().hex,
        "routeKey": route_key,
        "stage": "$default",
        "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "timeEpoch": int(time.time() * 1000),
    }
    if claims is not None:
        request_context["authorizer"] = {
            "jwt": {"claims": {k: _claim_as_string(v) for k, v in claims.items()}, "scopes": None}
        }
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": request.path,
        "rawQueryString": request.query_string,
        "headers": headers,
        "requestContext": request_context,
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = query
    if path_parameters:
        event["pathParameters"] = path_parameters
    if request.body:
        if _is_text(headers.get("content-type", "")):
            event["body"] = request.body.decode("utf-8", errors="replace")
        else:
            event["body"] = base64.b64encode(request.body).decode("ascii")
            event["isBase64Encoded"] = True
    return event


def response_from_result(result: Any) -> HttpResponse:
    """A dict with statusCode is a full response; anything else is a 200 JSON body (payload format 2.0 rules)."""
    if not (isinstance(result, dict) and "statusCode" in result):
        return HttpResponse(200, [("Content-Type", "application/json")], json.dumps(result).encode())
    headers = [(name, str(value)) for name, value in (result.get("headers") or {}).items()]
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers.extend((name, str(value)) for value in values)
    headers.extend(("Set-Cookie", cookie) for cookie in result.get("cookies") or [])
    body = result.get("body") or ""
    raw = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode("utf-8")
    return HttpResponse(int(result["statusCode"]), headers, raw)


def json_response(status: int, message: str, extra_headers: list[tuple[str, str]] | None = None) -> HttpResponse:
    """The gateway's own answers (401, 404, 413, 500) have API Gateway's {"message": ...} body."""
    headers = [("Content-Type", "application/json"), *(extra_headers or [])]
    return HttpResponse(status, headers, json.dumps({"message": message}).encode())
