"""The model registry (ModelsTable, PK model_version): every version the training workflow produced, its metrics, and
which one serves. GET /models reads it; the workflow's record step writes it; the re-tag job asks it for the serving
version.

Status of a version: SERVING (exactly one, once anything was promoted), RETIRED (served before), REFUSED (trained but
not better than the serving one; the reason says why), FAILED (the run broke; the reason says where).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from boto3.dynamodb.conditions import Attr

from imagetagger.errors import NotFoundError


class ModelStatus(StrEnum):
    SERVING = "SERVING"
    RETIRED = "RETIRED"
    REFUSED = "REFUSED"
    FAILED = "FAILED"


@dataclass(frozen=True)
class ModelVersion:
    model_version: str
    status: ModelStatus
    metrics: dict[str, Any] = field(default_factory=dict)
    artifact: str = ""
    reason: str = ""
    run_id: str = ""
    created_at: str = ""
    updated_at: str = ""

    def to_item(self) -> dict[str, Any]:
        item = {
            "model_version": self.model_version,
            "status": self.status.value,
            # DynamoDB wants Decimal, never float: round-trip through JSON text keeps 61.23 exactly 61.23.
            "metrics": json.loads(json.dumps(self.metrics), parse_float=Decimal),
            "artifact": self.artifact,
            "reason": self.reason,
            "run_id": self.run_id,
            "created_at": self.created_at or _now_iso(),
            "updated_at": _now_iso(),
        }
        return item

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> ModelVersion:
        return cls(
            model_version=item["model_version"],
            status=ModelStatus(item["status"]),
            metrics=_plain(item.get("metrics", {})),
            artifact=item.get("artifact", ""),
            reason=item.get("reason", ""),
            run_id=item.get("run_id", ""),
            created_at=item.get("created_at", ""),
            updated_at=item.get("updated_at", ""),
        )

    def to_api(self) -> dict[str, Any]:
        return {
            "model_version": self.model_version,
            "status": self.status.value,
            "serving": self.status == ModelStatus.SERVING,
            "metrics": self.metrics,
            "reason": self.reason or None,
            "run_id": self.run_id or None,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


@dataclass
class ModelRegistry:
    """`table` is the boto3 Table resource of ModelsTable."""

    table: Any

    @classmethod
    def from_name(cls, dynamodb: Any, table_name: str) -> ModelRegistry:
        return cls(dynamodb.Table(table_name))

    def record(self, version: ModelVersion) -> None:
        """Write a non-serving outcome (REFUSED, FAILED, RETIRED); a SERVING version changes only through promote()."""
        if version.status == ModelStatus.SERVING:
            raise ValueError("use promote() to make a version serve")
        self.table.put_item(
            Item=version.to_item(),
            # Never demote the serving version by recording a late outcome under its name.
            ConditionExpression=Attr("status").not_exists() | Attr("status").ne(ModelStatus.SERVING.value),
        )

    def promote(self, version: ModelVersion) -> None:
        """Make `version` the serving one and retire the previous one, in one transaction."""
        previous = self.serving()
        item = {**version.to_item(), "status": ModelStatus.SERVING.value}
        operations: list[dict[str, Any]] = [{"Put": {"TableName": self.table.name, "Item": item}}]
        if previous is not None and previous.model_version != version.model_version:
            operations.append(
                {
                    "Update": {
                        "TableName": self.table.name,
                        "Key": {"model_version": previous.model_version},
                        "UpdateExpression": "SET #status = :retired, updated_at = :now",
                        "ExpressionAttributeNames": {"#status": "status"},
                        "ExpressionAttributeValues": {":retired": ModelStatus.RETIRED.value, ":now": _now_iso()},
                    }
                }
            )
        self.table.meta.client.transact_write_items(TransactItems=operations)

    def get(self, model_version: str) -> ModelVersion:
        item = self.table.get_item(Key={"model_version": model_version}, ConsistentRead=True).get("Item")
        if item is None:
            raise NotFoundError(f"model version {model_version} not found")
        return ModelVersion.from_item(item)

    def list_versions(self) -> list[ModelVersion]:
        """Every version, newest first (a handful a month: one Scan page is plenty, but pages are followed)."""
        items: list[dict[str, Any]] = []
        scan: dict[str, Any] = {}
        while True:
            response = self.table.scan(**scan)
            items.extend(response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                break
            scan["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        versions = [ModelVersion.from_item(item) for item in items]
        return sorted(versions, key=lambda v: (v.created_at, v.model_version), reverse=True)

    def serving(self) -> ModelVersion | None:
        serving = [v for v in self.list_versions() if v.status == ModelStatus.SERVING]
        return serving[0] if serving else None


def _plain(value: Any) -> Any:
    """DynamoDB's Decimals back to int/float, recursively."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
