"""The local stack's cheaper moto transactions keep DynamoDB's all-or-nothing behaviour."""

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from imagetagger_local import moto_speedups


@pytest.fixture
def dynamodb():
    moto_speedups.install()
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName="images",
            KeySchema=[
                {"AttributeName": "user_id", "KeyType": "HASH"},
                {"AttributeName": "image_id", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "user_id", "AttributeType": "S"},
                {"AttributeName": "image_id", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        client.create_table(
            TableName="tags",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        client.put_item(
            TableName="images", Item={"user_id": {"S": "u"}, "image_id": {"S": "a"}, "status": {"S": "PENDING"}}
        )
        yield client


def tag_images(client, image_id):
    client.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": "tags", "Item": {"pk": {"S": f"u#dog#{image_id}"}}}},
            {
                "Update": {
                    "TableName": "images",
                    "Key": {"user_id": {"S": "u"}, "image_id": {"S": image_id}},
                    "UpdateExpression": "SET #s = :tagged",
                    "ConditionExpression": "attribute_exists(image_id)",
                    "ExpressionAttributeNames": {"#s": "status"},
                    "ExpressionAttributeValues": {":tagged": {"S": "TAGGED"}},
                }
            },
        ]
    )


def test_a_transaction_whose_conditions_hold_writes_every_item(dynamodb):
    tag_images(dynamodb, "a")
    image = dynamodb.get_item(TableName="images", Key={"user_id": {"S": "u"}, "image_id": {"S": "a"}})["Item"]
    assert image["status"] == {"S": "TAGGED"}
    assert "Item" in dynamodb.get_item(TableName="tags", Key={"pk": {"S": "u#dog#a"}})


def test_a_cancelled_transaction_leaves_no_item_written_or_changed(dynamodb):
    dynamodb.put_item(TableName="tags", Item={"pk": {"S": "u#dog#gone"}, "confidence": {"N": "0.5"}})
    with pytest.raises(ClientError) as raised:
        # The tag row is written first, then the image's condition fails (it was deleted): both must be undone.
        tag_images(dynamodb, "gone")
    assert raised.value.response["Error"]["Code"] == "TransactionCanceledException"
    tag_row = dynamodb.get_item(TableName="tags", Key={"pk": {"S": "u#dog#gone"}})["Item"]
    assert tag_row == {"pk": {"S": "u#dog#gone"}, "confidence": {"N": "0.5"}}
    assert "Item" not in dynamodb.get_item(TableName="images", Key={"user_id": {"S": "u"}, "image_id": {"S": "gone"}})


def test_a_cancelled_transaction_removes_items_it_created(dynamodb):
    with pytest.raises(ClientError):
        dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": "tags", "Item": {"pk": {"S": "new"}}}},
                {
                    "ConditionCheck": {
                        "TableName": "images",
                        "Key": {"user_id": {"S": "u"}, "image_id": {"S": "a"}},
                        "ConditionExpression": "#s = :tagged",
                        "ExpressionAttributeNames": {"#s": "status"},
                        "ExpressionAttributeValues": {":tagged": {"S": "TAGGED"}},
                    }
                },
            ]
        )
    assert "Item" not in dynamodb.get_item(TableName="tags", Key={"pk": {"S": "new"}})


def test_sqs_still_drops_messages_past_their_retention_period(monkeypatch):
    moto_speedups.install()
    from moto.sqs import models

    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName="q", Attributes={"MessageRetentionPeriod": "60"})["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody="kept")
        assert [m["Body"] for m in sqs.receive_message(QueueUrl=url)["Messages"]] == ["kept"]
        sqs.send_message(QueueUrl=url, MessageBody="expired")
        now = models.unix_time()
        monkeypatch.setattr(models, "unix_time", lambda: now + 120)  # past the 60 s retention
        assert "Messages" not in sqs.receive_message(QueueUrl=url, VisibilityTimeout=0)


def test_moto_routes_requests_with_the_cached_module_list():
    moto_speedups.install()
    from moto import backends

    assert "sqs" in backends.list_of_moto_modules() and "dynamodb" in backends.list_of_moto_modules()


# ------------------------------------------------------------------- the patches still hook into moto as it is now
# moto's internals are not an API: these fail when an upgrade moves what the patches replace, instead of the local
# stack silently losing its speed-ups (or, worse, its rollback).


def test_moto_still_backs_up_transaction_tables_through_the_patched_copy(dynamodb, monkeypatch):
    from moto.dynamodb import models
    from moto.dynamodb.models.table import Table

    assert isinstance(models.copy, moto_speedups._TableCopySkippingCopy), "moto.dynamodb.models no longer uses `copy`"
    skipped = []
    original = moto_speedups._TableCopySkippingCopy.deepcopy

    def counting(self, value, memo=None):
        copied = original(self, value, memo)
        if isinstance(value, Table):
            skipped.append(copied is value)
        return copied

    monkeypatch.setattr(moto_speedups._TableCopySkippingCopy, "deepcopy", counting)
    tag_images(dynamodb, "a")
    # moto backed up both tables the transaction touched, and neither was deep-copied
    assert skipped == [True, True], "moto's TransactWriteItems no longer deep-copies tables through models.copy"


def test_the_replaced_sqs_and_routing_functions_are_the_ones_moto_calls(monkeypatch):
    moto_speedups.install()
    from moto import backends
    from moto.sqs import models

    assert models.SQSBackend.is_message_valid_based_on_retention_period.__module__ == moto_speedups.__name__
    assert hasattr(backends.list_of_moto_modules, "cache_info"), "moto.backends.list_of_moto_modules is gone"
    calls = []
    patched = models.SQSBackend.is_message_valid_based_on_retention_period
    monkeypatch.setattr(
        models.SQSBackend,
        "is_message_valid_based_on_retention_period",
        lambda self, queue_name, message: calls.append(queue_name) or patched(self, queue_name, message),
    )
    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName="q")["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody="m")
        assert sqs.receive_message(QueueUrl=url)["Messages"]
    assert calls == ["q"], "moto's ReceiveMessage no longer checks retention through the replaced method"
