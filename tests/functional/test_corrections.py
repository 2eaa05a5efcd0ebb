"""PUT /images/{image_id}/tags through the api function against moto, and the prepare step turning the stored
corrections into the next training manifest's labels."""

import json
from urllib.parse import urlparse

import boto3
import pytest
from handler_support import EVENT_USER, REGION, body_of, http_event, jpeg_bytes

from imagetagger.correction_store import CorrectionStore
from imagetagger_workflow.manifest import manifest_from_corrections

OTHER_USER = "b7e0c1d2-0000-4000-8000-000000000002"


def _put_tags(api, lambda_context, image_id, body, user=None):
    event = http_event(
        "api/put_image_tags.json",
        path=f"/images/{image_id}/tags",
        body=body if isinstance(body, str) else json.dumps(body),
        user=user,
    )
    event["pathParameters"] = {"image_id": image_id}
    response = api.lambda_handler(event, lambda_context)
    return response["statusCode"], body_of(response)


def _get(api, lambda_context, image_id):
    response = api.lambda_handler(http_event("api/get_image.json", image_id=image_id), lambda_context)
    return response["statusCode"], body_of(response)


@pytest.fixture
def dog_and_cat(upload_image, deliver, model):
    """A TAGGED image the model called dog 0.9 + cat 0.55."""
    model.tags = [
        {"name": "dog", "confidence": 0.9, "parents": ["animal"]},
        {"name": "cat", "confidence": 0.55, "parents": ["animal"]},
    ]
    image_id = upload_image(jpeg_bytes())
    assert deliver()["batchItemFailures"] == []
    return image_id


def test_correction_is_stored_and_shown_as_such(api, dog_and_cat, lambda_context):
    # GIVEN a tagged image; WHEN its owner confirms dog, rejects cat and adds frisbee
    status, body = _put_tags(
        api, lambda_context, dog_and_cat, {"confirm": ["dog"], "reject": ["cat"], "add": ["frisbee"]}
    )
    assert status == 200, body
    # THEN the answer and a later GET show the predicted tags untouched and the correction next to them
    status, image = _get(api, lambda_context, dog_and_cat)
    assert status == 200
    assert [t["name"] for t in image["tags"]] == ["dog", "cat"]
    corrections = image["corrections"]
    assert corrections["confirmed"] == ["dog"] and corrections["rejected"] == ["cat"]
    assert corrections["added"] == ["frisbee"]
    assert corrections["labels"] == ["dog", "frisbee"]
    assert body["corrections"] == corrections


def test_the_put_answer_renders_the_image_as_get_does(api, dog_and_cat, lambda_context):
    # GIVEN a TAGGED image; WHEN its owner corrects it
    status, put = _put_tags(api, lambda_context, dog_and_cat, {"add": ["frisbee"]})
    assert status == 200, put
    _, got = _get(api, lambda_context, dog_and_cat)
    # THEN the answer carries the thumbnail URL of the user's own photo, as GET does (it used to be null)
    assert put["thumbnail_url"] is not None and got["thumbnail_url"] is not None
    assert urlparse(put["thumbnail_url"]).path == urlparse(got["thumbnail_url"]).path
    assert urlparse(put["thumbnail_url"]).path.endswith(f"/uploads/{EVENT_USER}/{dog_and_cat}")
    # and every other field the same way
    del put["thumbnail_url"], got["thumbnail_url"]
    assert put == got


def test_a_second_put_replaces_the_first(api, dog_and_cat, lambda_context):
    _put_tags(api, lambda_context, dog_and_cat, {"reject": ["dog", "cat"]})
    status, body = _put_tags(api, lambda_context, dog_and_cat, {"add": ["person"]})
    assert status == 200
    assert body["corrections"]["rejected"] == [] and body["corrections"]["labels"] == ["cat", "dog", "person"]


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"add": ["drag#on"]}, "contains '#'"),  # any other name is one of the user's own labels
        ({"add": ["Dog"]}, "is the COCO tag 'dog'"),
        ({"confirm": ["dog"], "reject": ["dog"]}, "both kept and rejected"),
        ({"add": "dog"}, ""),
        ("not json", ""),
    ],
)
def test_bad_corrections_are_400_with_a_reason(api, dog_and_cat, lambda_context, payload, message):
    status, body = _put_tags(api, lambda_context, dog_and_cat, payload)
    assert status in (400, 422), body
    assert message in json.dumps(body)
    assert _get(api, lambda_context, dog_and_cat)[1]["corrections"] is None


def test_unknown_foreign_and_pending_images_are_refused(api, dog_and_cat, upload_image, lambda_context):
    assert _put_tags(api, lambda_context, "f" * 32, {"add": ["dog"]})[0] == 404
    assert _put_tags(api, lambda_context, dog_and_cat, {"add": ["dog"]}, user=OTHER_USER)[0] == 404
    pending = upload_image(jpeg_bytes())  # uploaded, not yet processed
    status, body = _put_tags(api, lambda_context, pending, {"add": ["dog"]})
    assert status == 409 and "PENDING" in body["message"]


def test_corrections_become_labels_of_the_next_manifest(api, dog_and_cat, stack, lambda_context):
    # GIVEN a correction made through the API
    _put_tags(api, lambda_context, dog_and_cat, {"confirm": ["dog"], "reject": ["cat"], "add": ["frisbee"]})
    # WHEN the prepare step reads the corrections
    table = boto3.resource("dynamodb", region_name=REGION).Table(stack.physical_ids["ImagesTable"])
    records = manifest_from_corrections(CorrectionStore(table).corrected_images(), bucket=stack.bucket)
    # THEN the image is a training example labelled with the corrected tags, pointing at its uploaded object
    assert records == [
        {
            "image": f"s3://{stack.bucket}/uploads/{EVENT_USER}/{dog_and_cat}",
            "labels": ["dog", "frisbee"],
            "source": "correction",
        }
    ]
