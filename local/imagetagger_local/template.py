"""What the local stack serves from template.yaml: functions and their handlers, HTTP routes, SQS event sources.

The local stack takes routes, handlers and event sources from the template itself, so a route added there is served
locally without a second hand-written copy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from imagetagger_local.cfn import load_template

__all__ = [
    "FunctionSpec",
    "HttpRoute",
    "QueueSource",
    "function_specs",
    "http_routes",
    "load_template",
    "queue_sources",
]


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    code_dir: Path
    handler: str  # "module.function", e.g. "app.lambda_handler"
    timeout_s: int
    memory_mb: int


@dataclass(frozen=True)
class HttpRoute:
    method: str  # upper case, or "ANY"
    path: str  # API Gateway syntax: /images/{image_id}, /files/{proxy+}
    function: str  # logical id
    authorized: bool

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"

    def match(self, method: str, path: str) -> dict[str, str] | None:
        """Path parameters when this route serves `method path`, else None."""
        if self.method not in ("ANY", method.upper()):
            return None
        found = _path_regex(self.path).fullmatch(path)
        return None if found is None else found.groupdict()


@dataclass(frozen=True)
class QueueSource:
    function: str
    queue_logical_id: str
    batch_size: int
    partial_batch_failures: bool
    batching_window_s: float = 0.0
    max_concurrency: int = 1000  # Lambda's default account limit; ScalingConfig.MaximumConcurrency bounds it


def _path_regex(route_path: str) -> re.Pattern[str]:
    pattern = ""
    for part in re.split(r"(\{[^}]+\})", route_path):
        if part.startswith("{") and part.endswith("+}"):
            pattern += f"(?P<{part[1:-2]}>.+)"
        elif part.startswith("{"):
            pattern += f"(?P<{part[1:-1]}>[^/]+)"
        else:
            pattern += re.escape(part)
    return re.compile(pattern)


def _functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource
        for logical_id, resource in template.get("Resources", {}).items()
        if resource.get("Type") == "AWS::Serverless::Function"
    }


def function_specs(template: dict[str, Any], root: Path) -> dict[str, FunctionSpec]:
    defaults = template.get("Globals", {}).get("Function", {})
    specs = {}
    for logical_id, resource in _functions(template).items():
        props = {**defaults, **resource.get("Properties", {})}
        specs[logical_id] = FunctionSpec(
            logical_id=logical_id,
            code_dir=(root / str(props["CodeUri"])).resolve(),
            handler=str(props.get("Handler", "app.lambda_handler")),
            timeout_s=int(props.get("Timeout", 3)),
            memory_mb=int(props.get("MemorySize", 128)),
        )
    return specs


def _default_authorizer_enabled(template: dict[str, Any]) -> bool:
    for resource in template.get("Resources", {}).values():
        if resource.get("Type") == "AWS::Serverless::HttpApi":
            return bool(resource.get("Properties", {}).get("Auth", {}).get("DefaultAuthorizer"))
    return False


def http_routes(template: dict[str, Any]) -> list[HttpRoute]:
    """HttpApi events of every function; a route is authorized unless it says `Authorizer: NONE`."""
    default_auth = _default_authorizer_enabled(template)
    routes = []
    for logical_id, resource in _functions(template).items():
        for event in resource.get("Properties", {}).get("Events", {}).values():
            if event.get("Type") != "HttpApi":
                continue
            props = event.get("Properties", {})
            authorizer = props.get("Auth", {}).get("Authorizer")
            authorized = default_auth if authorizer is None else authorizer != "NONE"
            method = str(props.get("Method", "ANY")).upper()
            routes.append(
                HttpRoute(
                    method.replace("X-AMAZON-APIGATEWAY-ANY-METHOD", "ANY"), props["Path"], logical_id, authorized
                )
            )
    # API Gateway prefers the most specific route: literal segments before parameters, greedy paths last.
    return sorted(routes, key=lambda r: (r.path.count("+}"), r.path.count("{"), -len(r.path), r.method == "ANY"))


@dataclass(frozen=True)
class ApiCors:
    """The HttpApi's CorsConfiguration, except origins: those are the AllowedOrigins parameter the stack passes."""

    allow_headers: tuple[str, ...] = ("authorization", "content-type")
    allow_methods: tuple[str, ...] = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
    max_age_s: int = 600


def http_api_cors(template: dict[str, Any]) -> ApiCors:
    for resource in template.get("Resources", {}).values():
        if resource.get("Type") == "AWS::Serverless::HttpApi":
            cors = resource.get("Properties", {}).get("CorsConfiguration") or {}
            defaults = ApiCors()
            return ApiCors(
                allow_headers=tuple(str(h).lower() for h in cors.get("AllowHeaders", defaults.allow_headers)),
                allow_methods=tuple(str(m).upper() for m in cors.get("AllowMethods", defaults.allow_methods)),
                max_age_s=int(cors.get("MaxAge", defaults.max_age_s)),
            )
    return ApiCors()


def queue_sources(template: dict[str, Any]) -> list[QueueSource]:
    sources = []
    for logical_id, resource in _functions(template).items():
        for event in resource.get("Properties", {}).get("Events", {}).values():
            if event.get("Type") != "SQS":
                continue
            props = event.get("Properties", {})
            queue = props["Queue"]
            queue_id = queue["Fn::GetAtt"][0] if isinstance(queue, dict) and "Fn::GetAtt" in queue else str(queue)
            sources.append(
                QueueSource(
                    function=logical_id,
                    queue_logical_id=queue_id,
                    batch_size=int(props.get("BatchSize", 10)),
                    partial_batch_failures="ReportBatchItemFailures" in props.get("FunctionResponseTypes", []),
                    batching_window_s=float(props.get("MaximumBatchingWindowInSeconds", 0)),
                    max_concurrency=int(props.get("ScalingConfig", {}).get("MaximumConcurrency", 1000)),
                )
            )
    return sources
