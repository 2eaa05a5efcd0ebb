"""Local data survives a restart: snapshot, a fresh (empty) moto, restore, and PENDING images re-queued."""

import json

import boto3
import pytest
from moto import mock_aws

from imagetagger_local.cfn import create_stack_resources, load_template
from imagetagger_local.config import REPO_ROOT
from imagetagger_local.persistence import SNAPSHOT_MAX_SHARE, StateStore, next_snapshot_wait

TEMPLATE = REPO_ROOT / "template.yaml"
pytestmark = pytest.mark.skipif(not TEMPLATE.exists(), reason="template.yaml not written yet")


def fresh_stack(state_dir):
    """A new, empty moto world with the template's resources, as at every start of the local stack."""
    resources = create_stack_resources("imagetagger-local", template_path=TEMPLATE, region="us-east-1")
    s3, dynamodb = boto3.client("s3", region_name="us-east-1"), boto3.client("dynamodb", region_name="us-east-1")
    store = StateStore.for_stack(state_dir, s3, dynamodb, load_template(TEMPLATE), resources.physical_ids)
    return resources, store, s3, dynamodb


def image_item(user, image_id, status):
    return {"user_id": {"S": user}, "image_id": {"S": image_id}, "status": {"S": status}}


def object_created_bodies(resources):
    sqs = boto3.client("sqs", region_name="us-east-1")
    bodies = []
    while messages := sqs.receive_message(QueueUrl=resources.queue_url, MaxNumberOfMessages=10).get("Messages"):
        for message in messages:
            sqs.delete_message(QueueUrl=resources.queue_url, ReceiptHandle=message["ReceiptHandle"])
            body = json.loads(message["Body"])
            bodies.extend(r for r in body.get("Records", []) if r["eventName"].startswith("ObjectCreated"))
    return bodies


def test_records_and_objects_come_back_after_a_restart(tmp_path):
    with mock_aws():
        resources, store, s3, dynamodb = fresh_stack(tmp_path)
        images = resources.physical_ids["ImagesTable"]
        dynamodb.put_item(TableName=images, Item=image_item("alice", "img-1", "TAGGED"))
        s3.put_object(Bucket=resources.bucket, Key="uploads/alice/img-1", Body=b"jpeg bytes", ContentType="image/jpeg")
        store.snapshot()
        # A deleted object must not come back from an older snapshot.
        s3.put_object(Bucket=resources.bucket, Key="uploads/alice/gone", Body=b"x")
        store.snapshot()
        s3.delete_object(Bucket=resources.bucket, Key="uploads/alice/gone")
        store.snapshot()

    with mock_aws():  # the restart: moto starts empty
        resources, store, s3, dynamodb = fresh_stack(tmp_path)
        object_created_bodies(resources)  # drop S3's test event from creating the bucket
        assert store.restore() == {"items": 1, "objects": 1}
        item = dynamodb.get_item(
            TableName=resources.physical_ids["ImagesTable"], Key={"user_id": {"S": "alice"}, "image_id": {"S": "img-1"}}
        )["Item"]
        assert item["status"]["S"] == "TAGGED"
        restored = s3.get_object(Bucket=resources.bucket, Key="uploads/alice/img-1")
        assert restored["Body"].read() == b"jpeg bytes" and restored["ContentType"] == "image/jpeg"
        assert [o["Key"] for o in s3.list_objects_v2(Bucket=resources.bucket)["Contents"]] == ["uploads/alice/img-1"]
        # Restoring is not uploading: no processing is triggered, and new uploads still notify the queue.
        assert object_created_bodies(resources) == []
        s3.put_object(Bucket=resources.bucket, Key="uploads/alice/new", Body=b"y")
        assert len(object_created_bodies(resources)) == 1


def test_binary_attributes_survive_a_restart(tmp_path):
    # An image's embedding is a DynamoDB Binary: the client reads it as bytes, which a JSON snapshot must not choke on
    # (a snapshot that failed kept the previous one, so tagged images came back PENDING after a restart).
    embedding = bytes(range(256))
    item = {
        **image_item("alice", "img-1", "TAGGED"),
        "embedding": {"B": embedding},
        "nested": {"M": {"raw": {"B": b"\x00\xff"}, "list": {"L": [{"B": b"\x01"}, {"S": "text"}]}}},
        "set": {"BS": [b"\x02", b"\x03"]},
    }
    with mock_aws():
        resources, store, s3, dynamodb = fresh_stack(tmp_path)
        dynamodb.put_item(TableName=resources.physical_ids["ImagesTable"], Item=item)
        store.snapshot()

    with mock_aws():
        resources, store, s3, dynamodb = fresh_stack(tmp_path)
        assert store.restore()["items"] == 1
        restored = dynamodb.get_item(
            TableName=resources.physical_ids["ImagesTable"], Key={"user_id": {"S": "alice"}, "image_id": {"S": "img-1"}}
        )["Item"]
        assert restored["embedding"]["B"] == embedding
        assert restored["nested"] == item["nested"] and sorted(restored["set"]["BS"]) == [b"\x02", b"\x03"]


def test_pending_images_whose_upload_exists_are_requeued(tmp_path):
    with mock_aws():
        resources, store, s3, dynamodb = fresh_stack(tmp_path)
        images = resources.physical_ids["ImagesTable"]
        for image_id, status in [("uploaded", "PENDING"), ("never-uploaded", "PENDING"), ("done", "TAGGED")]:
            dynamodb.put_item(TableName=images, Item=image_item("alice", image_id, status))
        store.snapshot()
        s3.put_object(Bucket=resources.bucket, Key="uploads/alice/uploaded", Body=b"jpeg")
        s3.put_object(Bucket=resources.bucket, Key="uploads/alice/done", Body=b"jpeg")
        object_created_bodies(resources)  # the original events are lost with the in-memory queue

        assert (
            store.reconcile(images, resources.bucket, boto3.client("sqs", region_name="us-east-1"), resources.queue_url)
            == 1
        )
        (record,) = object_created_bodies(resources)
        assert record["s3"]["bucket"]["name"] == resources.bucket
        assert record["s3"]["object"]["key"] == "uploads/alice/uploaded" and record["s3"]["object"]["size"] == 4


def test_idempotency_records_are_not_restored_so_a_requeued_pending_image_is_tagged_again(tmp_path):
    # A snapshot can see the image still PENDING and, a moment later, its idempotency record COMPLETED; restoring
    # that record would turn reconcile's re-queued event into a no-op and leave the image PENDING for ever.
    with mock_aws():
        resources, store, _, dynamodb = fresh_stack(tmp_path)
        table = resources.physical_ids["IdempotencyTable"]
        dynamodb.put_item(TableName=table, Item={"id": {"S": "a"}, "status": {"S": "INPROGRESS"}})
        dynamodb.put_item(TableName=table, Item={"id": {"S": "b"}, "status": {"S": "COMPLETED"}})
        dynamodb.put_item(TableName=resources.physical_ids["ImagesTable"], Item=image_item("alice", "i1", "PENDING"))
        store.snapshot()
    with mock_aws():
        resources, store, _, dynamodb = fresh_stack(tmp_path)
        assert store.restore()["items"] == 1
        assert dynamodb.scan(TableName=resources.physical_ids["IdempotencyTable"])["Items"] == []
        assert dynamodb.scan(TableName=resources.physical_ids["ImagesTable"])["Items"] == [
            image_item("alice", "i1", "PENDING")
        ]


def test_periodic_snapshots_keep_the_configured_interval_while_they_are_cheap():
    assert next_snapshot_wait(interval_s=10, last_snapshot_s=0.2) == 10


def test_periodic_snapshots_of_a_big_state_are_spaced_out_to_leave_the_cpu_to_the_stack():
    wait = next_snapshot_wait(interval_s=2, last_snapshot_s=3)
    assert wait > 2
    assert 3 / (3 + wait) == pytest.approx(SNAPSHOT_MAX_SHARE)
