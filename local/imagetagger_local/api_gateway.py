"""An API Gateway HTTP API emulator: template routes, JWT authorizer, CORS, Lambda proxy integration."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.wrappers import Request, Response

from imagetagger_local.apigw_events import HttpRequest, HttpResponse, build_event, json_response, response_from_result
from imagetagger_local.lambda_runtime import LocalFunction
from imagetagger_local.template import ApiCors, HttpRoute
from imagetagger_local.tokens import DEFAULT_TOKEN_LIFETIME_S, InvalidUserNameError, TokenRejectedError, TokenVerifier

logger = logging.getLogger(__name__)

# API Gateway HTTP APIs refuse payloads above 10 MB before invoking anything.
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024
# Local stand-in for Cognito's hosted sign-in: the web page (config.json's localTokenUrl) gets a token here.
LOCAL_SIGN_IN_PATH = "/local/token"


class ApiGatewayEmulator:
    def __init__(
        self,
        routes: list[HttpRoute],
        functions: dict[str, LocalFunction],
        verifier: TokenVerifier,
        allowed_origins: Iterable[str],
        issue_token: Callable[[str], str],
        cors: ApiCors | None = None,
    ) -> None:
        self._routes = routes
        self._issue_token = issue_token
        self._functions = functions
        self._verifier = verifier
        self._allowed_origins = set(allowed_origins)
        self._cors = cors or ApiCors()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        response = self.handle(request)
        wsgi_response = Response(response.body, status=response.status, headers=response.headers)
        for name, value in self._cors_headers(request.headers.get("Origin")):
            wsgi_response.headers[name] = value
        return wsgi_response(environ, start_response)

    def _cors_headers(self, origin: str | None) -> list[tuple[str, str]]:
        if origin is None or origin not in self._allowed_origins:
            return []
        return [("Access-Control-Allow-Origin", origin), ("Vary", "Origin")]

    def handle(self, request: Request) -> HttpResponse:
        if request.method == "OPTIONS" and request.headers.get("Access-Control-Request-Method"):
            # Preflight is answered by API Gateway itself, before routes and authorizers.
            return HttpResponse(
                204,
                [
                    ("Access-Control-Allow-Methods", ",".join(self._cors.allow_methods)),
                    ("Access-Control-Allow-Headers", ",".join(self._cors.allow_headers)),
                    ("Access-Control-Max-Age", str(self._cors.max_age_s)),
                ],
                b"",
            )
        if (request.content_length or 0) > MAX_PAYLOAD_BYTES:
            return json_response(413, "Request Entity Too Large")
        if request.path == LOCAL_SIGN_IN_PATH and request.method == "GET":
            return self._local_sign_in(request.args.get("user", ""))
        matched = self._match(request.method, request.path)
        if matched is None:
            return json_response(404, "Not Found")
        route, path_parameters = matched
        claims = None
        if route.authorized:
            try:
                claims = self._verifier.verify(request.headers.get("Authorization"))
            except TokenRejectedError as exc:
                logger.info("401 for %s %s: %s", request.method, request.path, exc)
                return json_response(401, "Unauthorized", [("www-authenticate", 'Bearer error="invalid_token"')])
        body = request.get_data(cache=False)
        if len(body) > MAX_PAYLOAD_BYTES:
            return json_response(413, "Request Entity Too Large")
        http_request = HttpRequest(
            method=request.method,
            path=request.path,
            query_string=request.query_string.decode("latin-1"),
            headers=list(request.headers.items()),
            body=body,
            source_ip=request.remote_addr or "127.0.0.1",
        )
        event = build_event(http_request, route.route_key, path_parameters, claims)
        try:
            return response_from_result(self._functions[route.function].invoke(event))
        except Exception:
            # A Lambda that raises becomes API Gateway's generic 500; the traceback stays in the local log.
            logger.exception("function %s failed on %s", route.function, route.route_key)
            return json_response(500, "Internal Server Error")

    def _local_sign_in(self, user: str) -> HttpResponse:
        try:
            token = self._issue_token(user)
        except InvalidUserNameError as exc:
            return json_response(400, str(exc))
        body = {"token": token, "token_type": "Bearer", "expires_in": DEFAULT_TOKEN_LIFETIME_S}  # nosec B105
        return HttpResponse(
            200, [("Content-Type", "application/json"), ("Cache-Control", "no-store")], json.dumps(body).encode()
        )

    def _match(self, method: str, path: str) -> tuple[HttpRoute, dict[str, str]] | None:
        for route in self._routes:
            path_parameters = route.match(method, path)
            if path_parameters is not None:
                return route, path_parameters
        return None
