"""Model versions on stored tags, and the re-tag job's item logic (the bulk Distributed Map's Lambda) against moto."""

import boto3
import pytest
from boto3.dynamodb.conditions import Key
from handler_support import EVENT_USER, REGION, jpeg_bytes

from imagetagger import services
from imagetagger.processing import ImageProcessor
from imagetagger_workflow.bulk import retag_object


@pytest.fixture
def tagged_by_v1(upload_image, deliver, model):
    model.model_version = "v1"
    model.tags = [{"name": "dog", "confidence": 0.9, "parents": ["animal"]}]
    image_id = upload_image(jpeg_bytes())
    assert deliver()["batchItemFailures"] == []
    return image_id


def _tag_rows(stack, image_id):
    table = boto3.resource("dynamodb", region_name=REGION).Table(stack.physical_ids["TagsTable"])
    rows = table.query(KeyConditionExpression=Key("user_id").eq(EVENT_USER))["Items"]
    return [row for row in rows if row["image_id"] == image_id]


def _retag(stack, image_id, serving, force=False):
    built = services.services()
    processor = ImageProcessor(built.settings, built.s3, built.repo, built.endpoint)
    item = {"bucket": stack.bucket, "key": f"uploads/{EVENT_USER}/{image_id}", "etag": '"abc"', "size": 100}
    return retag_object(processor, built.repo, item, serving, force=force)


def test_every_stored_tag_records_its_model_version(stack, tagged_by_v1):
    rows = _tag_rows(stack, tagged_by_v1)
    assert [(row["tag"], row["model_version"]) for row in rows] == [("dog", "v1")]


def test_retag_reruns_an_image_tagged_by_an_older_version(stack, tagged_by_v1, model):
    # GIVEN v2 now serves and sees a cat where v1 saw a dog
    model.model_version = "v2"
    model.tags = [{"name": "cat", "confidence": 0.8, "parents": ["animal"]}]
    # WHEN the re-tag job reaches the image
    result = _retag(stack, tagged_by_v1, serving="v2")
    # THEN the image carries v2's tags, and its old tag rows are gone
    assert result["status"] == "TAGGED"
    record = services.services().repo.get(EVENT_USER, tagged_by_v1)
    assert record.model_version == "v2" and [t["name"] for t in record.tags] == ["cat"]
    assert [(row["tag"], row["model_version"]) for row in _tag_rows(stack, tagged_by_v1)] == [("cat", "v2")]


def test_retag_skips_images_the_serving_version_tagged_unless_forced(stack, tagged_by_v1, model):
    calls = len(model.requests)
    assert _retag(stack, tagged_by_v1, serving="v1")["status"] == "SKIPPED"
    assert len(model.requests) == calls  # the endpoint was not asked
    assert _retag(stack, tagged_by_v1, serving="v1", force=True)["status"] == "TAGGED"


def test_retag_never_deletes_objects_without_a_record(stack):
    s3 = boto3.client("s3", region_name=REGION)
    s3.put_object(Bucket=stack.bucket, Key=f"uploads/{EVENT_USER}/{'e' * 32}", Body=jpeg_bytes())
    assert _retag(stack, "e" * 32, serving="v2")["status"] == "SKIPPED"
    assert s3.head_object(Bucket=stack.bucket, Key=f"uploads/{EVENT_USER}/{'e' * 32}")["ContentLength"] > 0
