"""Presigned POST uploads and image deletion: the lifecycle of the uploaded object.

The browser/app posts the file straight to S3 with a form whose policy pins the content type, the size range and the
exact key `uploads/{user_id}/{image_id}`, so the API never proxies bytes and a user can only write their own prefix.
"""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger

from imagetagger.embedding_store import EmbeddingStore
from imagetagger.errors import InvalidRequestError, PayloadTooLargeError
from imagetagger.media import ACCEPTED_MEDIA_TYPES, MEDIA_TYPE_ALIASES, parse_media_type
from imagetagger.records import ImageRecord, ImageStatus, new_image_id, upload_key
from imagetagger.settings import Settings
from imagetagger.storage import ImageRepository

logger = Logger(child=True)

MAX_FILENAME_CHARS = 255


@dataclass(frozen=True)
class UploadTicket:
    image_id: str
    url: str
    fields: dict[str, str]
    expires_in: int


def normalise_content_type(content_type: str) -> str:
    """`image/JPEG; charset=x` -> `image/jpeg`; raises InvalidRequestError for types we cannot tag."""
    media_type = parse_media_type(content_type)
    media_type = MEDIA_TYPE_ALIASES.get(media_type, media_type)
    if media_type not in ACCEPTED_MEDIA_TYPES:
        allowed = ", ".join(sorted(ACCEPTED_MEDIA_TYPES))
        raise InvalidRequestError(f"content type {content_type!r} is not supported; use one of {allowed}")
    return media_type


def clean_filename(filename: str) -> str:
    """The display name only: no directories, no control characters, bounded length."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip()
    if not name:
        raise InvalidRequestError("filename must contain a visible name")
    return name[:MAX_FILENAME_CHARS]


def create_upload(
    user_id: str,
    filename: str,
    content_type: str,
    size: int,
    *,
    settings: Settings,
    s3: Any,
    repo: ImageRepository,
    clock: Callable[[], float] = time.time,
) -> UploadTicket:
    """Record a PENDING image and return the presigned POST form that uploads it."""
    media_type = normalise_content_type(content_type)
    if size > settings.max_upload_bytes:
        raise PayloadTooLargeError(f"the file is {size} bytes; at most {settings.max_upload_bytes} bytes are accepted")
    if size < 1:
        raise InvalidRequestError("size must be at least 1 byte")
    now = clock()
    image_id = new_image_id()
    record = ImageRecord(
        user_id=user_id,
        image_id=image_id,
        filename=clean_filename(filename),
        content_type=media_type,
        size=size,
        status=ImageStatus.PENDING,
        created_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
    )
    # The record exists before the form does, so an object in the bucket always has its record.
    repo.create_pending(record, expires_at=int(now) + settings.pending_ttl_s)
    key = upload_key(user_id, image_id)
    form = s3.generate_presigned_post(
        Bucket=settings.upload_bucket,
        Key=key,
        Fields={"Content-Type": media_type},
        Conditions=[
            {"Content-Type": media_type},
            ["content-length-range", 1, settings.max_upload_bytes],
        ],
        ExpiresIn=settings.upload_url_expires_s,
    )
    return UploadTicket(
        image_id=image_id, url=form["url"], fields=form["fields"], expires_in=settings.upload_url_expires_s
    )


def download_url(record: ImageRecord, *, settings: Settings, s3: Any) -> str | None:
    """A short-lived presigned GET of the record's own upload (a thumbnail source for the page), or None while there
    is nothing to show: still PENDING (the object may not exist yet) or FAILED as a file that is not an image."""
    if record.status == ImageStatus.PENDING or (record.status == ImageStatus.FAILED and not record.retriable):
        return None
    # Signing is local computation (no S3 call); the key comes from the record, i.e. from the caller's own user id.
    return str(
        s3.generate_presigned_url(
            "get_object",
            Params={"Bucket": settings.upload_bucket, "Key": upload_key(record.user_id, record.image_id)},
            ExpiresIn=settings.download_url_expires_s,
        )
    )


def delete_image(user_id: str, image_id: str, *, settings: Settings, s3: Any, repo: ImageRepository) -> None:
    """Remove the object and every record of the image; NotFoundError when the user has no such image."""
    repo.get(user_id, image_id)  # 404 before touching S3, and never another user's key
    # Object first: a processing run that starts now finds no object; the records go last so a failed call can be
    # repeated by the user.
    s3.delete_object(Bucket=settings.upload_bucket, Key=upload_key(user_id, image_id))
    repo.delete(user_id, image_id)
    forget_embedding(user_id, image_id, settings=settings, s3=s3, repo=repo)


def forget_embedding(user_id: str, image_id: str, *, settings: Settings, s3: Any, repo: ImageRepository) -> None:
    """Drop the deleted image's row from the user's packed embedding matrix (issue 15). Best effort: the image's
    records are gone already, and a search drops rows whose image is gone (imagetagger.similarity)."""
    store = EmbeddingStore(s3, settings.upload_bucket, repo)
    try:
        matrix, _ = store.load(user_id)
        if matrix is not None and image_id in matrix:
            store.remove(user_id, {image_id})
    except Exception:  # S3 throttling, a write race lost five times: never worth failing the deletion
        logger.exception("the deleted image's embedding row was not removed", extra={"image_id": image_id})
