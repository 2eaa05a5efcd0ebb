"""Handlers see locally the API Gateway HTTP API (payload 2.0) events they see in AWS."""

import base64
import json

from imagetagger_local.apigw_events import HttpRequest, build_event, response_from_result


def request(**overrides) -> HttpRequest:
    values = dict(
        method="GET",
        path="/images/abc",
        query_string="tag=dog&tag=cat&limit=5",
        headers=[("Host", "127.0.0.1:3000"), ("X-Trace", "a"), ("X-Trace", "b"), ("Cookie", "s=1; t=2")],
        body=b"",
        source_ip="127.0.0.1",
    )
    return HttpRequest(**(values | overrides))


def test_event_has_the_v2_shape_with_joined_headers_and_query_values():
    event = build_event(request(), "GET /images/{image_id}", {"image_id": "abc"}, {"sub": "alice", "exp": 17})
    assert event["version"] == "2.0" and event["routeKey"] == "GET /images/{image_id}"
    assert event["headers"]["x-trace"] == "a,b" and "cookie" not in event["headers"]
    assert event["cookies"] == ["s=1", "t=2"]
    assert event["queryStringParameters"] == {"tag": "dog,cat", "limit": "5"}
    assert event["rawQueryString"] == "tag=dog&tag=cat&limit=5"
    assert event["pathParameters"] == {"image_id": "abc"}
    assert event["requestContext"]["http"]["method"] == "GET"
    # The JWT authorizer passes claims as strings.
    assert event["requestContext"]["authorizer"]["jwt"]["claims"] == {"sub": "alice", "exp": "17"}
    assert "body" not in event


def test_open_routes_carry_no_authorizer():
    event = build_event(request(path="/health", query_string=""), "GET /health", {}, None)
    assert "authorizer" not in event["requestContext"] and "queryStringParameters" not in event


def test_binary_bodies_are_base64_and_json_bodies_are_text():
    jpeg = b"\xff\xd8\xff\xe0binary"
    binary = build_event(
        request(method="POST", body=jpeg, headers=[("Content-Type", "image/jpeg")]), "POST /tag", {}, {}
    )
    assert binary["isBase64Encoded"] is True and base64.b64decode(binary["body"]) == jpeg
    text = build_event(
        request(method="POST", body=b'{"a": 1}', headers=[("Content-Type", "application/json; charset=utf-8")]),
        "POST /uploads",
        {},
        {},
    )
    assert text["isBase64Encoded"] is False and json.loads(text["body"]) == {"a": 1}


def test_full_results_keep_status_headers_and_cookies():
    response = response_from_result(
        {"statusCode": 201, "headers": {"Content-Type": "application/json"}, "cookies": ["a=1"], "body": '{"ok": true}'}
    )
    assert response.status == 201
    assert ("Content-Type", "application/json") in response.headers and ("Set-Cookie", "a=1") in response.headers
    assert json.loads(response.body) == {"ok": True}


def test_base64_results_are_decoded_and_plain_results_become_json():
    assert (
        response_from_result(
            {"statusCode": 200, "body": base64.b64encode(b"\x00\x01").decode(), "isBase64Encoded": True}
        ).body
        == b"\x00\x01"
    )
    plain = response_from_result({"tags": []})
    assert plain.status == 200 and json.loads(plain.body) == {"tags": []}
