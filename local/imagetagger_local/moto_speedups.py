"""Make moto's DynamoDB TransactWriteItems cost O(items written) instead of O(table size).

moto (5.x) backs up every table a transaction touches with `copy.deepcopy(table)` before applying it, so that it can
roll back. The processing function writes each image's tags in one transaction, so with a few thousand tag rows every
image cost seconds of CPU and the local stack slowed down quadratically under load (profiled with py-spy: 38 % of the
stack's CPU at 200 images). Here the backup covers only the items the transaction names, which is all a rollback
needs; the transaction logic itself (conditions, errors, cancellation reasons) stays moto's own.

Two more per-request costs found the same way (docs/benchmark.md, "System overhead"): moto's SQS checks each
received message's retention period through GetQueueAttributes, which counts every message of the queue three times
(quadratic in the queue's length under a bulk import: here it reads the one attribute it needs), and its server
lists moto's package directory on disk to route every request (cached here: the list never changes while it runs).
Its response serialiser walks every item attribute through generic shape lookups: DynamoDB items are written
directly instead (moto_attribute_values).

Local stack only: `install()` patches moto in this process (imagetagger_local.moto_server, the stack's moto process).
"""

from __future__ import annotations

import copy
import functools
import json
import threading
from typing import Any

from imagetagger_local import moto_attribute_values

_installed = False
_state = threading.local()  # set while this thread runs a patched transaction: moto's table backup is skipped


class _TableCopySkippingCopy:
    """Stands in for the `copy` module inside moto.dynamodb.models: a Table is not deep-copied during a patched
    transaction (the items it names are backed up instead); everything else is copied as before."""

    def __init__(self, table_type: type) -> None:
        self._table_type = table_type

    def deepcopy(self, value: Any, memo: Any = None) -> Any:
        if getattr(_state, "active", False) and isinstance(value, self._table_type):
            return value
        return copy.deepcopy(value, memo)

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)


def _named_keys(backend: Any, transact_items: list[dict[str, Any]]) -> dict[tuple[str, str], tuple[str, dict]]:
    """(table, key as text) -> (table, key) for every item the transaction names."""
    keys: dict[tuple[str, str], tuple[str, dict]] = {}
    for entry in transact_items:
        for op_type, op in entry.items():
            try:
                table_name = op["TableName"]
                if op_type == "Put":
                    table = backend.get_table(table_name)
                    attrs = [table.hash_key_attr] + ([table.range_key_attr] if table.range_key_attr else [])
                    key = {attr: op["Item"][attr] for attr in attrs}
                else:
                    key = op["Key"]
            except Exception:  # noqa: S112 - malformed: moto's own code raises the right error for it
                continue
            keys[(table_name, json.dumps(key, sort_keys=True))] = (table_name, key)
    return keys


def _backup(backend: Any, keys: dict[tuple[str, str], tuple[str, dict]]) -> list[tuple[str, dict, Any]]:
    saved = []
    for table_name, key in keys.values():
        try:
            item = backend.get_item(table_name, key)
        except Exception:  # noqa: S112 - unknown table or bad key: the transaction fails before writing anything
            continue
        saved.append((table_name, key, copy.deepcopy(item.to_json()["Attributes"]) if item is not None else None))
    return saved


def _restore(backend: Any, saved: list[tuple[str, dict, Any]]) -> None:
    for table_name, key, attributes in saved:
        if attributes is None:
            if backend.get_item(table_name, key) is not None:
                backend.delete_item(table_name, key)
        else:
            backend.put_item(table_name, attributes)


def install() -> None:
    """Patch moto's DynamoDB backend class in this process (idempotent)."""
    global _installed
    if _installed:
        return
    from moto.dynamodb import models
    from moto.dynamodb.models.table import Table

    original = models.DynamoDBBackend.transact_write_items
    models.copy = _TableCopySkippingCopy(Table)  # type: ignore[assignment]

    @functools.wraps(original)
    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        saved = _backup(self, _named_keys(self, transact_items))
        _state.active = True
        try:
            original(self, transact_items)
        except BaseException:
            _state.active = False
            _restore(self, saved)  # moto "restored" the same table objects: put the named items back ourselves
            raise
        finally:
            _state.active = False

    models.DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    _install_sqs_retention_check()
    _install_module_list_cache()
    moto_attribute_values.install()
    _installed = True


def _install_sqs_retention_check() -> None:
    from moto.sqs import models as sqs_models

    def is_message_valid_based_on_retention_period(self: Any, queue_name: str, message: Any) -> bool:
        retention_period = int(self.get_queue(queue_name).message_retention_period)
        return bool(retention_period + message.sent_timestamp / 1000 > sqs_models.unix_time())

    sqs_models.SQSBackend.is_message_valid_based_on_retention_period = (  # type: ignore[method-assign]
        is_message_valid_based_on_retention_period
    )


def _install_module_list_cache() -> None:
    from moto import backends

    original = backends.list_of_moto_modules
    backends.list_of_moto_modules = functools.cache(lambda: tuple(original()))  # type: ignore[assignment]
