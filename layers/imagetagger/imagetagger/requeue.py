"""Putting an upload back on the processing queue, the same way S3 announced it: a fresh ObjectCreated notification.

Used by `POST /images/{image_id}/retry` (one image of the signed-in user) and by `imagetagger retry --failed` (every
retriable failure). Processing is idempotent per bucket/key/etag only while a run succeeded; a run that ended FAILED
"retry later" raised, so Powertools kept no record of it and the re-sent notification is processed afresh.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote_plus

from botocore.exceptions import ClientError

from imagetagger.errors import ConflictError, QueueUnavailableError
from imagetagger.records import ImageRecord, ImageStatus, upload_key
from imagetagger.storage import ImageRepository


def object_created_event(
    bucket: str,
    key: str,
    size: int,
    etag: str,
    *,
    region: str,
    event_name: str = "ObjectCreated:Post",
    configuration_id: str = "imagetagger-requeue",
) -> dict[str, Any]:
    """An S3 event notification in the documented shape
    (https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html)."""
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": region,
                "eventTime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
                "eventName": event_name,
                "userIdentity": {"principalId": "imagetagger"},
                "requestParameters": {"sourceIPAddress": "127.0.0.1"},
                "responseElements": {"x-amz-request-id": "imagetagger", "x-amz-id-2": "imagetagger"},
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": configuration_id,
                    "bucket": {
                        "name": bucket,
                        "ownerIdentity": {"principalId": "imagetagger"},
                        "arn": f"arn:aws:s3:::{bucket}",
                    },
                    "object": {
                        "key": quote_plus(key, safe="/"),  # S3 URL-encodes keys in notifications
                        "size": size,
                        "eTag": etag.strip('"'),
                        "sequencer": f"{time.time_ns():016X}",
                    },
                },
            }
        ]
    }


def requeue_upload(s3: Any, sqs: Any, bucket: str, queue_url: str, user_id: str, image_id: str) -> bool:
    """Announce the image's upload to the queue again; False when the object is gone (nothing left to tag)."""
    key = upload_key(user_id, image_id)
    try:
        head = s3.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if exc.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
            return False
        raise
    region = s3.meta.region_name or "us-east-1"
    event = object_created_event(bucket, key, int(head["ContentLength"]), head["ETag"], region=region)
    sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(event))
    return True


def retry_failed_image(
    user_id: str, image_id: str, *, s3: Any, sqs: Any, bucket: str, queue_url: str, repo: ImageRepository
) -> ImageRecord:
    """Re-queue one FAILED, retriable image of the user and return it PENDING again.

    NotFoundError for someone else's or an unknown image; ConflictError when it is not a retriable failure (a bad file
    fails the same way every time) or its upload is gone; QueueUnavailableError when the queue refused the message.
    """
    record = repo.get(user_id, image_id)
    if record.status != ImageStatus.FAILED or not record.retriable:
        raise ConflictError(f"image {image_id} is {record.status.value}, not a failure worth retrying")
    # PENDING first, conditioned on FAILED: of two retries at once only one sends a message.
    if not repo.mark_retrying(user_id, image_id):
        raise ConflictError(f"image {image_id} changed meanwhile; reload it")
    try:
        requeued = requeue_upload(s3, sqs, bucket, queue_url, user_id, image_id)
    except ClientError as exc:
        repo.mark_failed(user_id, image_id, record.error or "retry later", retriable=True)
        raise QueueUnavailableError("the image could not be queued for tagging; try again in a minute") from exc
    if not requeued:
        repo.mark_failed(user_id, image_id, "the uploaded file is gone; upload it again", retriable=False)
        raise ConflictError(f"the uploaded file of image {image_id} is gone; upload it again")
    return repo.get(user_id, image_id)
