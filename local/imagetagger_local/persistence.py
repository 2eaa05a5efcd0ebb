"""Keep local data across restarts: moto holds everything in memory, so DynamoDB items and S3 objects are written
under .local/state periodically and on shutdown, and put back after the resources are created at start.

Files are keyed by the template's logical ids, written to a temporary name and renamed, so a crash mid-snapshot
leaves the previous snapshot intact. What is lost on a crash: changes since the last snapshot, and SQS messages
(queues are not persisted) — which is why `reconcile` re-queues every PENDING image whose upload exists.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from imagetagger.records import upload_key
from imagetagger_local.s3_events import object_created_event

logger = logging.getLogger(__name__)
DYNAMODB_BATCH = 25
# A snapshot scans every table through moto, whose response serialiser costs about 1 ms per item: with a few thousand
# images one snapshot takes seconds of CPU, and a fixed short interval would starve the stack it protects.
SNAPSHOT_MAX_SHARE = 0.1


def next_snapshot_wait(interval_s: float, last_snapshot_s: float) -> float:
    """Seconds until the next periodic snapshot: the interval, stretched so snapshots use at most SNAPSHOT_MAX_SHARE
    of the time. The final snapshot on stop is always taken, so a clean stop or restart loses nothing either way."""
    return max(interval_s, last_snapshot_s * (1 - SNAPSHOT_MAX_SHARE) / SNAPSHOT_MAX_SHARE)


# Powertools' idempotency records only recognise a repeated delivery of an SQS message, and queues are not persisted:
# after a restart the only deliveries are `reconcile`'s re-queued PENDING images. A restored COMPLETED record from a
# snapshot taken while that image was being tagged (image scanned PENDING, record scanned COMPLETED a moment later)
# would make the re-queued event a no-op and leave the image PENDING for ever, so these records are never kept.
TRANSIENT_TABLES = frozenset({"IdempotencyTable"})


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


# DynamoDB's binary types: the client reads and writes them as bytes, which JSON cannot hold, so a snapshot keeps
# them as base64 text (as DynamoDB's own JSON does) and a restore turns them back into bytes.
def _typed_value(value: dict[str, Any], blob: Any) -> dict[str, Any]:
    ((kind, content),) = value.items()
    if kind == "B":
        return {kind: blob(content)}
    if kind == "BS":
        return {kind: [blob(member) for member in content]}
    if kind == "M":
        return {kind: {name: _typed_value(member, blob) for name, member in content.items()}}
    if kind == "L":
        return {kind: [_typed_value(member, blob) for member in content]}
    return value


def _item_to_json(item: dict[str, Any]) -> dict[str, Any]:
    return {name: _typed_value(value, lambda b: base64.b64encode(b).decode("ascii")) for name, value in item.items()}


def _item_from_json(item: dict[str, Any]) -> dict[str, Any]:
    return {name: _typed_value(value, base64.b64decode) for name, value in item.items()}


def _object_file(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class StateStore:
    def __init__(
        self, state_dir: Path, s3: Any, dynamodb: Any, tables: dict[str, str], buckets: dict[str, str]
    ) -> None:
        """`tables` and `buckets` map template logical ids to physical names; `s3` talks to moto directly."""
        self._dir = state_dir
        self._s3 = s3
        self._dynamodb = dynamodb
        self._tables = tables
        self._buckets = buckets
        self._lock = threading.Lock()

    @classmethod
    def for_stack(
        cls, state_dir: Path, s3: Any, dynamodb: Any, template: dict[str, Any], physical_ids: dict[str, str]
    ) -> StateStore:
        """The store for a stack made from `template`: every bucket and every table but the transient ones."""
        types = {logical_id: resource["Type"] for logical_id, resource in template["Resources"].items()}

        def of_type(resource_type: str) -> dict[str, str]:
            return {lid: name for lid, name in physical_ids.items() if types.get(lid) == resource_type}

        tables = {lid: name for lid, name in of_type("AWS::DynamoDB::Table").items() if lid not in TRANSIENT_TABLES}
        return cls(state_dir, s3, dynamodb, tables=tables, buckets=of_type("AWS::S3::Bucket"))

    # ------------------------------------------------------------------------------------------- snapshot
    def snapshot(self) -> None:
        with self._lock:
            for logical_id, table in self._tables.items():
                items = [_item_to_json(item) for item in self._scan(table)]
                _write_atomically(self._dir / "dynamodb" / f"{logical_id}.json", json.dumps(items).encode())
            for logical_id, bucket in self._buckets.items():
                self._snapshot_bucket(logical_id, bucket)

    def _scan(self, table: str) -> Iterator[dict[str, Any]]:
        for page in self._dynamodb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
            yield from page["Items"]

    def _snapshot_bucket(self, logical_id: str, bucket: str) -> None:
        bucket_dir = self._dir / "s3" / logical_id
        index_path = bucket_dir / "index.json"
        previous = json.loads(index_path.read_text()) if index_path.exists() else {}
        index = {}
        for page in self._s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for summary in page.get("Contents", []):
                key, etag = summary["Key"], summary["ETag"]
                if previous.get(key, {}).get("etag") == etag:
                    index[key] = previous[key]  # unchanged since the last snapshot: keep its file
                    continue
                obj = self._s3.get_object(Bucket=bucket, Key=key)
                _write_atomically(bucket_dir / "objects" / _object_file(key), obj["Body"].read())
                index[key] = {"etag": etag, "content_type": obj.get("ContentType"), "metadata": obj.get("Metadata", {})}
        _write_atomically(index_path, json.dumps(index).encode())
        for key in previous.keys() - index.keys():
            (bucket_dir / "objects" / _object_file(key)).unlink(missing_ok=True)

    # ------------------------------------------------------------------------------------------- restore
    def restore(self) -> dict[str, int]:
        """Put the last snapshot back; return counts of restored items and objects."""
        counts = {"items": 0, "objects": 0}
        with self._lock:
            for logical_id, table in self._tables.items():
                path = self._dir / "dynamodb" / f"{logical_id}.json"
                if path.exists():
                    items = [_item_from_json(item) for item in json.loads(path.read_text())]
                    counts["items"] += self._restore_table(table, items)
            for logical_id, bucket in self._buckets.items():
                counts["objects"] += self._restore_bucket(logical_id, bucket)
        return counts

    def _restore_table(self, table: str, items: list[dict[str, Any]]) -> int:
        for start in range(0, len(items), DYNAMODB_BATCH):
            requests = [{"PutRequest": {"Item": item}} for item in items[start : start + DYNAMODB_BATCH]]
            pending: dict[str, Any] = {table: requests}
            while pending:
                pending = self._dynamodb.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
        return len(items)

    def _restore_bucket(self, logical_id: str, bucket: str) -> int:
        bucket_dir = self._dir / "s3" / logical_id
        index_path = bucket_dir / "index.json"
        if not index_path.exists():
            return 0
        # Restored objects are not new uploads: switch notifications off while writing them back.
        notifications = self._s3.get_bucket_notification_configuration(Bucket=bucket)
        notifications.pop("ResponseMetadata", None)
        self._s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={})
        try:
            restored = 0
            for key, entry in json.loads(index_path.read_text()).items():
                path = bucket_dir / "objects" / _object_file(key)
                if not path.exists():
                    continue
                extra = {"ContentType": entry["content_type"]} if entry.get("content_type") else {}
                self._s3.put_object(Bucket=bucket, Key=key, Body=path.read_bytes(), Metadata=entry["metadata"], **extra)
                restored += 1
            return restored
        finally:
            self._s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=notifications)

    # ------------------------------------------------------------------------------------------- reconcile
    def reconcile(self, images_table: str, bucket: str, sqs: Any, queue_url: str) -> int:
        """Re-queue PENDING images whose upload exists: their event may have been lost with the in-memory queue."""
        requeued = 0
        for item in self._scan(images_table):
            if item.get("status", {}).get("S") != "PENDING":
                continue
            key = upload_key(item["user_id"]["S"], item["image_id"]["S"])
            try:
                head = self._s3.head_object(Bucket=bucket, Key=key)
            except self._s3.exceptions.ClientError:
                continue  # the upload form was never used; the record expires by its TTL
            event = object_created_event(bucket, key, head["ContentLength"], head["ETag"])
            sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(event))
            requeued += 1
        return requeued


class PeriodicSnapshots:
    def __init__(self, store: StateStore, interval_s: float) -> None:
        self._store = store
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="snapshots", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        wait = self._interval_s
        while not self._stop.wait(wait):
            started = time.monotonic()
            try:
                self._store.snapshot()
            except Exception:
                logger.exception("periodic snapshot failed; the previous one is kept")
            wait = next_snapshot_wait(self._interval_s, time.monotonic() - started)

    def stop(self) -> None:
        """Stop the timer and take the final snapshot."""
        self._stop.set()
        self._thread.join(timeout=30)
        self._store.snapshot()
