"""The caller's identity, as API Gateway's JWT authorizer passes it (the local API emulator passes the same)."""

from __future__ import annotations

from typing import Any

from imagetagger.errors import UnauthorizedError
from imagetagger.records import is_valid_user_id

# Bearer JWT, checked by the API Gateway authorizer before the function runs.
SECURITY: list[dict[str, list[str]]] = [{"bearerAuth": []}]


def user_id_from_event(raw_event: dict[str, Any]) -> str:
    """The JWT `sub` claim; UnauthorizedError when the request carries no authenticated user or a `sub` that cannot
    be a user id. The one place a token's subject becomes a user id: every route and key layout relies on it."""
    authorizer = (raw_event.get("requestContext") or {}).get("authorizer") or {}
    claims = (authorizer.get("jwt") or {}).get("claims") or {}
    sub = claims.get("sub")
    if sub is None or sub == "":
        raise UnauthorizedError("authentication required")
    # "." or ".." or a "/" would leave the user's S3 prefix, "#" the DynamoDB key layout ({user_id}#{tag}).
    if not is_valid_user_id(sub):
        raise UnauthorizedError(
            "the token's subject is not a valid user id (1-128 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit)"
        )
    return str(sub)
