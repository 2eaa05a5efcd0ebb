"""Users' own labels through the handlers against moto: PUT /images/{id}/tags with custom names, POST/GET/DELETE
/labels, the label function training from stored embeddings and tagging the user's photos, the processing function
tagging a new upload with a trained label, isolation and bad input.

The fake endpoint answers an embedding made from each photo's colour, so "red photos" are a learnable label.
"""

import base64
import io
import json
import time

import boto3
import numpy as np
import pytest
from handler_support import (
    EVENT_USER,
    REGION,
    LambdaContext,
    body_of,
    http_event,
    jpeg_bytes,
    load_handler,
    sqs_event_from_queue,
)

from imagetagger.correction_store import CorrectionStore
from imagetagger_workflow.manifest import manifest_from_corrections

OTHER_USER = "c4d5e6f7-0000-4000-8000-000000000003"
RED, DARK_RED, BLUE, GREEN = (220, 30, 30), (200, 45, 35), (30, 40, 220), (40, 200, 60)


def _colour_embedding(image: np.ndarray, rng: np.random.Generator) -> str:
    colour = image.reshape(-1, 3).mean(axis=0).astype(np.float32) / 255 - 0.5
    vector = np.concatenate([colour * 4, rng.normal(0, 0.15, 13).astype(np.float32)])
    return base64.b64encode((vector / np.linalg.norm(vector)).astype("<f2").tobytes()).decode()


@pytest.fixture
def photos(upload_image, deliver, model, monkeypatch):
    """tag(colour, user=None) -> the id of a TAGGED photo of that colour with a colour embedding."""
    answer, rng = model.invoke_endpoint, np.random.default_rng(0)

    def invoke(**request):
        batch = np.load(io.BytesIO(request["Body"]), allow_pickle=False)
        body = json.loads(answer(**request)["Body"].read())
        for prediction, image in zip(body["predictions"], batch, strict=True):
            prediction["embedding"] = _colour_embedding(image, rng)
        return {"Body": io.BytesIO(json.dumps(body).encode()), "ContentType": "application/json"}

    monkeypatch.setattr(model, "invoke_endpoint", invoke)

    def tag(colour, user=None):
        image_id = upload_image(jpeg_bytes(color=colour), user=user)
        assert deliver()["batchItemFailures"] == []
        return image_id

    return tag


@pytest.fixture
def labels_function(stack):
    """Run the label function on what is in its queue (after the debounce delay); returns the requests it handled."""
    handler, sqs = load_handler("labels"), boto3.client("sqs", region_name=REGION)
    url = stack.environment["LABEL_TRAINING_QUEUE_URL"]

    def run() -> list[dict]:
        deadline = time.monotonic() + 10  # the debounce delay (DelaySeconds) first
        while time.monotonic() < deadline:
            counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
            if counts["ApproximateNumberOfMessagesDelayed"] == "0" and counts["ApproximateNumberOfMessages"] != "0":
                break
            time.sleep(0.2)
        event = sqs_event_from_queue(sqs, url, stack.arns["LabelTrainingQueue"])
        messages = event["Records"]
        assert messages, "no label request was queued"
        response = handler.lambda_handler(event, LambdaContext())
        assert response["batchItemFailures"] == []
        for record in messages:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=record["receiptHandle"])
        return [json.loads(record["body"]) for record in messages]

    return run


def _call(api, name, *, path, body=None, user=None, query=None, method_params=None):
    event = http_event(
        f"api/{name}", path=path, body=None if body is None else json.dumps(body), user=user, query=query
    )
    if method_params is not None:
        event["pathParameters"] = method_params
    response = api.lambda_handler(event, LambdaContext())
    return response["statusCode"], body_of(response)


def _put_tags(api, image_id, body, user=None):
    return _call(api, "put_image_tags.json", path=f"/images/{image_id}/tags", body=body, user=user,
                 method_params={"image_id": image_id})  # fmt: skip


def _label(api, name, user=None):
    encoded = name.replace(" ", "%20")
    return _call(api, "get_label.json", path=f"/labels/{encoded}", user=user, method_params={"name": encoded})


def _tags(api, image_id, user=None):
    status, body = _call(api, "get_image.json", path=f"/images/{image_id}", user=user,
                         method_params={"image_id": image_id})  # fmt: skip
    assert status == 200, body
    return {tag["name"]: (tag["source"], tag["confidence"]) for tag in body["tags"]}


def _search(api, tag, user=None):
    status, body = _call(api, "search_images.json", path="/images", query={"tag": tag}, user=user)
    assert status == 200, body
    return [item["image_id"] for item in body["items"]]


def test_a_custom_name_in_a_correction_is_an_example_of_a_new_label_shown_and_searchable(api, photos):
    image_id = photos(RED)
    status, body = _put_tags(api, image_id, {"confirm": ["dog"], "add": ["My Bike"]})
    assert status == 200, body
    assert _tags(api, image_id)["My Bike"] == ("user", 1.0) and _tags(api, image_id)["dog"][0] == "model"
    assert body["corrections"]["labels"] == ["dog"]  # the COCO training labels: the custom name is not one
    status, label = _label(api, "my bike")  # any case finds it; the first spelling is kept
    assert status == 200 and label["name"] == "My Bike" and label["example_ids"] == [image_id]
    assert label["examples"] == 1 and label["status"] == "collecting" and label["precision"] is None
    assert _search(api, "My Bike") == [image_id]
    # Another user sees neither the label nor the tag.
    assert _call(api, "list_labels.json", path="/labels", user=OTHER_USER)[1] == {"items": []}
    assert _label(api, "My Bike", user=OTHER_USER)[0] == 404
    assert _search(api, "My Bike", user=OTHER_USER) == []


def test_five_examples_train_a_label_that_tags_the_users_other_photos_and_new_uploads(api, photos, labels_function):
    reds = [photos(RED) for _ in range(6)]
    blues = [photos(BLUE) for _ in range(4)] + [photos(GREEN) for _ in range(4)]
    others_red = photos(RED, user=OTHER_USER)
    status, label = _call(api, "create_label.json", path="/labels", body={"name": "red things", "image_ids": reds[:5]})
    assert status == 201 and label["examples"] == 5 and label["status"] == "training", label

    (request,) = labels_function()
    assert request["action"] == "train"
    status, label = _label(api, "red things")
    assert label["status"] == "ready" and 0 < label["precision"] <= 1 and 0 < label["recall"] <= 1, label
    # The sixth red photo is tagged from its stored embedding; the blue and green ones are not; examples stay "user".
    assert _tags(api, reds[5])["red things"][0] == "custom"
    assert all("red things" not in _tags(api, image_id) for image_id in blues)
    assert _tags(api, reds[0])["red things"] == ("user", 1.0)
    assert set(_search(api, "red things")) == set(reds)
    assert "red things" not in _tags(api, others_red, user=OTHER_USER)  # another user's photos are never touched

    # A new upload is tagged by the processing function with the trained label.
    new_red, new_blue = photos(DARK_RED), photos(BLUE)
    assert _tags(api, new_red)["red things"][0] == "custom"
    assert "red things" not in _tags(api, new_blue)

    # Posting the same name again (other case) adds examples: 200, not a second label.
    status, again = _call(api, "create_label.json", path="/labels", body={"name": "Red Things", "image_ids": [new_red]})
    assert status == 200 and again["name"] == "red things" and again["examples"] == 6


def test_a_batch_of_new_uploads_lists_the_users_labels_once_and_tags_each(
    api, photos, labels_function, upload_image, deliver, monkeypatch
):
    from imagetagger.custom_labels.store import LabelStore

    # GIVEN a trained label
    reds = [photos(RED) for _ in range(5)]
    for colour in (BLUE, GREEN):
        for _ in range(4):
            photos(colour)
    assert _call(api, "create_label.json", path="/labels", body={"name": "red things", "image_ids": reds})[0] == 201
    labels_function()
    assert _label(api, "red things")[1]["status"] == "ready"
    listed = []
    list_labels = LabelStore.list
    monkeypatch.setattr(LabelStore, "list", lambda self, user_id: listed.append(user_id) or list_labels(self, user_id))
    # WHEN three new uploads of the user are tagged in one SQS batch
    new = {colour: upload_image(jpeg_bytes(color=colour)) for colour in (RED, DARK_RED, BLUE)}
    assert deliver()["batchItemFailures"] == []
    # THEN the user's labels were read once for the batch, and each image got what applies to it
    assert listed == [EVENT_USER]
    assert _tags(api, new[RED])["red things"][0] == "custom" and _tags(api, new[DARK_RED])["red things"][0] == "custom"
    assert "red things" not in _tags(api, new[BLUE])
    assert set(_search(api, "red things")) == {*reds, new[RED], new[DARK_RED]}


def test_rejecting_a_predicted_custom_tag_is_a_negative_example_and_retrains(api, photos, labels_function):
    reds = [photos(RED) for _ in range(7)]
    [photos(BLUE) for _ in range(5)]
    _call(api, "create_label.json", path="/labels", body={"name": "red things", "image_ids": reds[:5]})
    labels_function()
    assert _tags(api, reds[6])["red things"][0] == "custom"
    status, _ = _put_tags(api, reds[6], {"reject": ["Red Things"]})
    assert status == 200
    assert "red things" not in _tags(api, reds[6]) and reds[6] not in _search(api, "red things")
    status, label = _label(api, "red things")
    assert label["negatives"] == 1 and label["status"] == "training"
    # Two corrections in a row: two requests, only the newest revision trains (debounced).
    _put_tags(api, reds[5], {"add": ["red things"]})
    requests = labels_function()
    assert len(requests) == 2
    status, label = _label(api, "red things")
    assert label["status"] == "ready" and label["examples"] == 6 and label["negatives"] == 1
    # Examples withdrawn below 5: the label collects again and its predictions go.
    for image_id in reds[:3]:
        _put_tags(api, image_id, {})
    labels_function()
    status, label = _label(api, "red things")
    assert label["status"] == "collecting" and label["examples"] == 3
    assert set(_search(api, "red things")) == set(reds[3:6])  # the remaining examples; no prediction


def test_deleting_a_label_removes_its_classifier_tags_and_examples(api, photos, labels_function, stack):
    reds = [photos(RED) for _ in range(6)]
    [photos(BLUE) for _ in range(4)]
    _call(api, "create_label.json", path="/labels", body={"name": "red things", "image_ids": reds[:5]})
    labels_function()
    # The classifier's tag on the sixth photo, then confirmed by the user in another spelling: a "user" tag now,
    # over the classifier's entry, and a mention in a correction that is not the label's spelling.
    assert _tags(api, reds[5])["red things"][0] == "custom"
    assert _put_tags(api, reds[5], {"add": ["Red Things"]})[0] == 200
    labels_function()
    status, _ = _call(api, "delete_label.json", path="/labels/red%20things", method_params={"name": "red%20things"})
    assert status == 204
    assert _label(api, "red things")[0] == 404
    assert labels_function()[0]["action"] == "delete"
    assert _search(api, "red things") == []
    assert all("red things" not in {name.casefold() for name in _tags(api, image_id)} for image_id in reds)
    table = boto3.resource("dynamodb", region_name=REGION).Table(stack.environment["IMAGES_TABLE"])
    assert all(
        "red things" not in {name.casefold() for name in image.correction.custom_positives()}
        for image in CorrectionStore(table).corrected_images()
    )
    assert (
        _call(api, "delete_label.json", path="/labels/red%20things", method_params={"name": "red%20things"})[0] == 404
    )


def test_custom_names_never_reach_the_coco_training_manifest(api, photos, stack):
    image_id = photos(RED)
    _put_tags(api, image_id, {"confirm": ["dog"], "add": ["frisbee", "my bike"]})
    table = boto3.resource("dynamodb", region_name=REGION).Table(stack.environment["IMAGES_TABLE"])
    records = manifest_from_corrections(CorrectionStore(table).corrected_images(), bucket=stack.bucket)
    assert [record["labels"] for record in records] == [["dog", "frisbee"]]


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"name": "a#b", "image_ids": ["IMAGE"]}, 400, "contains '#'"),
        ({"name": "Dog", "image_ids": ["IMAGE"]}, 400, "COCO tag 'dog'"),
        ({"name": "   ", "image_ids": ["IMAGE"]}, 400, "must not be empty"),
        ({"name": "x" * 41, "image_ids": ["IMAGE"]}, 400, "at most 40"),
        ({"name": "ok", "image_ids": []}, 422, "image_ids"),
        ({"name": "ok", "image_ids": ["not-an-id"]}, 422, "image_ids"),
        ({"name": "ok", "image_ids": ["f" * 32]}, 404, "not found"),
        ({"name": "ok", "image_ids": ["OTHERS"]}, 404, "not found"),
        ({"name": "ok", "image_ids": ["PENDING"]}, 409, "not TAGGED"),
    ],
)
def test_bad_label_requests_are_clear_4xx(api, photos, upload_image, body, status, message):
    ids = {"IMAGE": photos(RED), "OTHERS": photos(RED, user=OTHER_USER), "PENDING": upload_image(jpeg_bytes())}
    body = {**body, "image_ids": [ids.get(i, i) for i in body["image_ids"]]}
    got, answer = _call(api, "create_label.json", path="/labels", body=body)
    assert got == status and message in answer["message"], answer
    assert _call(api, "list_labels.json", path="/labels")[1] == {"items": []}


def test_corrections_with_bad_custom_names_or_too_many_labels_are_400(api, photos, monkeypatch):
    image_id = photos(RED)
    assert "no label named" in _put_tags(api, image_id, {"reject": ["never made"]})[1]["message"]
    assert "contains" in _put_tags(api, image_id, {"add": ["<script>"]})[1]["message"]
    monkeypatch.setattr("imagetagger.custom_labels.examples.MAX_LABELS", 2)
    assert _put_tags(api, image_id, {"add": ["one", "two"]})[0] == 200
    status, body = _put_tags(api, image_id, {"add": ["one", "two", "three"]})
    assert status == 400 and "at most 2" in body["message"]
    assert [label["name"] for label in _call(api, "list_labels.json", path="/labels")[1]["items"]] == ["one", "two"]
    assert EVENT_USER  # the events' user made them
