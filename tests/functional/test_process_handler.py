"""functions/process/app.py fed the SQS messages that moto's S3 notification really produced."""

import io
import json

import boto3
import numpy as np
from botocore.exceptions import ClientError, EndpointConnectionError
from handler_support import DOG_BOX, EVENT_USER, REGION, http_event, jpeg_bytes, load_event

from imagetagger.modelspec import SERVING_INPUT_SIZE


def _image(api, lambda_context, image_id, user=None):
    response = api.lambda_handler(http_event("api/get_image.json", image_id=image_id, user=user), lambda_context)
    return response["statusCode"], json.loads(response["body"])


def test_uploaded_photo_is_tagged(upload_image, deliver, api, model, stack, lambda_context):
    image_id = upload_image(jpeg_bytes((640, 480)))
    assert deliver()["batchItemFailures"] == []

    status, image = _image(api, lambda_context, image_id)
    assert status == 200
    assert image["status"] == "TAGGED"
    # The endpoint's boxes reach the record and the API unchanged.
    assert image["tags"] == [
        {"name": "dog", "confidence": 0.93, "parents": ["animal"], "instances": [DOG_BOX], "source": "model"}
    ]
    assert image["model_version"] == "test-model-1"
    # The endpoint got one preprocessed image as the contract says: uint8 [1, S, S, 3] .npy (S: the model's size).
    (request,) = model.requests
    assert request["EndpointName"] == stack.environment["ENDPOINT_NAME"]
    assert request["ContentType"] == "application/x-npy"
    batch = np.load(io.BytesIO(request["Body"]), allow_pickle=False)
    assert batch.dtype == np.uint8 and batch.shape == (1, SERVING_INPUT_SIZE, SERVING_INPUT_SIZE, 3)


def test_tagged_image_is_found_by_tag(upload_image, deliver, api, model, lambda_context):
    image_id = upload_image(jpeg_bytes())
    deliver()
    response = api.lambda_handler(http_event("api/search_images.json", query={"tag": "dog"}), lambda_context)
    assert [item["image_id"] for item in json.loads(response["body"])["items"]] == [image_id]


def test_a_file_that_is_not_an_image_fails_with_a_reason_and_is_not_retried(
    upload_image, deliver, api, model, lambda_context
):
    image_id = upload_image(b"<html><body>not a photo</body></html>", content_type="image/jpeg")
    assert deliver()["batchItemFailures"] == []
    _, image = _image(api, lambda_context, image_id)
    assert image["status"] == "FAILED"
    assert "not a supported image" in image["error"]
    assert model.requests == []


def test_endpoint_outage_is_retried_then_failed_with_a_retriable_reason(
    upload_image, deliver, api, model, stack, lambda_context
):
    model.error = EndpointConnectionError(endpoint_url="https://runtime.sagemaker.us-east-1.amazonaws.com")
    image_id = upload_image(jpeg_bytes())
    max_receives = int(stack.environment["MAX_RECEIVES"])

    for _ in range(max_receives - 1):
        assert len(deliver()["batchItemFailures"]) == 1  # SQS will deliver it again
        assert _image(api, lambda_context, image_id)[1]["status"] == "PENDING"

    assert len(deliver()["batchItemFailures"]) == 1  # the last receive: off to the dead-letter queue next
    _, image = _image(api, lambda_context, image_id)
    assert image["status"] == "FAILED"
    assert "retry later" in image["error"]

    sqs = boto3.client("sqs", region_name=REGION)
    sqs.receive_message(QueueUrl=stack.queue_url, VisibilityTimeout=0)  # the receive past maxReceiveCount redrives
    dead = sqs.receive_message(QueueUrl=stack.dead_letter_queue_url).get("Messages", [])
    assert len(dead) == 1

    # Redriven once the endpoint is back, the same message tags the image.
    model.error = None
    sqs.send_message(QueueUrl=stack.queue_url, MessageBody=dead[0]["Body"])
    assert deliver()["batchItemFailures"] == []
    assert _image(api, lambda_context, image_id)[1]["status"] == "TAGGED"


def test_model_rejecting_the_input_fails_the_image_without_retry(upload_image, deliver, api, model, lambda_context):
    model.error = ClientError(
        {
            "Error": {"Code": "ModelError", "Message": "Received client error (400)"},
            "OriginalStatusCode": 400,
            "OriginalMessage": json.dumps({"message": "the image could not be decoded"}),
        },
        "InvokeEndpoint",
    )
    image_id = upload_image(jpeg_bytes())
    assert deliver()["batchItemFailures"] == []
    _, image = _image(api, lambda_context, image_id)
    assert image["status"] == "FAILED" and "could not be decoded" in image["error"]


def test_duplicate_notifications_tag_once(upload_image, deliver, process, model, stack, lambda_context):
    upload_image(jpeg_bytes())
    sqs = boto3.client("sqs", region_name=REGION)
    message = sqs.receive_message(QueueUrl=stack.queue_url, VisibilityTimeout=0)["Messages"][0]
    sqs.send_message(QueueUrl=stack.queue_url, MessageBody=message["Body"])  # S3 delivers at least once
    while sqs.receive_message(QueueUrl=stack.queue_url, VisibilityTimeout=0).get("Messages"):
        deliver()
    assert len(model.requests) == 1


def test_image_deleted_before_processing_is_not_resurrected(upload_image, deliver, api, model, stack, lambda_context):
    image_id = upload_image(jpeg_bytes())
    # The record goes, the object stays (as if the delete call was cut short after the DynamoDB step).
    boto3.resource("dynamodb", region_name=REGION).Table(stack.physical_ids["ImagesTable"]).delete_item(
        Key={"user_id": EVENT_USER, "image_id": image_id}
    )
    assert deliver()["batchItemFailures"] == []
    assert _image(api, lambda_context, image_id)[0] == 404
    assert model.requests == []
    listed = boto3.client("s3", region_name=REGION).list_objects_v2(Bucket=stack.bucket, Prefix="uploads/")
    assert listed.get("KeyCount", 0) == 0  # the leftover object was removed


def test_only_the_broken_record_of_a_batch_is_retried(upload_image, process, model, stack, lambda_context):
    from handler_support import sqs_event_from_queue

    upload_image(jpeg_bytes())
    event = sqs_event_from_queue(boto3.client("sqs", region_name=REGION), stack.queue_url, stack.arns["UploadQueue"])
    broken = dict(event["Records"][0], messageId="broken-1", body="{not json")
    event["Records"].append(broken)
    response = process.lambda_handler(event, lambda_context)
    assert response["batchItemFailures"] == [{"itemIdentifier": "broken-1"}]
    assert len(model.requests) == 1


def test_s3_test_event_is_acknowledged(process, model, lambda_context):
    event = load_event("process/sqs_s3_object_created.json")
    event["Records"][0]["body"] = json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "b"})
    assert process.lambda_handler(event, lambda_context)["batchItemFailures"] == []
    assert model.requests == []


def test_the_committed_event_tags_its_object(process, api, model, stack, lambda_context):
    # GIVEN the image the committed event names, recorded as PENDING, and its object in the bucket
    event = load_event("process/sqs_s3_object_created.json")
    s3_event = json.loads(event["Records"][0]["body"])
    s3_object = s3_event["Records"][0]["s3"]
    _, user_id, image_id = s3_object["object"]["key"].split("/")
    boto3.resource("dynamodb", region_name=REGION).Table(stack.physical_ids["ImagesTable"]).put_item(
        Item={"user_id": user_id, "image_id": image_id, "filename": "IMG.jpg", "status": "PENDING", "created_at": "x"}
    )
    data = jpeg_bytes()
    boto3.client("s3", region_name=REGION).put_object(Bucket=stack.bucket, Key=s3_object["object"]["key"], Body=data)
    s3_object["bucket"]["name"] = stack.bucket
    s3_object["object"]["size"] = len(data)
    event["Records"][0]["body"] = json.dumps(s3_event)
    # WHEN the process handler gets the event
    assert process.lambda_handler(event, lambda_context)["batchItemFailures"] == []
    # THEN the image is tagged
    assert _image(api, lambda_context, image_id, user=user_id)[1]["status"] == "TAGGED"


def test_a_record_without_time_for_the_model_call_goes_back_to_the_queue(
    upload_image, process, api, model, stack, lambda_context
):
    from handler_support import sqs_event_from_queue

    image_id = upload_image(jpeg_bytes())
    event = sqs_event_from_queue(boto3.client("sqs", region_name=REGION), stack.queue_url, stack.arns["UploadQueue"])
    lambda_context.remaining_ms = 3_000  # a batch that already spent its time behind a slow endpoint
    response = process.lambda_handler(event, lambda_context)
    assert response["batchItemFailures"] == [{"itemIdentifier": event["Records"][0]["messageId"]}]
    assert model.requests == []
    assert _image(api, lambda_context, image_id)[1]["status"] == "PENDING"
