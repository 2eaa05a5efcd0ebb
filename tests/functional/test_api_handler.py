"""functions/api/app.py fed the events in events/api/ (changed per case) against moto."""

import base64

import boto3
import pytest
from botocore.exceptions import ReadTimeoutError
from handler_support import EVENT_USER, REGION, body_of, http_event, jpeg_bytes, load_event

from imagetagger.api.app import openapi_document

OTHER_USER = "b7e0c1d2-0000-4000-8000-000000000002"


def _call(api, lambda_context, event):
    response = api.lambda_handler(event, lambda_context)
    return response["statusCode"], body_of(response)


@pytest.fixture
def tagged(upload_image, deliver, model):
    """Three tagged images of the events' user: dog 0.9, dog 0.6 + person 0.8, cat 0.7."""

    def tag_one(tags):
        model.tags = tags
        image_id = upload_image(jpeg_bytes())
        assert deliver()["batchItemFailures"] == []
        return image_id

    return [
        tag_one([{"name": "dog", "confidence": 0.9, "parents": ["animal"]}]),
        tag_one(
            [
                {"name": "person", "confidence": 0.8, "parents": ["person"]},
                {"name": "dog", "confidence": 0.6, "parents": ["animal"]},
            ]
        ),
        tag_one([{"name": "cat", "confidence": 0.7, "parents": ["animal"]}]),
    ]


def test_health_needs_no_token(api, lambda_context):
    assert _call(api, lambda_context, load_event("api/health.json")) == (200, {"status": "ok"})


@pytest.mark.parametrize(
    "name", ["api/get_image.json", "api/list_images.json", "api/list_tags.json", "api/delete_image.json"]
)
def test_routes_without_a_user_are_401(api, lambda_context, name):
    event = load_event(name)
    del event["requestContext"]["authorizer"]
    status, body = _call(api, lambda_context, event)
    assert status == 401 and body["message"] == "authentication required"


def test_get_image_returns_status_tags_and_model(api, tagged, lambda_context):
    status, body = _call(api, lambda_context, http_event("api/get_image.json", image_id=tagged[1]))
    assert status == 200
    assert set(body) == {
        "image_id", "filename", "status", "tags", "model_version", "error", "created_at", "corrections", "retriable",
        "thumbnail_url",
    }  # fmt: skip
    assert body["status"] == "TAGGED"
    assert [t["name"] for t in body["tags"]] == ["person", "dog"]
    assert body["tags"][1]["parents"] == ["animal"]


def test_unknown_and_foreign_images_are_404(api, tagged, lambda_context):
    assert _call(api, lambda_context, http_event("api/get_image.json", image_id="f" * 32))[0] == 404
    assert _call(api, lambda_context, http_event("api/get_image.json", image_id=tagged[0], user=OTHER_USER))[0] == 404


@pytest.mark.parametrize("image_id", ["..%2F..%2Fetc", "x" * 300, "ümlaut", "0192A3B4C5D6E7F80912A3B4C5D6E7F8"])
def test_odd_image_ids_are_4xx(api, lambda_context, image_id):
    status, body = _call(api, lambda_context, http_event("api/get_image.json", image_id=image_id))
    assert 400 <= status < 500 and body


def test_search_by_tag_most_confident_first(api, tagged, lambda_context):
    status, body = _call(api, lambda_context, http_event("api/search_images.json", query={"tag": "dog"}))
    assert status == 200
    assert [item["image_id"] for item in body["items"]] == [tagged[0], tagged[1]]
    query = {"tag": "dog", "min_confidence": "0.7"}
    _, body = _call(api, lambda_context, http_event("api/search_images.json", query=query))
    assert [item["image_id"] for item in body["items"]] == [tagged[0]]


def test_search_does_not_see_other_users_images(api, tagged, lambda_context):
    _, body = _call(api, lambda_context, http_event("api/search_images.json", query={"tag": "dog"}, user=OTHER_USER))
    assert body == {"items": [], "next_token": None}


def test_list_pages_with_next_token(api, tagged, lambda_context):
    seen, token = [], None
    while True:
        query = {"limit": 2, **({"next_token": token} if token else {})}
        status, body = _call(api, lambda_context, http_event("api/list_images.json", query=query))
        assert status == 200
        seen += [item["image_id"] for item in body["items"]]
        token = body["next_token"]
        if not token:
            break
    assert seen == list(reversed(tagged))


@pytest.mark.parametrize(
    "query",
    [
        {"next_token": "garbage!"},
        {"limit": "0"},
        {"limit": "1000"},
        {"limit": "ten"},
        {"min_confidence": "2", "tag": "x"},
        {"min_confidence": "nan", "tag": "x"},
        {"min_confidence": "inf", "tag": "x"},
        {"tag": "x" * 101},
    ],
)
def test_bad_query_parameters_are_4xx(api, lambda_context, query):
    status, body = _call(api, lambda_context, http_event("api/list_images.json", query=query))
    assert 400 <= status < 500 and body


@pytest.mark.parametrize("tag", ["dög 🐕", "../../etc/passwd", "a#b", "' OR 1=1 --"])
def test_odd_tags_find_nothing_rather_than_fail(api, lambda_context, tag):
    status, body = _call(api, lambda_context, http_event("api/search_images.json", query={"tag": tag}))
    assert (status, body) == (200, {"items": [], "next_token": None})


def test_tag_counts(api, tagged, lambda_context):
    status, body = _call(api, lambda_context, load_event("api/list_tags.json"))
    assert status == 200
    assert body == {"tags": [{"name": "dog", "count": 2}, {"name": "cat", "count": 1}, {"name": "person", "count": 1}]}


def test_delete_removes_object_and_every_record(api, tagged, stack, lambda_context):
    image_id = tagged[0]
    status, body = _call(api, lambda_context, http_event("api/delete_image.json", image_id=image_id))
    assert (status, body) == (204, None)
    assert _call(api, lambda_context, http_event("api/get_image.json", image_id=image_id))[0] == 404
    _, tags = _call(api, lambda_context, load_event("api/list_tags.json"))
    assert {"name": "dog", "count": 1} in tags["tags"]
    s3 = boto3.client("s3", region_name=REGION)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=stack.bucket).get("Contents", [])]
    assert f"uploads/{EVENT_USER}/{image_id}" not in keys and len(keys) == 2


def test_deleting_someone_elses_image_is_404_and_keeps_it(api, tagged, lambda_context):
    event = http_event("api/delete_image.json", image_id=tagged[0], user=OTHER_USER)
    assert _call(api, lambda_context, event)[0] == 404
    assert _call(api, lambda_context, http_event("api/get_image.json", image_id=tagged[0]))[0] == 200


def test_tag_now_returns_tags_and_stores_nothing(api, model, stack, lambda_context):
    status, body = _call(api, lambda_context, load_event("api/tag_now.json"))
    assert status == 200
    # Every tag says where it comes from: here the model (issue 15's custom labels are "custom" or "user").
    assert body == {"tags": [{**tag, "source": "model"} for tag in model.tags], "model_version": model.model_version}
    assert boto3.client("s3", region_name=REGION).list_objects_v2(Bucket=stack.bucket).get("KeyCount", 0) == 0


def _tag_now(api, lambda_context, data: bytes, content_type="image/jpeg"):
    event = load_event("api/tag_now.json")
    event["body"] = base64.b64encode(data).decode()
    event["headers"]["content-type"] = content_type
    return _call(api, lambda_context, event)


def test_tag_now_rejects_bad_bodies(api, model, lambda_context):
    status, body = _tag_now(api, lambda_context, b"%PDF-1.7 not an image")
    assert status == 400 and "not a supported image" in body["message"]
    assert _tag_now(api, lambda_context, jpeg_bytes(), content_type="text/plain")[0] == 415
    assert _tag_now(api, lambda_context, b"\xff\xd8" + b"0" * (5 * 1024 * 1024))[0] == 413
    assert _tag_now(api, lambda_context, b"")[0] == 400
    assert model.requests == []


def test_tag_now_endpoint_timeout_is_503(api, model, lambda_context):
    model.error = ReadTimeoutError(endpoint_url="https://runtime.sagemaker")
    status, body = _tag_now(api, lambda_context, jpeg_bytes())
    assert status == 503 and "unreachable" in body["message"]


def test_openapi_route_serves_the_committed_document(api, lambda_context):
    status, body = _call(api, lambda_context, load_event("api/openapi.json"))
    assert status == 200
    assert body == openapi_document()
    assert set(body["paths"]) == {
        "/uploads",
        "/images",
        "/images/{image_id}",
        "/tags",
        "/tag",
        "/health",
        "/openapi.json",
        "/images/{image_id}/tags",
        "/images/{image_id}/retry",
        "/images/{image_id}/similar",
        "/models",
        "/labels",
        "/labels/{name}",
    }


def test_cors_allows_only_configured_origins(api, lambda_context):
    allowed = load_event("api/health.json")
    response = api.lambda_handler(allowed, lambda_context)
    assert response["headers"]["Access-Control-Allow-Origin"] == "http://localhost:8000"
    foreign = load_event("api/health.json")
    foreign["headers"]["origin"] = "https://evil.example"
    response = api.lambda_handler(foreign, lambda_context)
    assert "Access-Control-Allow-Origin" not in response.get("headers", {})
