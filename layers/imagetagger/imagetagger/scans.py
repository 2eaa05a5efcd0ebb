"""Full scans of ImagesTable for operator tools and the workflow (`imagetagger retry --failed`, the re-tag step),
never for the API: their attribute names and conditions live with the records they read (imagetagger.records)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from boto3.dynamodb.conditions import Attr, ConditionBase

from imagetagger.records import RETRIABLE_MARK, ImageStatus

_KEYS = "user_id, image_id"


def _keys(images: Any, condition: ConditionBase) -> Iterator[tuple[str, str]]:
    """(user_id, image_id) of every item matching `condition`, page by page."""
    scan: dict[str, Any] = {"FilterExpression": condition, "ProjectionExpression": _KEYS}
    while True:
        response = images.scan(**scan)
        for item in response.get("Items", []):
            yield item["user_id"], item["image_id"]
        if "LastEvaluatedKey" not in response:
            return
        scan["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def retriable_failures(images: Any) -> Iterator[tuple[str, str]]:
    """Images FAILED for a reason worth retrying. `retriable` is on every failure recorded since the flag exists;
    older records only said so in `error` (as ImageRecord.from_item reads them)."""
    retriable = Attr("retriable").eq(True) | (Attr("retriable").not_exists() & Attr("error").contains(RETRIABLE_MARK))
    return _keys(images, Attr("status").eq(ImageStatus.FAILED.value) & retriable)


def tagged_by_another_model(images: Any, model_version: str, user_id: str | None = None) -> Iterator[tuple[str, str]]:
    """TAGGED or FAILED images (of `user_id`, or everyone's) whose tags are not `model_version`'s."""
    settled = [ImageStatus.TAGGED.value, ImageStatus.FAILED.value]
    condition = Attr("status").is_in(settled) & Attr("model_version").ne(model_version)
    if user_id:
        condition = condition & Attr("user_id").eq(user_id)
    return _keys(images, condition)
