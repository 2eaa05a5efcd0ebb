"""The HTTP handlers against hostile requests: no user, other users' images, malformed bodies, odd IDs.

API Gateway's JWT authorizer rejects bad tokens before a function runs (tested end to end in tests/e2e); here the
functions themselves must refuse a request without a user, keep users apart, and answer every malformed request with
a 4xx and a message, never a 500.
"""

from __future__ import annotations

import base64
import json
import time

import pytest
from handler_support import EVENT_USER, body_of, http_event, jpeg_bytes, load_event

from imagetagger.api.app import openapi_document

VALID_ID = "0192a3b4c5d6e7f80912a3b4c5d6e7f8"
VALID_BODIES = {
    "POST /uploads": json.dumps({"filename": "a.jpg", "content_type": "image/jpeg", "size": 1000}),
    "PUT /images/{image_id}/tags": json.dumps({"confirm": ["dog"]}),
    "POST /labels": json.dumps({"name": "my bike", "image_ids": ["0" * 32]}),
}


def route_event(method: str, path: str, *, body: str | None = None, user: str | None = None, query=None) -> dict:
    """An API Gateway HTTP API (v2) event for any route, shaped like the committed ones in events/."""
    template = "presign/post_uploads.json" if path == "/uploads" else "api/get_image.json"
    event = load_event(template)
    route_key = f"{method} {path}"
    concrete = path.replace("{image_id}", VALID_ID)
    event.update(routeKey=route_key, rawPath=concrete, body=body, isBase64Encoded=False)
    event["requestContext"].update(routeKey=route_key)
    event["requestContext"]["http"].update(method=method, path=concrete)
    event["pathParameters"] = {"image_id": VALID_ID} if "{image_id}" in path else None
    event["headers"]["content-type"] = "image/jpeg" if path == "/tag" else "application/json"
    if query is not None:
        event["queryStringParameters"] = query
        event["rawQueryString"] = "&".join(f"{k}={v}" for k, v in query.items())
    else:
        event["queryStringParameters"] = None
        event["rawQueryString"] = ""
    if user is not None:
        event["requestContext"]["authorizer"]["jwt"]["claims"]["sub"] = user
    return event


def call(presign, api, event, lambda_context) -> dict:
    handler = presign if event["rawPath"] == "/uploads" else api
    return handler.lambda_handler(event, lambda_context)


def all_routes() -> list[tuple[str, str]]:
    return sorted((method.upper(), path) for path, ops in openapi_document()["paths"].items() for method in ops)


@pytest.mark.parametrize("method,path", all_routes(), ids=lambda v: str(v))
def test_every_route_but_health_needs_an_authenticated_user(method, path, presign, api, model, lambda_context):
    body = VALID_BODIES.get(f"{method} {path}")
    if path == "/tag":
        body = base64.b64encode(jpeg_bytes()).decode()
    event = route_event(method, path, body=body)
    event["isBase64Encoded"] = path == "/tag"
    del event["requestContext"]["authorizer"]  # what a route without the JWT authorizer would pass
    response = call(presign, api, event, lambda_context)
    expected = 200 if path == "/health" else 401
    assert response["statusCode"] == expected, response.get("body")


@pytest.mark.parametrize("sub", ["", "a/b", "x" * 129, None])
def test_a_user_id_that_could_escape_its_key_prefix_is_refused(sub, presign, lambda_context):
    event = route_event("POST", "/uploads", body=VALID_BODIES["POST /uploads"])
    event["requestContext"]["authorizer"]["jwt"]["claims"]["sub"] = sub
    assert presign.lambda_handler(event, lambda_context)["statusCode"] == 401


MALFORMED = [
    # (method, path, body, query) -- each must be a 4xx with a message
    ("POST", "/uploads", "{not json", None),
    ("POST", "/uploads", "[]", None),
    ("POST", "/uploads", "null", None),
    ("POST", "/uploads", json.dumps({"filename": "a.jpg", "content_type": "image/jpeg"}), None),
    ("POST", "/uploads", json.dumps({"filename": 7, "content_type": ["image/jpeg"], "size": "big"}), None),
    ("POST", "/uploads", json.dumps({"filename": "a.jpg", "content_type": "image/jpeg", "size": -1}), None),
    ("POST", "/uploads", json.dumps({"filename": "a.jpg", "content_type": "image/jpeg", "size": 10**30}), None),
    ("POST", "/uploads", json.dumps({"filename": "a.jpg", "content_type": "text/html", "size": 10}), None),
    ("POST", "/uploads", json.dumps({"filename": "a.svg", "content_type": "image/svg+xml", "size": 10}), None),
    ("POST", "/uploads", json.dumps({"filename": "x" * 5000, "content_type": "image/jpeg", "size": 10}), None),
    ("POST", "/uploads", json.dumps({"filename": "\u0000\u200b\n", "content_type": "image/jpeg", "size": 10}), None),
    # A 6 MB body (the most a Lambda accepts): the name alone is over its limit.
    ("POST", "/uploads", json.dumps({"filename": "y" * 6_000_000, "content_type": "image/jpeg", "size": 1}), None),
    ("GET", "/images/{image_id}", None, None),  # a valid id of no image: 404
    ("GET", "/images/../../etc/passwd", None, None),
    ("GET", "/images/" + "a" * 5000, None, None),
    (
        "GET",
        "/images/\u00fc\u00fc\u00fc\u00fc\u00fc\u00fc\u00fc\u00fc\u00fc\u00fc\u00fc\u00fc\u00fc\u00fc\u00fc\u00fc",
        None,
        None,
    ),
    ("GET", "/images/0192A3B4C5D6E7F80912A3B4C5D6E7F8", None, None),
    ("DELETE", "/images/%2e%2e%2fuploads", None, None),
    ("GET", "/images", None, {"limit": "0"}),
    ("GET", "/images", None, {"limit": "abc"}),
    ("GET", "/images", None, {"limit": "100000"}),
    ("GET", "/images", None, {"min_confidence": "2", "tag": "dog"}),
    ("GET", "/images", None, {"tag": ""}),
    ("GET", "/images", None, {"next_token": "garbage!!"}),
    ("GET", "/images", None, {"next_token": base64.urlsafe_b64encode(b'{"user_id": "someone-else"}').decode()}),
    ("PUT", "/images/{image_id}/tags", "{", None),
    ("PUT", "/images/{image_id}/tags", json.dumps({"add": "dog"}), None),
    ("PUT", "/images/{image_id}/tags", json.dumps({"add": ["not-a-coco-class"]}), None),
    ("PUT", "/images/{image_id}/tags", json.dumps({"add": ["dog"] * 500}), None),
    ("POST", "/tag", "", None),
    ("POST", "/tag", "this is not base64 !!", None),
]


@pytest.mark.parametrize(
    "method,path,body,query", MALFORMED, ids=[f"{m[0]} {m[1][:40]} {i}" for i, m in enumerate(MALFORMED)]
)
def test_malformed_requests_get_a_4xx_with_a_message(method, path, body, query, presign, api, model, lambda_context):
    event = route_event(method, path, body=body, query=query)
    if "{image_id}" not in path and path.startswith("/images/"):
        event["routeKey"] = event["requestContext"]["routeKey"] = f"{method} /images/{{image_id}}"
        event["pathParameters"] = {"image_id": path.removeprefix("/images/")}
    if path == "/tag":
        event["isBase64Encoded"] = True
    response = call(presign, api, event, lambda_context)
    assert 400 <= response["statusCode"] < 500, response
    payload = body_of(response)
    assert payload.get("message") or payload.get("detail"), payload
    assert model.requests == []


@pytest.mark.parametrize("path", ["/uploads", "/images/{image_id}/tags"])
@pytest.mark.parametrize("content_type", ["multipart/form-data", "multipart/form-data; boundary=zz", "text/plain"])
def test_a_body_in_a_type_no_route_takes_is_a_4xx(path, content_type, presign, api, lambda_context):
    # Found by schemathesis: multipart/form-data without a boundary was a 500 (a Powertools ValueError).
    method = "POST" if path == "/uploads" else "PUT"
    event = route_event(method, path, body=VALID_BODIES[f"{method} {path}"])
    event["headers"]["content-type"] = content_type
    response = call(presign, api, event, lambda_context)
    assert 400 <= response["statusCode"] < 500, response


def test_a_text_body_sent_to_post_tag_is_415(api, model, lambda_context):
    event = route_event("POST", "/tag", body="hello")
    event["headers"]["content-type"] = "text/plain"
    response = api.lambda_handler(event, lambda_context)
    assert response["statusCode"] == 415 and "image/*" in body_of(response)["message"]


def test_filenames_are_kept_as_display_names_only(presign, api, lambda_context):
    for filename, shown in [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\IMG 1.jpg", "IMG 1.jpg"),
        ("été 📷.jpg", "été 📷.jpg"),
    ]:
        body = json.dumps({"filename": filename, "content_type": "image/jpeg", "size": 10})
        created = body_of(presign.lambda_handler(route_event("POST", "/uploads", body=body), lambda_context))
        # The object key never contains the filename: only the user's prefix and a generated id.
        assert created["upload"]["fields"]["key"] == f"uploads/{EVENT_USER}/{created['image_id']}"
        image = body_of(
            api.lambda_handler(http_event("api/get_image.json", image_id=created["image_id"]), lambda_context)
        )
        assert image["filename"] == shown


def test_the_presigned_post_pins_type_size_key_and_expires_soon(presign, stack, lambda_context):
    body = json.dumps({"filename": "a.png", "content_type": "image/png", "size": 1234})
    created = body_of(presign.lambda_handler(route_event("POST", "/uploads", body=body), lambda_context))
    fields = created["upload"]["fields"]
    policy = json.loads(base64.b64decode(fields["policy"]))
    conditions = policy["conditions"]
    assert {"Content-Type": "image/png"} in conditions
    assert ["content-length-range", 1, int(stack.environment["MAX_UPLOAD_BYTES"])] in conditions
    assert {"key": f"uploads/{EVENT_USER}/{created['image_id']}"} in conditions
    expires = time.mktime(time.strptime(policy["expiration"], "%Y-%m-%dT%H:%M:%SZ")) - time.timezone
    assert 0 < expires - time.time() <= int(stack.environment["UPLOAD_URL_EXPIRES_S"]) + 5
    assert created["expires_in"] <= 3600


def test_one_user_cannot_see_search_correct_or_delete_anothers_images(
    upload_image, deliver, api, model, lambda_context
):
    # GIVEN alice's tagged image
    alice, mallory = "alice-0001", "mallory-0002"
    image_id = upload_image(jpeg_bytes(), user=alice)
    deliver()

    def as_user(user, name, **kwargs):
        return api.lambda_handler(http_event(name, user=user, **kwargs), lambda_context)

    assert body_of(as_user(alice, "api/get_image.json", image_id=image_id))["status"] == "TAGGED"

    # WHEN mallory tries every route on it THEN she learns nothing and changes nothing
    assert as_user(mallory, "api/get_image.json", image_id=image_id)["statusCode"] == 404
    assert body_of(as_user(mallory, "api/list_images.json"))["items"] == []
    assert body_of(as_user(mallory, "api/search_images.json", query={"tag": "dog"}))["items"] == []
    assert body_of(as_user(mallory, "api/list_tags.json"))["tags"] == []
    correction = route_event("PUT", "/images/{image_id}/tags", body=json.dumps({"reject": ["dog"]}), user=mallory)
    event = correction | {"rawPath": f"/images/{image_id}/tags", "pathParameters": {"image_id": image_id}}
    assert api.lambda_handler(event, lambda_context)["statusCode"] == 404
    delete = http_event("api/delete_image.json", image_id=image_id, user=mallory)
    assert api.lambda_handler(delete, lambda_context)["statusCode"] == 404

    # THEN alice's image is untouched: still there, tagged, uncorrected, and found by its tag
    image = body_of(as_user(alice, "api/get_image.json", image_id=image_id))
    assert image["status"] == "TAGGED" and [t["name"] for t in image["tags"]] == ["dog"]
    assert image.get("correction") in (None, {}) or "dog" not in str(image.get("correction"))
    assert [
        i["image_id"] for i in body_of(as_user(alice, "api/search_images.json", query={"tag": "dog"}))["items"]
    ] == [image_id]
