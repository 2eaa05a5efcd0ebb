"""Opaque pagination tokens: DynamoDB's LastEvaluatedKey, encoded, and validated when it comes back.

A token is base64url(JSON). It is checked against the query it continues (same attribute names, each of its type and
shape, same user, same tag) so a malformed or foreign token is a 400, never a DynamoDB ValidationException (a 500)
or a peek into another user's partition.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

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


@dataclass(frozen=True)
class KeyPart:
    """What one attribute of a returned key must be: a string (equal to `equals`, or fully matching `pattern`) or a
    number in [`low`, `high`] that DynamoDB can store (38 significant digits, magnitude at least 1e-130)."""

    kind: Literal["S", "N"]
    equals: str | None = None
    pattern: str | None = None
    low: Decimal | None = None
    high: Decimal | None = None


def fixed(value: str) -> KeyPart:
    return KeyPart("S", equals=value)


def matching(pattern: str) -> KeyPart:
    return KeyPart("S", pattern=pattern)


def number_between(low: float, high: float) -> KeyPart:
    return KeyPart("N", low=Decimal(str(low)), high=Decimal(str(high)))


_MAX_DIGITS = 38  # DynamoDB's number precision
_MIN_EXPONENT = -130  # DynamoDB's smallest positive magnitude is 1e-130


def decode_token(token: str | None, *, expected: Mapping[str, KeyPart]) -> dict[str, Any] | None:
    """The ExclusiveStartKey for `token`, or None for no token; InvalidRequestError (400) unless the key has exactly
    the attributes of `expected`, each of the type and value it describes."""
    if not token:
        return None
    if len(token) > MAX_TOKEN_CHARS:
        raise InvalidRequestError("next_token is too long")
    try:
        document = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise InvalidRequestError("next_token is malformed") from exc
    if not isinstance(document, dict) or document.get("v") != _TOKEN_VERSION or not isinstance(document.get("k"), dict):
        raise InvalidRequestError("next_token is malformed")
    key: dict[str, Any] = document["k"]
    if set(key) != set(expected):
        raise InvalidRequestError("next_token does not belong to this query")
    return {name: _decode_value(value, expected[name]) for name, value in key.items()}


def _decode_value(value: Any, part: KeyPart) -> str | Decimal:
    if part.kind == "S":
        if not isinstance(value, str):
            raise InvalidRequestError("next_token is malformed")
        if (part.equals is not None and value != part.equals) or (
            part.pattern is not None and re.fullmatch(part.pattern, value) is None
        ):
            raise InvalidRequestError("next_token does not belong to this query")
        return value
    if not (isinstance(value, dict) and set(value) == {"n"} and isinstance(value["n"], str) and len(value["n"]) <= 64):
        raise InvalidRequestError("next_token is malformed")
    try:
        number = Decimal(value["n"])
    except InvalidOperation as exc:
        raise InvalidRequestError("next_token is malformed") from exc
    storable = number.is_finite() and (
        number.is_zero() or (len(number.as_tuple().digits) <= _MAX_DIGITS and number.adjusted() >= _MIN_EXPONENT)
    )
    in_range = storable and (part.low is None or number >= part.low) and (part.high is None or number <= part.high)
    if not in_range:
        raise InvalidRequestError("next_token is malformed")
    return number
