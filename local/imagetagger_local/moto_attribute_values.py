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

Two more per-item walks before the serialiser, replaced the same way (a Query of 79 image items cost moto about 60 ms
of CPU, a sweep of the importer's: docs/benchmark.md, "System overhead"): `dynamo_to_dict`, which turns moto's item
objects into those wire-form dicts and tests every value for datetime, DynamoType, `to_json`, dict and list in turn
(importing DynamoType on each call), and `DynamoType.size`, which Query and Scan call for every item to stop at 1 MB
and which re-wraps every member of a map in a new DynamoType (every nested member of it, recursively) to measure it.
Both take a direct path for moto's own types and values and hand anything else to moto's code; the results are the
same (tested).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_TEXT = frozenset({"S", "N"})
_TEXT_SETS = frozenset({"SS", "NS"})
_FLAGS = frozenset({"BOOL", "NULL"})

# moto's own functions, kept by install() (the tests compare against them).
generic_serialize_structure: Callable[..., None] | None = None
generic_dynamo_to_dict: Callable[[Any], Any] | None = None
generic_size: Callable[[Any], int] | None = None
_PLAIN = (str, int, float, bool, type(None))


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
    """Patch moto's JSON serialiser, its item conversion and its item sizes in this process (idempotent): DynamoDB
    AttributeValues take the direct path."""
    global generic_serialize_structure
    if generic_serialize_structure is not None:
        return
    _install_item_walks()
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


def _install_item_walks() -> None:
    global generic_dynamo_to_dict, generic_size
    from moto.dynamodb import responses
    from moto.dynamodb.models import dynamo_type, utilities

    dynamo = dynamo_type.DynamoType
    limited_size_dict = dynamo_type.LimitedSizeDict  # an item's attributes: a dict with no to_json
    bytesize = utilities.bytesize
    generic_dynamo_to_dict = generic_to_dict = utilities.dynamo_to_dict
    generic_size = dynamo.size

    def dynamo_to_dict(obj: Any) -> Any:
        kind = type(obj)
        if kind is dynamo:
            if obj.type in ("B", "BS"):
                return generic_to_dict(obj)  # base64 text back to bytes, as moto does
            return {obj.type: dynamo_to_dict(obj.value)}
        if kind is dict or kind is limited_size_dict:
            return {name: dynamo_to_dict(value) for name, value in obj.items()}
        if kind is list:
            return [dynamo_to_dict(member) for member in obj]
        if kind in _PLAIN:
            return obj
        return generic_to_dict(obj)  # datetimes, objects with to_json, subclasses

    def size(self: Any) -> int:
        kind, value = self.type, self.value
        if kind == "N":
            return len(str(value))
        if kind in ("SS", "NS", "BS"):
            return sum(len(str(member)) if kind == "NS" else _scalar_size(member, bytesize) for member in value)
        if kind == "L":
            return sum(member.size() for member in value)
        if kind == "M":
            return sum(
                bytesize(name) + (member if type(member) is dynamo else dynamo(member)).size()
                for name, member in value.items()
            )
        return _scalar_size(value, bytesize)

    utilities.dynamo_to_dict = dynamo_to_dict  # the recursion inside moto's own function comes here too
    responses.dynamo_to_dict = dynamo_to_dict  # type: ignore[attr-defined]  # imported there by name
    dynamo.size = size  # type: ignore[method-assign]


def _scalar_size(value: Any, bytesize: Callable[[Any], int]) -> int:
    return 1 if isinstance(value, bool) else bytesize(value)
