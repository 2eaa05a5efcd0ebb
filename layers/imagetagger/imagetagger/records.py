"""Domain records shared by storage, uploads, processing and the API."""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from imagetagger.corrections import Correction, user_tag
from imagetagger.tags import Tag, tag_from_dict

IMAGE_ID_PATTERN = r"^[0-9a-f]{32}$"
# A user id becomes an S3 key segment (uploads/{user_id}/...) and part of DynamoDB keys ({user_id}#{tag}): a letter or
# digit first (so never "." or ".."), then letters, digits, ".", "_" or "-". Cognito subs (UUIDs) and local user
# names are of this form.
USER_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"
# What processing writes into `error` when a failure is worth retrying; records from before the `retriable` flag
# existed are read by it.
RETRIABLE_MARK = "retry later"


class ImageStatus(StrEnum):
    PENDING = "PENDING"
    TAGGED = "TAGGED"
    FAILED = "FAILED"


def new_image_id() -> str:
    """32 hex characters, time-ordered (milliseconds first) so a user's newest images sort first."""
    return f"{int(time.time() * 1000):012x}{secrets.token_hex(10)}"


def upload_key(user_id: str, image_id: str) -> str:
    return f"uploads/{user_id}/{image_id}"


def parse_upload_key(key: str) -> tuple[str, str] | None:
    """(user_id, image_id) for a key of our layout with a valid user id, else None."""
    parts = key.split("/")
    if len(parts) != 3 or parts[0] != "uploads" or not is_valid_user_id(parts[1]) or not parts[2]:
        return None
    return parts[1], parts[2]


def is_valid_user_id(user_id: object) -> bool:
    return isinstance(user_id, str) and re.fullmatch(USER_ID_PATTERN, user_id) is not None


@dataclass
class ImageRecord:
    user_id: str
    image_id: str
    filename: str
    content_type: str
    size: int
    status: ImageStatus
    created_at: str
    tags: list[Tag] = field(default_factory=list)
    model_version: str | None = None
    error: str | None = None
    # The user's tag corrections (stored as the item's `corrections` map), if any.
    corrections: Correction | None = None
    # FAILED only: True when trying again may succeed (the endpoint was down), False for a file that will never tag.
    retriable: bool = False
    # The user's own labels' classifiers' predictions for this image: label name -> probability (custom_labels).
    custom_tags: dict[str, float] = field(default_factory=dict)

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> ImageRecord:
        return cls(
            user_id=item["user_id"],
            image_id=item["image_id"],
            filename=item.get("filename", ""),
            content_type=item.get("content_type", ""),
            size=int(item.get("size", 0)),
            status=ImageStatus(item["status"]),
            created_at=item.get("created_at", ""),
            tags=[tag_from_dict(tag) for tag in item.get("tags", [])],
            model_version=item.get("model_version"),
            error=item.get("error"),
            corrections=Correction.from_item(item["corrections"]) if item.get("corrections") else None,
            retriable=_retriable(item),
            custom_tags={str(name): float(p) for name, p in (item.get("custom_tags") or {}).items()},
        )

    def to_item(self) -> dict[str, Any]:
        """The DynamoDB item of a new record (tags are written by the repository as Decimals)."""
        item: dict[str, Any] = {
            "user_id": self.user_id,
            "image_id": self.image_id,
            "filename": self.filename,
            "content_type": self.content_type,
            "size": self.size,
            "status": self.status.value,
            "created_at": self.created_at,
            "s3_key": upload_key(self.user_id, self.image_id),
        }
        return item

    def to_api(self) -> dict[str, Any]:
        return {
            "image_id": self.image_id,
            "filename": self.filename,
            "status": self.status.value,
            "tags": [dict(tag) for tag in self.displayed_tags()],
            "model_version": self.model_version,
            "error": self.error,
            "created_at": self.created_at,
            "corrections": self._corrections_api(),
            "retriable": self.status == ImageStatus.FAILED and self.retriable,
        }

    def displayed_tags(self) -> list[Tag]:
        """What the image is tagged with: the model's tags (source "model"), then the user's own labels: those the
        user vouched for (source "user", confidence 1) and those their classifiers predict (source "custom"), the
        user's word winning over a prediction either way (a rejected custom tag is not shown)."""
        model = [Tag(**{**tag, "source": "model"}) for tag in self.tags]  # type: ignore[typeddict-item]
        correction = self.corrections or Correction()
        decided = {*correction.custom_positives(), *correction.custom_negatives()}
        predicted = [
            Tag(name=name, confidence=round(p, 4), parents=[], instances=[], source="custom")
            for name, p in sorted(self.custom_tags.items(), key=lambda kv: (-kv[1], kv[0]))
            if name not in decided
        ]
        return model + [user_tag(name) for name in correction.custom_positives()] + predicted

    def _corrections_api(self) -> dict[str, Any] | None:
        """The correction with the labels it results in, so a client shows corrected tags as such."""
        correction = self.corrections
        if correction is None:
            return None
        return {
            **correction.to_item(),
            "labels": correction.labels([tag["name"] for tag in self.tags]),
            "tags": [dict(tag) for tag in correction.tags(self.displayed_tags())],
        }


def _retriable(item: dict[str, Any]) -> bool:
    if "retriable" in item:
        return bool(item["retriable"])
    # Written before the flag existed: the reason said so.
    return item.get("status") == ImageStatus.FAILED.value and RETRIABLE_MARK in str(item.get("error") or "")


@dataclass
class Page:
    items: list[ImageRecord]
    next_token: str | None
