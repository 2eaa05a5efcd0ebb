"""Users' tag corrections: confirm, reject or add tags on one of their images; the next training run learns from them.

A correction is stored on the image's own item (ImagesTable, PK user_id, SK image_id) as the `corrections` map, so it is
"per user and image" by construction, is removed with the image, and survives a re-tag (re-tagging only SETs the
predicted tags). The training workflow's prepare step scans for items that carry one and turns each into labels:
(predicted tags - rejected) | confirmed | added.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from imagetagger.errors import ConflictError, InvalidRequestError, NotFoundError
from imagetagger.models import ImageStatus
from imagetagger.tags import Tag

# COCO's 80 categories with their supercategory (the tag's parent): the vocabulary every model of ours predicts.
# Kept equal to training/imagetagger_training/coco_categories.json by tests/unit/test_workflow_corrections.py.
COCO_PARENTS: dict[str, str] = {
    "person": "person", "bicycle": "vehicle", "car": "vehicle", "motorcycle": "vehicle", "airplane": "vehicle",
    "bus": "vehicle", "train": "vehicle", "truck": "vehicle", "boat": "vehicle", "traffic light": "outdoor",
    "fire hydrant": "outdoor", "stop sign": "outdoor", "parking meter": "outdoor", "bench": "outdoor",
    "bird": "animal", "cat": "animal", "dog": "animal", "horse": "animal", "sheep": "animal", "cow": "animal",
    "elephant": "animal", "bear": "animal", "zebra": "animal", "giraffe": "animal", "backpack": "accessory",
    "umbrella": "accessory", "handbag": "accessory", "tie": "accessory", "suitcase": "accessory",
    "frisbee": "sports", "skis": "sports", "snowboard": "sports", "sports ball": "sports", "kite": "sports",
    "baseball bat": "sports", "baseball glove": "sports", "skateboard": "sports", "surfboard": "sports",
    "tennis racket": "sports", "bottle": "kitchen", "wine glass": "kitchen", "cup": "kitchen", "fork": "kitchen",
    "knife": "kitchen", "spoon": "kitchen", "bowl": "kitchen", "banana": "food", "apple": "food", "sandwich": "food",
    "orange": "food", "broccoli": "food", "carrot": "food", "hot dog": "food", "pizza": "food", "donut": "food",
    "cake": "food", "chair": "furniture", "couch": "furniture", "potted plant": "furniture", "bed": "furniture",
    "dining table": "furniture", "toilet": "furniture", "tv": "electronic", "laptop": "electronic",
    "mouse": "electronic", "remote": "electronic", "keyboard": "electronic", "cell phone": "electronic",
    "microwave": "appliance", "oven": "appliance", "toaster": "appliance", "sink": "appliance",
    "refrigerator": "appliance", "book": "indoor", "clock": "indoor", "vase": "indoor", "scissors": "indoor",
    "teddy bear": "indoor", "hair drier": "indoor", "toothbrush": "indoor",
}  # fmt: skip


@dataclass(frozen=True)
class Correction:
    confirmed: tuple[str, ...] = ()
    rejected: tuple[str, ...] = ()
    added: tuple[str, ...] = ()
    updated_at: str = ""

    def labels(self, predicted: list[str]) -> list[str]:
        """The training labels: what the model said, minus what the user rejected, plus what they vouched for."""
        chosen = (set(predicted) - set(self.rejected)) | set(self.confirmed) | set(self.added)
        return sorted(chosen)

    def tags(self, predicted: list[Tag]) -> list[Tag]:
        """The corrected tags in full: kept predicted tags as the model gave them (confidence, instances), in its
        order, then the tags only the user vouched for, with confidence 1 and no instances (nothing located them)."""
        labels = self.labels([tag["name"] for tag in predicted])
        kept = [tag for tag in predicted if tag["name"] in labels]
        kept_names = {tag["name"] for tag in kept}
        added = [
            Tag(name=name, confidence=1.0, parents=_parents(name), instances=[])
            for name in labels
            if name not in kept_names
        ]
        return kept + added

    def to_item(self) -> dict[str, Any]:
        return {
            "confirmed": list(self.confirmed),
            "rejected": list(self.rejected),
            "added": list(self.added),
            "updated_at": self.updated_at,
        }

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Correction:
        return cls(
            confirmed=tuple(item.get("confirmed", [])),
            rejected=tuple(item.get("rejected", [])),
            added=tuple(item.get("added", [])),
            updated_at=str(item.get("updated_at", "")),
        )


def _parents(name: str) -> list[str]:
    parent = COCO_PARENTS.get(name, name)
    return [parent] if parent != name else []


def build_correction(confirm: list[str], reject: list[str], add: list[str]) -> Correction:
    """A validated correction; InvalidRequestError names unknown tags and tags both kept and rejected."""
    unknown = sorted({name for name in [*confirm, *reject, *add] if name not in COCO_PARENTS})
    if unknown:
        raise InvalidRequestError(f"unknown tag(s) {unknown}; tags are COCO category names such as 'dog'")
    contradictory = sorted((set(confirm) | set(add)) & set(reject))
    if contradictory:
        raise InvalidRequestError(f"tag(s) {contradictory} cannot be both kept and rejected")
    return Correction(
        confirmed=tuple(sorted(set(confirm))),
        rejected=tuple(sorted(set(reject))),
        added=tuple(sorted(set(add) - set(confirm))),
        updated_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    )


@dataclass(frozen=True)
class CorrectedImage:
    """One corrected image as the prepare step sees it."""

    user_id: str
    image_id: str
    s3_key: str
    predicted: list[str]
    correction: Correction
    model_version: str | None = None
    labels: list[str] = field(default_factory=list)


@dataclass
class CorrectionStore:
    """`images` is the boto3 Table resource of ImagesTable."""

    images: Any

    def save(self, user_id: str, image_id: str, correction: Correction) -> None:
        """Replace the user's correction of the image: NotFoundError if there is no such image, ConflictError while it
        is not TAGGED (there is nothing to correct yet, and a FAILED file cannot become a training example)."""
        try:
            self.images.update_item(
                Key={"user_id": user_id, "image_id": image_id},
                UpdateExpression="SET corrections = :correction",
                ConditionExpression="attribute_exists(image_id) AND #status = :tagged",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":correction": correction.to_item(), ":tagged": ImageStatus.TAGGED.value},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            item = self.images.get_item(Key={"user_id": user_id, "image_id": image_id}, ConsistentRead=True).get("Item")
            if item is None:
                raise NotFoundError(f"image {image_id} not found") from exc
            raise ConflictError(f"image {image_id} is {item['status']}; only TAGGED images can be corrected") from exc

    def corrected_images(self) -> Iterator[CorrectedImage]:
        """Every corrected image of every user (a full Scan: the prepare step runs rarely, the API never calls it)."""
        scan: dict[str, Any] = {
            "FilterExpression": "attribute_exists(corrections) AND #status = :tagged",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": {":tagged": ImageStatus.TAGGED.value},
        }
        while True:
            response = self.images.scan(**scan)
            for item in response.get("Items", []):
                correction = Correction.from_item(item["corrections"])
                predicted = [tag["name"] for tag in item.get("tags", [])]
                yield CorrectedImage(
                    user_id=item["user_id"],
                    image_id=item["image_id"],
                    s3_key=item.get("s3_key") or f"uploads/{item['user_id']}/{item['image_id']}",
                    predicted=predicted,
                    correction=correction,
                    model_version=item.get("model_version"),
                    labels=correction.labels(predicted),
                )
            if "LastEvaluatedKey" not in response:
                return
            scan["ExclusiveStartKey"] = response["LastEvaluatedKey"]
