"""The caller's identity, as API Gateway's JWT authorizer passes it (the local API emulator passes the same)."""

from __future__ import annotations

from typing import Any

from imagetagger.errors import UnauthorizedError

# Bearer JWT, checked by the API Gateway authorizer before the function runs.
SECURITY: list[dict[str, list[str]]] = [{"bearerAuth": []}]


def user_id_from_event(raw_event: dict[str, Any]) -> str:
    """The JWT `sub` claim; UnauthorizedError when the request carries no authenticated user."""
    authorizer = (raw_event.get("requestContext") or {}).get("authorizer") or {}
    claims = (authorizer.get("jwt") or {}).get("claims") or {}
    sub = claims.get("sub")
    # "/" would escape the S3 prefix and "#" the DynamoDB key layout ({user_id}#{tag}); real subs have neither.
    if not isinstance(sub, str) or not sub or "/" in sub or "#" in sub or len(sub) > 128:
        raise UnauthorizedError("authentication required")
    return sub
