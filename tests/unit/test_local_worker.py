"""The SQS worker behaves like Lambda's SQS event source with ReportBatchItemFailures."""

import json
import textwrap

import boto3
import pytest
from moto import mock_aws

from imagetagger_local.lambda_runtime import LocalFunction
from imagetagger_local.template import FunctionSpec
from imagetagger_local.worker import QueueWorker, failed_message_ids, sqs_event

# Fails every record whose body says so; remembers what it saw in a file, since it runs in another module.
HANDLER = """
import json
from pathlib import Path

SEEN = Path(__file__).with_name("seen.jsonl")

def lambda_handler(event, context):
    failures = []
    for record in event["Records"]:
        with SEEN.open("a") as seen:
            seen.write(json.dumps({"body": record["body"], "receives": record["attributes"]["ApproximateReceiveCount"],
                                   "source": record["eventSource"]}) + "\\n")
        if json.loads(record["body"]).get("fail"):
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}
"""


def test_only_reported_failures_are_retried():
    assert failed_message_ids({"batchItemFailures": [{"itemIdentifier": "b"}]}, ["a", "b"], True) == {"b"}
    assert failed_message_ids({"batchItemFailures": []}, ["a", "b"], True) == set()
    assert failed_message_ids(None, ["a"], True) == set()


def test_an_invalid_failure_report_retries_the_whole_batch():
    assert failed_message_ids({"batchItemFailures": [{"itemIdentifier": "zzz"}]}, ["a", "b"], True) == {"a", "b"}
    assert failed_message_ids({"batchItemFailures": [{"itemIdentifier": ""}]}, ["a"], True) == {"a"}


def test_sqs_events_have_lambdas_record_shape():
    message = {
        "MessageId": "m1",
        "ReceiptHandle": "r1",
        "Body": "{}",
        "MD5OfBody": "x",
        "Attributes": {"ApproximateReceiveCount": "2"},
        "MessageAttributes": {"kind": {"StringValue": "upload", "DataType": "String"}},
    }
    (record,) = sqs_event([message], "arn:aws:sqs:us-east-1:123456789012:q")["Records"]
    assert record["messageId"] == "m1" and record["eventSource"] == "aws:sqs"
    assert record["attributes"]["ApproximateReceiveCount"] == "2"
    assert record["messageAttributes"]["kind"]["stringValue"] == "upload"


@pytest.fixture
def queues():
    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        dlq_url = sqs.create_queue(QueueName="dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2})
        url = sqs.create_queue(QueueName="uploads", Attributes={"RedrivePolicy": redrive})["QueueUrl"]
        yield sqs, url, dlq_url


def test_successes_are_deleted_and_failures_end_in_the_dead_letter_queue(tmp_path, queues):
    sqs, url, dlq_url = queues
    (tmp_path / "app.py").write_text(textwrap.dedent(HANDLER))
    function = LocalFunction(FunctionSpec("Process", tmp_path, "app.lambda_handler", 60, 1024), {})
    worker = QueueWorker(
        sqs, url, "arn:aws:sqs:us-east-1:123456789012:uploads", function, 10, True, max_retry_delay_s=0
    )
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"fail": False, "n": 1}))
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"fail": True, "n": 2}))

    for _ in range(6):  # receive, retry, then moto moves the message to the DLQ on the next receive
        worker.poll_once()

    seen = [json.loads(line) for line in (tmp_path / "seen.jsonl").read_text().splitlines()]
    assert [s["receives"] for s in seen if json.loads(s["body"])["n"] == 2] == ["1", "2"]
    assert [s for s in seen if json.loads(s["body"])["n"] == 1] and all(s["source"] == "aws:sqs" for s in seen)
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert (
        attributes["ApproximateNumberOfMessages"] == "0" and attributes["ApproximateNumberOfMessagesNotVisible"] == "0"
    )
    (dead,) = sqs.receive_message(QueueUrl=dlq_url)["Messages"]
    assert json.loads(dead["Body"])["n"] == 2
