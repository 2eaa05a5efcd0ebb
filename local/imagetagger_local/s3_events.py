"""S3 event notification records for the local stack (the shape lives in imagetagger.requeue, shared with the API's
retry route and `imagetagger retry`)."""

from __future__ import annotations

from typing import Any

from imagetagger.requeue import object_created_event as _object_created_event
from imagetagger_local.config import REGION


def object_created_event(
    bucket: str, key: str, size: int, etag: str, event_name: str = "ObjectCreated:Post"
) -> dict[str, Any]:
    return _object_created_event(
        bucket, key, size, etag, region=REGION, event_name=event_name, configuration_id="imagetagger-local-reconcile"
    )
