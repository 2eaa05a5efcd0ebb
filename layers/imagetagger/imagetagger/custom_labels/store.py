"""LabelsTable: one item per user and label (PK user_id, SK label_key), holding its examples' counts, its revision
and its trained classifier.

A table of its own, not items in ImagesTable: a label is a per-user entity with its own lifecycle (deleting it must not
touch the image items' keys, deleting an image must not delete a label), it is read as "all labels of user U" (one
Query of at most MAX_LABELS items, by the API and by the processing function for every upload) without paging through
the user's images, and the training workflow's full Scan of ImagesTable stays free of it. The positive examples
themselves are the image items' corrections (the single source of truth); the counts here are kept in step with them
by the API and set exactly at each training.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Literal

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from imagetagger.custom_labels.classifier import LabelClassifier
from imagetagger.errors import NotFoundError
from imagetagger.label_names import label_key

MAX_LABELS = 50
MIN_POSITIVES = 5
LabelStatus = Literal["collecting", "training", "ready"]


@dataclass(frozen=True)
class Label:
    user_id: str
    name: str
    positives: int = 0
    negatives: int = 0
    revision: int = 0  # +1 at every change of its examples; a training request names the revision it is for
    trained_revision: int = -1
    classifier: LabelClassifier | None = None
    reason: str | None = None  # why the newest training produced no classifier
    updated_at: str = ""

    @property
    def key(self) -> str:
        return label_key(self.name)

    @property
    def status(self) -> LabelStatus:
        if self.positives < MIN_POSITIVES:
            return "collecting"
        if self.trained_revision == self.revision:
            return "ready" if self.classifier is not None else "collecting"
        return "training"

    def to_api(self) -> dict[str, Any]:
        classifier = self.classifier
        return {
            "name": self.name,
            "examples": self.positives,
            "negatives": self.negatives,
            "status": self.status,
            "precision": classifier.precision if classifier else None,
            "recall": classifier.recall if classifier else None,
            "threshold": classifier.threshold if classifier else None,
            "reason": self.reason if self.status == "collecting" else None,
            "updated_at": self.updated_at,
        }

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Label:
        raw = item.get("classifier")
        return cls(
            user_id=item["user_id"],
            name=item["name"],
            positives=max(0, int(item.get("positives", 0))),
            negatives=max(0, int(item.get("negatives", 0))),
            revision=int(item.get("revision", 0)),
            trained_revision=int(item.get("trained_revision", -1)),
            classifier=LabelClassifier.from_item(raw) if raw else None,
            reason=item.get("reason"),
            updated_at=item.get("updated_at", ""),
        )


@dataclass
class LabelStore:
    """`table` is the boto3 Table resource of LabelsTable."""

    table: Any

    def list(self, user_id: str) -> list[Label]:
        """The user's labels (at most MAX_LABELS: one page), by name."""
        response = self.table.query(KeyConditionExpression=Key("user_id").eq(user_id), ConsistentRead=True)
        return sorted((Label.from_item(item) for item in response.get("Items", [])), key=lambda label: label.key)

    def get(self, user_id: str, name: str) -> Label:
        item = self.table.get_item(Key=_key(user_id, name), ConsistentRead=True).get("Item")
        if item is None:
            raise NotFoundError(f"no label named {name!r}")
        return Label.from_item(item)

    def ensure(self, user_id: str, name: str) -> bool:
        """Create the label unless one of that key exists (its first spelling wins); True when created."""
        now = _now_iso()
        item = {**_key(user_id, name), "name": name, "revision": 0, "positives": 0, "negatives": 0}
        try:
            self.table.put_item(
                Item={**item, "created_at": now, "updated_at": now},
                ConditionExpression="attribute_not_exists(label_key)",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            return False
        return True

    def record_examples(self, user_id: str, name: str, positives: int, negatives: int) -> Label | None:
        """Count examples gained (or lost: negative numbers) and move to a new revision; None if the label is gone."""
        try:
            response = self.table.update_item(
                Key=_key(user_id, name),
                UpdateExpression="ADD revision :one, positives :positives, negatives :negatives SET updated_at = :now",
                ConditionExpression="attribute_exists(label_key)",
                ExpressionAttributeValues={
                    ":one": 1,
                    ":positives": positives,
                    ":negatives": negatives,
                    ":now": _now_iso(),
                },
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            return None
        return Label.from_item(response["Attributes"])

    def save_training(
        self,
        label: Label,
        classifier: LabelClassifier | None,
        reason: str | None,
        positives: int,
        negatives: int,
    ) -> bool:
        """Store the outcome of training `label` at its revision, with the exact example counts it found; False (and
        nothing written) when the label changed or went meanwhile: a newer request will train it."""
        values: dict[str, Any] = {
            ":revision": label.revision,
            ":positives": positives,
            ":negatives": negatives,
            ":now": _now_iso(),
        }
        expression = (
            "SET trained_revision = :revision, positives = :positives, negatives = :negatives, updated_at = :now"
        )
        if classifier is not None:
            expression += ", classifier = :classifier REMOVE reason"
            values[":classifier"] = classifier.to_item()
        else:
            expression += ", reason = :reason REMOVE classifier"
            values[":reason"] = reason or "not trained"
        try:
            self.table.update_item(
                Key=_key(label.user_id, label.name),
                UpdateExpression=expression,
                ConditionExpression="revision = :revision",
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            return False
        return True

    def delete(self, user_id: str, name: str) -> Label:
        old = self.table.delete_item(Key=_key(user_id, name), ReturnValues="ALL_OLD").get("Attributes")
        if old is None:
            raise NotFoundError(f"no label named {name!r}")
        return Label.from_item(old)


def _key(user_id: str, name: str) -> dict[str, str]:
    return {"user_id": user_id, "label_key": label_key(name)}


def _now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
