"""Debounced training: every change of a label's examples sends one delayed message naming the label's new revision;
the label training function trains only when that is still the label's revision, so a burst of corrections trains
once, on the last of them, a few seconds after it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from botocore.exceptions import BotoCoreError, ClientError

from imagetagger.errors import QueueUnavailableError

# Seconds a training request waits in the queue: corrections made within this time of each other train once.
DEBOUNCE_S = 3
Action = Literal["train", "delete"]


@dataclass(frozen=True)
class LabelRequest:
    action: Action
    user_id: str
    name: str
    revision: int = 0

    def to_body(self) -> str:
        return json.dumps(
            {"action": self.action, "user_id": self.user_id, "name": self.name, "revision": self.revision}
        )

    @classmethod
    def from_body(cls, body: str) -> LabelRequest:
        """ValueError (or KeyError/TypeError) for a message that is not one of ours."""
        raw = json.loads(body)
        action = raw["action"]
        if action not in ("train", "delete"):
            raise ValueError(f"unknown action {action!r}")
        return cls(action=action, user_id=str(raw["user_id"]), name=str(raw["name"]), revision=int(raw["revision"]))


@dataclass
class LabelRequests:
    """`sqs` is a boto3 SQS client, `queue_url` LabelTrainingQueue's URL (empty: nothing is sent, e.g. in a unit test
    that has no queue)."""

    sqs: Any
    queue_url: str

    def send(self, request: LabelRequest, delay_s: int = DEBOUNCE_S) -> None:
        if not self.queue_url:
            return
        try:
            self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=request.to_body(), DelaySeconds=delay_s)
        except (ClientError, BotoCoreError) as exc:
            raise QueueUnavailableError("the label training queue is unavailable; try again shortly") from exc
