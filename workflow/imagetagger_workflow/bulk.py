"""Bulk (re-)tagging of objects that are already in the bucket: one item of the Distributed Map, or of the local job.

An item is an S3 object under uploads/{user_id}/{image_id}. It is re-run through the same ImageProcessor as a fresh
upload (read, decode, endpoint, store) unless its record already carries the serving model version. Objects without a
record are skipped, never deleted: a bulk job must not remove anything the event pipeline would have kept.
"""

from __future__ import annotations

from typing import Any

from imagetagger.errors import NotFoundError
from imagetagger.processing import ImageProcessor
from imagetagger.records import ImageStatus, parse_upload_key
from imagetagger.storage import ImageRepository


def retag_object(
    processor: ImageProcessor,
    repo: ImageRepository,
    item: dict[str, Any],
    serving_version: str | None,
    force: bool = False,
) -> dict[str, str]:
    """`item`: {bucket, key, etag, size}. Returns {key, status, reason}; status TAGGED, FAILED or SKIPPED."""
    key = str(item["key"])
    parsed = parse_upload_key(key)
    if parsed is None:
        return {"key": key, "status": "SKIPPED", "reason": "not under uploads/{user}/{image}"}
    user_id, image_id = parsed
    try:
        record = repo.get(user_id, image_id)
    except NotFoundError:
        return {"key": key, "status": "SKIPPED", "reason": "no image record"}
    if record.status == ImageStatus.PENDING:
        return {"key": key, "status": "SKIPPED", "reason": "still being tagged by the upload pipeline"}
    if not force and serving_version and record.model_version == serving_version:
        return {"key": key, "status": "SKIPPED", "reason": f"already tagged by {serving_version}"}
    upload = {
        "bucket": str(item["bucket"]),
        "key": key,
        "etag": str(item.get("etag", "")).strip('"'),
        "size": int(item.get("size", 0)),
    }
    # The last allowed receive: an unreachable endpoint marks nothing FAILED here, it fails the item (Map retries it).
    result = processor.process(upload, receive_count=1)
    return {"key": key, "status": result["status"], "reason": ""}
