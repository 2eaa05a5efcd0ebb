"""S3's CORS evaluation for a bucket's CORSRules (https://docs.aws.amazon.com/AmazonS3/latest/userguide/cors.html).

The first rule whose origin, method and requested headers all match decides; no match means no CORS headers (and a
403 for a preflight), which is what a browser on a foreign origin should get.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from typing import Any


def _matches(pattern: str, value: str) -> bool:
    # S3 allows one '*' wildcard in origins and headers; comparison of headers is case-insensitive.
    return pattern == "*" or fnmatch.fnmatchcase(value, pattern)


def matching_rule(
    rules: Sequence[dict[str, Any]], origin: str, method: str, request_headers: Sequence[str] = ()
) -> dict[str, Any] | None:
    for rule in rules:
        if not any(_matches(allowed, origin) for allowed in rule.get("AllowedOrigins", [])):
            continue
        if method.upper() not in {m.upper() for m in rule.get("AllowedMethods", [])}:
            continue
        allowed_headers = [h.lower() for h in rule.get("AllowedHeaders", [])]
        if all(any(_matches(allowed, h.lower()) for allowed in allowed_headers) for h in request_headers):
            return rule
    return None


def cors_headers(
    rule: dict[str, Any], origin: str, request_headers: Sequence[str] = (), preflight: bool = False
) -> list[tuple[str, str]]:
    allow_origin = "*" if "*" in rule.get("AllowedOrigins", []) else origin
    headers = [("Access-Control-Allow-Origin", allow_origin), ("Vary", "Origin")]
    if rule.get("ExposeHeaders"):
        headers.append(("Access-Control-Expose-Headers", ", ".join(rule["ExposeHeaders"])))
    if preflight:
        headers.append(("Access-Control-Allow-Methods", ", ".join(rule.get("AllowedMethods", []))))
        if request_headers:
            headers.append(("Access-Control-Allow-Headers", ", ".join(request_headers)))
        if "MaxAgeSeconds" in rule:
            headers.append(("Access-Control-Max-Age", str(rule["MaxAgeSeconds"])))
    return headers
