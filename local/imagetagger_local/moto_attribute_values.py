"""Write DynamoDB item attributes into moto's responses directly instead of through its generic serialiser.

moto (5.2) serialises every response by walking the botocore output shape: for each AttributeValue it looks up all
ten members (S, N, B, SS, NS, BS, M, L, NULL, BOOL) on the value through a chain of alias providers, each lookup
building a context object and several alias objects. An image item (tags, their parents and boxes) holds about a
hundred AttributeValues, so every item in a Query, BatchGetItem or Scan answer cost about a millisecond of the local
stack's one interpreter: moto's serialiser was the largest single cost of a bulk import (docs/benchmark.md, "System
overhead"). moto's DynamoDB results already hold each attribute in wire form (`{"S": "..."}`, binary as bytes), so
an AttributeValue is written here as it is, with the conversions the generic path makes (strings and numbers as
text, binary as base64, M and L recursively). Anything else (a value that is not one single-member dict) goes the
generic way. The JSON sent is the same (tests/unit/test_moto_attribute_values.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_TEXT = frozenset({"S", "N"})
_TEXT_SETS = frozenset({"SS", "NS"})
_FLAGS = frozenset({"BOOL", "NULL"})

# moto's own BaseJSONSerializer._serialize_type_structure, kept by install() (the tests compare against it).
generic_serialize_structure: Callable[..., None] | None = None


class _NotWireForm(Exception):
    """The value is not a plain wire-form AttributeValue: moto's generic path serialises it."""


def wire_attribute_value(value: Any, base64: Callable[[Any], str]) -> dict[str, Any]:
    """The JSON form of one AttributeValue as moto's generic serialiser writes it, or _NotWireForm."""
    if not isinstance(value, dict) or len(value) != 1:
        raise _NotWireForm
    ((kind, content),) = value.items()
    if kind in _TEXT and isinstance(content, str):
        return value
    if kind == "B" and isinstance(content, bytes | str):
        return {kind: base64(content)}
    if kind in _TEXT_SETS and isinstance(content, list) and all(isinstance(member, str) for member in content):
        return value
    if kind == "BS" and isinstance(content, list) and all(isinstance(member, bytes | str) for member in content):
        return {kind: [base64(member) for member in content]}
    if kind == "M" and isinstance(content, dict):
        return {kind: {name: wire_attribute_value(member, base64) for name, member in content.items()}}
    if kind == "L" and isinstance(content, list):
        return {kind: [wire_attribute_value(member, base64) for member in content]}
    if kind in _FLAGS and isinstance(content, bool):
        return value
    raise _NotWireForm


def install() -> None:
    """Patch moto's JSON serialiser in this process (idempotent): DynamoDB AttributeValues take the direct path."""
    global generic_serialize_structure
    if generic_serialize_structure is not None:
        return
    from moto.core import serialize

    generic = serialize.BaseJSONSerializer._serialize_type_structure
    generic_serialize_structure = generic

    def _serialize_type_structure(self: Any, serialized: Any, value: Any, shape: Any, key: str) -> None:
        if key and shape.name == "AttributeValue" and self.service_model.service_name == "dynamodb":
            try:
                wire = wire_attribute_value(value, self._base64)
            except _NotWireForm:
                pass
            else:
                self._default_serialize(serialized, wire, shape, key)
                return
        generic(self, serialized, value, shape, key)

    serialize.BaseJSONSerializer._serialize_type_structure = _serialize_type_structure  # type: ignore[method-assign]
