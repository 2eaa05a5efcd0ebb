"""Reading and writing users' corrections on their image items (ImagesTable's `corrections` map)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from imagetagger.corrections import CorrectedImage, Correction
from imagetagger.errors import ConflictError, NotFoundError
from imagetagger.records import ImageStatus


@dataclass
class CorrectionStore:
    """`images` is the boto3 Table resource of ImagesTable."""

    images: Any

    def save(self, user_id: str, image_id: str, correction: Correction) -> Correction | None:
        """Replace the user's correction of the image and return the one it replaced (None: there was none).
        NotFoundError if there is no such image, ConflictError while it is not TAGGED (there is nothing to correct
        yet, and a FAILED file cannot become a training example)."""
        try:
            response = self.images.update_item(
                Key={"user_id": user_id, "image_id": image_id},
                UpdateExpression="SET corrections = :correction",
                ConditionExpression="attribute_exists(image_id) AND #status = :tagged",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":correction": correction.to_item(), ":tagged": ImageStatus.TAGGED.value},
                ReturnValues="UPDATED_OLD",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            item = self.images.get_item(Key={"user_id": user_id, "image_id": image_id}, ConsistentRead=True).get("Item")
            if item is None:
                raise NotFoundError(f"image {image_id} not found") from exc
            raise ConflictError(f"image {image_id} is {item['status']}; only TAGGED images can be corrected") from exc
        old = response.get("Attributes", {}).get("corrections")
        return Correction.from_item(old) if old else None

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
