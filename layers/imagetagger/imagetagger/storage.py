"""DynamoDB repository for images and their tags.

ImagesTable holds one item per image (PK user_id, SK image_id). TagsTable holds one row per (image, tag)
(PK user_id, SK "tag#image_id") plus the GSI ByTag (PK "user_id#tag", SK confidence) that answers "images of user U
with tag T, most confident first" with one Query. Tag rows are written in the same transaction as the image's status,
conditioned on the image still existing, so a deleted image is never resurrected by a late processing run.

Every tag row says where it comes from (`source`): "model" (written with the model's tags), "custom" (a user's own
label's classifier predicted it; the image item's `custom_tags` map holds the same probability) or "user" (the image
is a positive example of the user's own label). Custom label names never equal COCO names, so their rows never
collide with the model's.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from boto3.dynamodb.conditions import Attr, Key
from boto3.dynamodb.types import Binary
from botocore.exceptions import ClientError

from imagetagger.embeddings import stored_bytes
from imagetagger.errors import NotFoundError
from imagetagger.pagination import decode_token, encode_token, fixed, matching, number_between
from imagetagger.records import IMAGE_ID_PATTERN, ImageRecord, ImageStatus, Page
from imagetagger.tags import Tag, TagSource

BY_TAG_INDEX = "ByTag"
_MAX_TRANSACTION_ITEMS = 100
_OPTIMISTIC_RETRIES = 3


def tag_row_key(user_id: str, tag: str, image_id: str) -> dict[str, str]:
    return {"user_id": user_id, "tag_image": f"{tag}#{image_id}"}


@dataclass
class ImageRepository:
    """`images` and `tags` are boto3 DynamoDB Table resources."""

    images: Any
    tags: Any

    @classmethod
    def from_names(cls, dynamodb: Any, images_table: str, tags_table: str) -> ImageRepository:
        return cls(images=dynamodb.Table(images_table), tags=dynamodb.Table(tags_table))

    # ------------------------------------------------------------------ reads
    def get(self, user_id: str, image_id: str) -> ImageRecord:
        item = self.images.get_item(Key={"user_id": user_id, "image_id": image_id}, ConsistentRead=True).get("Item")
        if item is None:
            raise NotFoundError(f"image {image_id} not found")
        return ImageRecord.from_item(item)

    def list_images(self, user_id: str, limit: int, next_token: str | None = None) -> Page:
        """The user's images, newest first (image ids are time-ordered)."""
        query: dict[str, Any] = {
            "KeyConditionExpression": Key("user_id").eq(user_id),
            "ScanIndexForward": False,
            "Limit": limit,
        }
        start = decode_token(next_token, expected={"user_id": fixed(user_id), "image_id": matching(IMAGE_ID_PATTERN)})
        if start:
            query["ExclusiveStartKey"] = start
        response = self.images.query(**query)
        items = [ImageRecord.from_item(item) for item in response.get("Items", [])]
        return Page(items=items, next_token=encode_token(response.get("LastEvaluatedKey")))

    def search_by_tag(
        self, user_id: str, tag: str, min_confidence: float, limit: int, next_token: str | None = None
    ) -> Page:
        """The user's images carrying `tag` with at least `min_confidence`, most confident first."""
        user_tag = f"{user_id}#{tag}"
        query: dict[str, Any] = {
            "IndexName": BY_TAG_INDEX,
            "KeyConditionExpression": Key("user_tag").eq(user_tag) & Key("confidence").gte(_decimal(min_confidence)),
            "ScanIndexForward": False,
            "Limit": limit,
        }
        start = decode_token(
            next_token,
            expected={
                "user_tag": fixed(user_tag),
                "confidence": number_between(0, 1),
                "user_id": fixed(user_id),
                "tag_image": matching(re.escape(f"{tag}#") + IMAGE_ID_PATTERN.strip("^$")),
            },
        )
        if start:
            query["ExclusiveStartKey"] = start
        response = self.tags.query(**query)
        image_ids = [row["image_id"] for row in response.get("Items", [])]
        records = self._batch_get(user_id, image_ids)
        # An image deleted between the two reads is simply left out.
        items = [records[image_id] for image_id in image_ids if image_id in records]
        return Page(items=items, next_token=encode_token(response.get("LastEvaluatedKey")))

    def tag_rows(self, user_id: str, tag: str) -> list[tuple[str, str, float]]:
        """(image_id, source, confidence) of every row of the user's tag (the ByTag index: one Query, paged)."""
        query: dict[str, Any] = {
            "IndexName": BY_TAG_INDEX,
            "KeyConditionExpression": Key("user_tag").eq(f"{user_id}#{tag}"),
            "ProjectionExpression": "image_id, #source, confidence",
            "ExpressionAttributeNames": {"#source": "source"},
        }
        found: list[tuple[str, str, float]] = []
        while True:
            response = self.tags.query(**query)
            found += [
                (row["image_id"], str(row.get("source", "model")), float(row["confidence"]))
                for row in response.get("Items", [])
            ]
            if "LastEvaluatedKey" not in response:
                return found
            query["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def tag_counts(self, user_id: str) -> list[dict[str, Any]]:
        """Every tag of the user's images with its number of images, most frequent first."""
        counts: dict[str, int] = {}
        query: dict[str, Any] = {
            "KeyConditionExpression": Key("user_id").eq(user_id),
            "ProjectionExpression": "tag",
        }
        while True:
            response = self.tags.query(**query)
            for row in response.get("Items", []):
                counts[row["tag"]] = counts.get(row["tag"], 0) + 1
            if "LastEvaluatedKey" not in response:
                break
            query["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return [
            {"name": name, "count": count} for name, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        ]

    def _batch_get(self, user_id: str, image_ids: list[str]) -> dict[str, ImageRecord]:
        items = self.get_items([(user_id, image_id) for image_id in image_ids])
        return {image_id: ImageRecord.from_item(item) for (_, image_id), item in items.items()}

    # ------------------------------------------------------------------ writes
    def create_pending(self, record: ImageRecord, expires_at: int) -> None:
        item = record.to_item()
        item["expires_at"] = expires_at
        item["revision"] = 0
        self.images.put_item(Item=item, ConditionExpression=Attr("image_id").not_exists())

    def get_items(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], dict[str, Any]]:
        """The image items of these (user_id, image_id) keys, as stored (consistent reads, BatchGetItem); a key without
        an item is left out. The processing function reads a whole batch's records with this."""
        found: dict[tuple[str, str], dict[str, Any]] = {}
        pending = [{"user_id": user_id, "image_id": image_id} for user_id, image_id in dict.fromkeys(keys)]
        client = self.images.meta.client  # the resource's client speaks Python types
        while pending:
            request = {self.images.name: {"Keys": pending[:100], "ConsistentRead": True}}
            pending = pending[100:]
            while request:
                response = client.batch_get_item(RequestItems=request)
                for item in response["Responses"].get(self.images.name, []):
                    found[(item["user_id"], item["image_id"])] = item
                request = response.get("UnprocessedKeys") or {}
        return found

    def embedded(self, user_id: str) -> Iterable[tuple[str, str, bytes]]:
        """(image_id, embedding_version, embedding bytes) of each of the user's TAGGED images with an embedding: one
        Query of the user's partition, only those attributes read back (the packed matrix is rebuilt from it)."""
        query: dict[str, Any] = {
            "KeyConditionExpression": Key("user_id").eq(user_id),
            "ProjectionExpression": "image_id, embedding, embedding_version, #status",
            "FilterExpression": Attr("status").eq(ImageStatus.TAGGED.value) & Attr("embedding").exists(),
            "ExpressionAttributeNames": {"#status": "status"},
        }
        while True:
            response = self.images.query(**query)
            for item in response.get("Items", []):
                yield item["image_id"], str(item.get("embedding_version", "")), stored_bytes(item["embedding"])
            if "LastEvaluatedKey" not in response:
                return
            query["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def mark_tagged(
        self,
        user_id: str,
        image_id: str,
        tags: list[Tag],
        model_version: str,
        current: dict[str, Any] | None = None,
        embedding: bytes | None = None,
    ) -> bool:
        """Store the tags (replacing earlier ones) and the image's embedding (removed when the model gave none: an older
        model's would be compared with the new ones); False when the image no longer exists. `current` is the item as
        read a moment ago (get_items): the write is conditioned on its revision, so a stale one only costs a re-read."""
        for _ in range(_OPTIMISTIC_RETRIES):
            if current is not None:
                item, current = current, None
            else:
                item = self.images.get_item(Key={"user_id": user_id, "image_id": image_id}, ConsistentRead=True).get(
                    "Item"
                )
            if item is None:
                return False
            try:
                self._write_tags(item, tags, model_version, embedding)
                return True
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "TransactionCanceledException":
                    raise
                # Deleted or changed since we read it: read again and decide.
        raise RuntimeError(f"image {image_id} kept changing while its tags were written")

    def _write_tags(self, item: dict[str, Any], tags: list[Tag], model_version: str, embedding: bytes | None) -> None:
        user_id, image_id, revision = item["user_id"], item["image_id"], int(item.get("revision", 0))
        new_names = {tag["name"] for tag in tags}
        stale = [name for name in _tag_names(item.get("tags", [])) if name not in new_names]
        client = self.images.meta.client
        if 1 + len(tags) + len(stale) > _MAX_TRANSACTION_ITEMS:
            # Too many for one transaction: stale rows go first (deleting them twice is harmless).
            self._delete_tag_rows(user_id, image_id, stale)
            stale = []
        operations: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self.images.name,
                    "Key": {"user_id": user_id, "image_id": image_id},
                    "UpdateExpression": "SET #status = :tagged, tags = :tags, model_version = :version, "
                    "updated_at = :now, revision = :next"
                    + (", embedding = :embedding, embedding_version = :version" if embedding is not None else "")
                    + " REMOVE expires_at, #error, retriable"
                    + ("" if embedding is not None else ", embedding, embedding_version"),
                    # Optimistic lock: nobody re-tagged or deleted the image since we read it.
                    "ConditionExpression": "attribute_exists(image_id) AND revision = :revision"
                    if "revision" in item
                    else "attribute_exists(image_id) AND attribute_not_exists(revision)",
                    "ExpressionAttributeNames": {"#status": "status", "#error": "error"},
                    "ExpressionAttributeValues": {
                        ":tagged": ImageStatus.TAGGED.value,
                        ":tags": [_tag_item(tag) for tag in tags],
                        ":version": model_version,
                        ":now": _now_iso(),
                        ":revision": revision,
                        ":next": revision + 1,
                        **({":embedding": Binary(embedding)} if embedding is not None else {}),
                    },
                }
            }
        ]
        for tag in tags:
            # Every stored tag says which model produced it, so a re-tag job can find older versions' tags.
            row = tag_row(user_id, image_id, tag["name"], tag["confidence"], tag["parents"], "model", model_version)
            operations.append({"Put": {"TableName": self.tags.name, "Item": row}})
        for name in stale:
            operations.append({"Delete": {"TableName": self.tags.name, "Key": tag_row_key(user_id, name, image_id)}})
        client.transact_write_items(TransactItems=operations)

    def mark_failed(self, user_id: str, image_id: str, reason: str, retriable: bool = False) -> bool:
        """Record why tagging failed and whether trying again may help; False when the image is gone or already
        TAGGED (a late duplicate must not overwrite good tags)."""
        try:
            self.images.update_item(
                Key={"user_id": user_id, "image_id": image_id},
                UpdateExpression="SET #status = :failed, #error = :reason, retriable = :retriable, updated_at = :now "
                "REMOVE expires_at",
                ConditionExpression=Attr("image_id").exists() & Attr("status").ne(ImageStatus.TAGGED.value),
                ExpressionAttributeNames={"#status": "status", "#error": "error"},
                ExpressionAttributeValues={
                    ":failed": ImageStatus.FAILED.value,
                    ":reason": reason,
                    ":retriable": retriable,
                    ":now": _now_iso(),
                },
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def mark_retrying(self, user_id: str, image_id: str) -> bool:
        """FAILED -> PENDING for a retry; False when the image is gone or no longer FAILED (someone retried first)."""
        try:
            self.images.update_item(
                Key={"user_id": user_id, "image_id": image_id},
                UpdateExpression="SET #status = :pending, updated_at = :now REMOVE #error, retriable",
                ConditionExpression=Attr("image_id").exists() & Attr("status").eq(ImageStatus.FAILED.value),
                ExpressionAttributeNames={"#status": "status", "#error": "error"},
                ExpressionAttributeValues={":pending": ImageStatus.PENDING.value, ":now": _now_iso()},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def delete(self, user_id: str, image_id: str) -> ImageRecord:
        """Remove the image and all its tag rows; NotFoundError when there is none."""
        old = self.images.delete_item(Key={"user_id": user_id, "image_id": image_id}, ReturnValues="ALL_OLD")
        item = old.get("Attributes")
        if item is None:
            raise NotFoundError(f"image {image_id} not found")
        record = ImageRecord.from_item(item)
        self._delete_tag_rows(user_id, image_id, {tag["name"] for tag in record.displayed_tags()})
        return record

    def put_tag_rows(self, rows: Iterable[dict[str, Any]]) -> None:
        """Write tag rows (built by `tag_row`) in batches of 25 (BatchWriteItem), retrying unprocessed ones."""
        with self.tags.batch_writer() as batch:
            for row in rows:
                batch.put_item(Item=row)

    def delete_tag_rows(self, user_id: str, keys: Iterable[tuple[str, str]]) -> None:
        """Remove the rows of these (tag, image_id) pairs, in batches of 25."""
        with self.tags.batch_writer() as batch:
            for name, image_id in keys:
                batch.delete_item(Key=tag_row_key(user_id, name, image_id))

    def _delete_tag_rows(self, user_id: str, image_id: str, names: Iterable[str]) -> None:
        with self.tags.batch_writer() as batch:
            for name in names:
                batch.delete_item(Key=tag_row_key(user_id, name, image_id))


def tag_row(
    user_id: str,
    image_id: str,
    name: str,
    confidence: float,
    parents: Iterable[str],
    source: TagSource,
    model_version: str | None = None,
) -> dict[str, Any]:
    """The TagsTable row of one tag of one image (its ByTag key is user#tag, confidence)."""
    row: dict[str, Any] = {
        **tag_row_key(user_id, name, image_id),
        "user_tag": f"{user_id}#{name}",
        "tag": name,
        "image_id": image_id,
        "confidence": _decimal(confidence),
        "parents": list(parents),
        "source": source,
    }
    if model_version is not None:
        row["model_version"] = model_version
    return row


def _tag_names(tag_items: list[dict[str, Any]]) -> list[str]:
    return [item["name"] for item in tag_items]


def _tag_item(tag: Tag) -> dict[str, Any]:
    return {
        "name": tag["name"],
        "confidence": _decimal(tag["confidence"]),
        "parents": list(tag["parents"]),
        "instances": [
            {"box": [_decimal(value) for value in instance["box"]], "confidence": _decimal(instance["confidence"])}
            for instance in tag.get("instances", [])
        ],
    }


def _decimal(value: float) -> Decimal:
    # DynamoDB numbers must be Decimal; going through str keeps 0.93 from becoming 0.9300000000000000488...
    return Decimal(str(round(float(value), 4)))


def _now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
