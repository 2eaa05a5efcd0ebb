"""Boxes (each tag's instances) from the model's answer through processing, the record and every API route that
returns tags, and through a user's corrections (issue 11). The fake endpoint answers as the detector endpoint does."""

import base64
import json
from decimal import Decimal

import boto3
import pytest
from handler_support import EVENT_USER, REGION, body_of, http_event, jpeg_bytes, load_event

from imagetagger.api.app import openapi_document

ZEBRA_BOXES = [
    {"box": [0.05, 0.3, 0.4, 0.55], "confidence": 0.96},
    {"box": [0.5, 0.28, 0.45, 0.6], "confidence": 0.9},
]
PERSON_BOX = {"box": [0.7, 0.1, 0.2, 0.8], "confidence": 0.6}


def _call(api, lambda_context, event):
    response = api.lambda_handler(event, lambda_context)
    return response["statusCode"], body_of(response)


@pytest.fixture
def zebras(upload_image, deliver, model):
    """A TAGGED image: two zebras with boxes, a person with one box, a grass-like "giraffe" with none."""
    model.tags = [
        {"name": "zebra", "confidence": 0.97, "parents": ["animal"], "instances": ZEBRA_BOXES},
        {"name": "person", "confidence": 0.61, "parents": [], "instances": [PERSON_BOX]},
        {"name": "giraffe", "confidence": 0.4, "parents": ["animal"], "instances": []},
    ]
    image_id = upload_image(jpeg_bytes())
    assert deliver()["batchItemFailures"] == []
    return image_id


def _instances(image):
    return {tag["name"]: tag["instances"] for tag in image["tags"]}


def test_get_list_and_search_return_each_tags_instances(api, zebras, lambda_context):
    expected = {"zebra": ZEBRA_BOXES, "person": [PERSON_BOX], "giraffe": []}

    status, image = _call(api, lambda_context, http_event("api/get_image.json", image_id=zebras))
    assert status == 200 and _instances(image) == expected

    status, page = _call(api, lambda_context, load_event("api/list_images.json"))
    assert status == 200 and [_instances(item) for item in page["items"]] == [expected]

    query = {"tag": "zebra", "min_confidence": "0.5"}
    status, found = _call(api, lambda_context, http_event("api/search_images.json", query=query))
    assert status == 200 and [_instances(item) for item in found["items"]] == [expected]


def test_an_image_tagged_before_boxes_existed_has_empty_instances(api, lambda_context, stack):
    # GIVEN a record as the previous release stored it (no "instances" key in its tags)
    image_id = "0192a3b4c5d6e7f80912a3b4c5d6e7f8"
    table = boto3.resource("dynamodb", region_name=REGION).Table(stack.environment["IMAGES_TABLE"])
    table.put_item(
        Item={
            "user_id": EVENT_USER,
            "image_id": image_id,
            "filename": "old.jpg",
            "content_type": "image/jpeg",
            "size": 10,
            "status": "TAGGED",
            "created_at": "2025-01-01T00:00:00Z",
            "tags": [{"name": "dog", "confidence": Decimal("0.9"), "parents": ["animal"]}],
            "model_version": "v1",
        }
    )

    status, image = _call(api, lambda_context, http_event("api/get_image.json", image_id=image_id))

    assert status == 200
    assert image["tags"] == [
        {"name": "dog", "confidence": 0.9, "parents": ["animal"], "instances": [], "source": "model"}
    ]


def test_corrections_keep_the_models_boxes_and_added_tags_have_none(api, zebras, lambda_context):
    # WHEN the user keeps zebra, rejects person and giraffe, and adds "horse"
    event = http_event(
        "api/put_image_tags.json",
        path=f"/images/{zebras}/tags",
        body=json.dumps({"confirm": ["zebra"], "reject": ["person", "giraffe"], "add": ["horse"]}),
    )
    event["pathParameters"] = {"image_id": zebras}
    status, answer = _call(api, lambda_context, event)

    # THEN the corrected tags are the kept zebra with its two boxes and the added horse without any
    assert status == 200, answer
    assert answer["corrections"]["tags"] == [
        {"name": "zebra", "confidence": 0.97, "parents": ["animal"], "instances": ZEBRA_BOXES, "source": "model"},
        {"name": "horse", "confidence": 1.0, "parents": ["animal"], "instances": [], "source": "user"},
    ]
    # AND the model's own tags, boxes included, are untouched (a GET says the same as the PUT's answer)
    status, image = _call(api, lambda_context, http_event("api/get_image.json", image_id=zebras))
    assert _instances(image) == {"zebra": ZEBRA_BOXES, "person": [PERSON_BOX], "giraffe": []}
    assert image["corrections"] == answer["corrections"]


def test_quick_tag_returns_instances(api, model, lambda_context):
    model.tags = [{"name": "zebra", "confidence": 0.97, "parents": ["animal"], "instances": ZEBRA_BOXES}]

    event = load_event("api/tag_now.json")
    event["body"] = base64.b64encode(jpeg_bytes()).decode()

    status, body = _call(api, lambda_context, event)

    assert status == 200 and body["tags"][0]["instances"] == ZEBRA_BOXES


def test_a_malformed_box_from_the_endpoint_is_retried_not_stored(upload_image, deliver, api, model, lambda_context):
    # A box of three numbers is the endpoint's bug: the record stays PENDING and the message goes back to the queue.
    model.tags = [{"name": "dog", "confidence": 0.9, "parents": [], "instances": [{"box": [0.1, 0.2, 0.3]}]}]
    image_id = upload_image(jpeg_bytes())

    assert deliver()["batchItemFailures"] != []
    status, image = _call(api, lambda_context, http_event("api/get_image.json", image_id=image_id))
    assert status == 200 and image["status"] == "PENDING"


def test_openapi_documents_instances_as_four_fractions():
    schemas = openapi_document()["components"]["schemas"]
    instances = schemas["TagOut"]["properties"]["instances"]
    assert instances["items"] == {"$ref": "#/components/schemas/InstanceOut"}
    box = schemas["InstanceOut"]["properties"]["box"]
    assert (box["minItems"], box["maxItems"]) == (4, 4)
    assert (box["items"]["minimum"], box["items"]["maximum"]) == (0, 1)
    assert "tags" in schemas["CorrectionsOut"]["required"]
