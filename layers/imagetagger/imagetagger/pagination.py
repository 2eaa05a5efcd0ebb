"""Opaque pagination tokens: DynamoDB's LastEvaluatedKey, encoded, and validated when it comes back.

A token is base64url(JSON). It is checked against the query it continues (same attribute names, same user, same tag)
so a malformed or foreign token is a 400, never a DynamoDB ValidationException (a 500) or a peek into another
user's partition.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from imagetagger.errors import InvalidRequestError

MAX_TOKEN_CHARS = 2048
_TOKEN_VERSION = 1


def encode_token(last_evaluated_key: Mapping[str, Any] | None) -> str | None:
    if not last_evaluated_key:
        return None
    key = {
        name: {"n": str(value)} if isinstance(value, Decimal | int | float) else str(value)
        for name, value in last_evaluated_key.items()
    }
    raw = json.dumps({"v": _TOKEN_VERSION, "k": key}, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str | None, *, expected: Mapping[str, str | None]) -> dict[str, Any] | None:
    """The ExclusiveStartKey for `token`, or None for no token.

    `expected` maps every attribute the key must have to the value it must equal (None: any value of the right type).
    """
    if not token:
        return None
    if len(token) > MAX_TOKEN_CHARS:
        raise InvalidRequestError("next_token is too long")
    try:
        document = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise InvalidRequestError("next_token is malformed") from exc
    if not isinstance(document, dict) or document.get("v") != _TOKEN_VERSION or not isinstance(document.get("k"), dict):
        raise InvalidRequestError("next_token is malformed")
    key: dict[str, Any] = document["k"]
    if set(key) != set(expected):
        raise InvalidRequestError("next_token does not belong to this query")
    decoded: dict[str, Any] = {}
    for name, value in key.items():
        decoded[name] = _decode_value(value)
        if expected[name] is not None and decoded[name] != expected[name]:
            raise InvalidRequestError("next_token does not belong to this query")
    return decoded


def _decode_value(value: Any) -> str | Decimal:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and set(value) == {"n"} and isinstance(value["n"], str):
        try:
            number = Decimal(value["n"])
        except InvalidOperation as exc:
            raise InvalidRequestError("next_token is malformed") from exc
        if number.is_finite():
            return number
    raise InvalidRequestError("next_token is malformed")
