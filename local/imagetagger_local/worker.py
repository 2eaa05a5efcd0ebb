"""The SQS event source mapping: long-poll the queue, invoke the function with real SQS events, delete successes.

Like Lambda's pollers, `concurrency` batches are processed at once (each invocation in its own execution environment,
see lambda_runtime), so one slow batch does not hold up the queue, and a batch is what one receive returns (up to the
batch size; with a batching window, receives go on until the batch is full or the window has passed).

Like Lambda, a batch whose handler raises is retried whole, and with ReportBatchItemFailures only the listed
messages are retried. Lambda leaves a failed message invisible for the queue's visibility timeout (six minutes here);
locally it becomes visible again after a short exponential backoff, so retries and the dead-letter redrive (done by
moto after maxReceiveCount receives) happen in seconds.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from imagetagger_local.config import REGION
from imagetagger_local.lambda_runtime import LocalFunction

logger = logging.getLogger(__name__)
POLL_WAIT_S = 1  # short long-polls keep Ctrl-C responsive
SQS_MAX_RECEIVE = 10  # messages one ReceiveMessage returns at most
STOP_WAIT_S = 15


def _lambda_message_attributes(attributes: dict[str, Any]) -> dict[str, Any]:
    return {
        name: {
            "stringValue": value.get("StringValue"),
            "binaryValue": value.get("BinaryValue"),
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": value["DataType"],
        }
        for name, value in attributes.items()
    }


def sqs_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """The event Lambda's SQS event source passes to a function for these received messages."""
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": message.get("Attributes", {}),
                "messageAttributes": _lambda_message_attributes(message.get("MessageAttributes", {})),
                "md5OfBody": message["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": REGION,
            }
            for message in messages
        ]
    }


def failed_message_ids(result: Any, message_ids: list[str], partial_batch_failures: bool) -> set[str]:
    """Which messages to retry, given the handler's return value (Lambda's rules for ReportBatchItemFailures)."""
    if not partial_batch_failures:
        return set()
    failures = (result or {}).get("batchItemFailures", []) if isinstance(result, dict) else []
    failed = {str(item.get("itemIdentifier") or "") for item in failures if isinstance(item, dict)}
    if "" in failed or not failed <= set(message_ids):
        return set(message_ids)  # an invalid report fails the whole batch, as in Lambda
    return failed


class QueueWorker:
    def __init__(
        self,
        sqs: Any,
        queue_url: str,
        queue_arn: str,
        function: LocalFunction,
        batch_size: int,
        partial_batch_failures: bool,
        max_retry_delay_s: int,
        concurrency: int = 1,
        batching_window_s: float = 0.0,
    ) -> None:
        self._sqs = sqs
        self._queue_url = queue_url
        self._queue_arn = queue_arn
        self._function = function
        self._batch_size = batch_size
        self._partial = partial_batch_failures
        self._max_retry_delay_s = max_retry_delay_s
        self._batching_window_s = batching_window_s
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, name=f"worker-{function.spec.logical_id}-{index}", daemon=True)
            for index in range(max(1, concurrency))
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        """Let the batch in progress finish, within STOP_WAIT_S. A batch still running after that is safe to leave:
        its images stay PENDING in the final snapshot and the next start re-queues them (persistence.reconcile)."""
        self._stop.set()
        deadline = time.monotonic() + POLL_WAIT_S + STOP_WAIT_S
        for thread in self._threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        if any(thread.is_alive() for thread in self._threads):
            logger.warning(
                "a batch was still running after %d s; its images are re-queued at the next start", STOP_WAIT_S
            )

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception:
                # moto restarting or a bug in one batch must not end the worker; the messages come back by themselves.
                logger.exception("queue worker: polling failed")
                self._stop.wait(1)

    def _receive(self, count: int, wait_s: int) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = self._sqs.receive_message(
            QueueUrl=self._queue_url,
            MaxNumberOfMessages=min(count, SQS_MAX_RECEIVE),
            WaitTimeSeconds=wait_s,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        return messages

    def receive_batch(self) -> list[dict[str, Any]]:
        """One batch, as Lambda assembles it: what a long poll returns, topped up during the batching window."""
        messages = self._receive(self._batch_size, POLL_WAIT_S)
        window_ends = time.monotonic() + self._batching_window_s
        while messages and len(messages) < self._batch_size and time.monotonic() < window_ends:
            more = self._receive(self._batch_size - len(messages), 0)
            if not more:
                self._stop.wait(min(0.05, max(0.0, window_ends - time.monotonic())))
            messages += more
        return messages

    def poll_once(self) -> int:
        """Receive one batch and process it; return how many messages were received."""
        messages = self.receive_batch()
        if not messages:
            return 0
        ids = [m["MessageId"] for m in messages]
        try:
            result = self._function.invoke(sqs_event(messages, self._queue_arn))
            failed = failed_message_ids(result, ids, self._partial)
        except Exception:
            logger.exception("function %s raised; the whole batch is retried", self._function.spec.logical_id)
            failed = set(ids)
        for message in messages:
            if message["MessageId"] in failed:
                self._retry_later(message)
        self._delete([m for m in messages if m["MessageId"] not in failed])
        logger.info("processed %d messages, %d to retry", len(messages), len(failed))
        return len(messages)

    def _delete(self, messages: list[dict[str, Any]]) -> None:
        """One DeleteMessageBatch for the batch's successes, as Lambda's event source mapping does: each moto call
        costs the in-process stack a few milliseconds of CPU."""
        if not messages:
            return
        entries = [{"Id": str(index), "ReceiptHandle": m["ReceiptHandle"]} for index, m in enumerate(messages)]
        response = self._sqs.delete_message_batch(QueueUrl=self._queue_url, Entries=entries)
        for failure in response.get("Failed", []):
            # Not deleted: the message comes back after its visibility timeout and is processed idempotently.
            logger.warning("could not delete message %s: %s", failure.get("Id"), failure.get("Message"))

    def _retry_later(self, message: dict[str, Any]) -> None:
        receives = int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
        delay = min(2 ** (receives - 1), self._max_retry_delay_s)
        self._sqs.change_message_visibility(
            QueueUrl=self._queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=delay
        )
