"""The mobile app's API client: what it refuses before sending, and how it reads the API's and S3's answers.

Its network behaviour is tested against the real local stack in tests/e2e/test_mobile_client.py.
"""

from __future__ import annotations

import pytest
import requests
from imagetagger_mobile.api_client import (
    ApiError,
    ImageRecord,
    ImageTaggerClient,
    RejectedFileError,
    check_file,
    error_message,
)


def response(status: int, body: bytes, content_type: str) -> requests.Response:
    made = requests.Response()
    made.status_code = status
    made._content = body
    made.headers["Content-Type"] = content_type
    return made


@pytest.mark.parametrize(
    ("filename", "expected"),
    [("cat.jpg", "image/jpeg"), ("CAT.JPEG", "image/jpeg"), ("scan.png", "image/png"), ("x.webp", "image/webp")],
)
def test_images_are_declared_with_their_type(filename: str, expected: str) -> None:
    assert check_file(filename, 1000) == expected


def test_a_text_file_is_refused_before_upload_with_the_accepted_types_named() -> None:
    with pytest.raises(RejectedFileError, match=r"notes.txt: text/plain files are not accepted; use JPEG, PNG"):
        check_file("notes.txt", 100)


def test_a_file_without_extension_is_refused() -> None:
    with pytest.raises(RejectedFileError, match="application/octet-stream files are not accepted"):
        check_file("IMG_0001", 100)


def test_an_empty_file_is_refused() -> None:
    with pytest.raises(RejectedFileError, match="the file is empty"):
        check_file("empty.jpg", 0)


def test_a_file_over_the_limit_is_refused_with_both_sizes() -> None:
    with pytest.raises(RejectedFileError, match=r"the file is 12\.0 MB; the limit is 10\.0 MB"):
        check_file("big.jpg", 12_000_000, max_bytes=10_000_000)
    assert check_file("ok.jpg", 10_000_000, max_bytes=10_000_000) == "image/jpeg"


def test_the_apis_json_message_is_what_the_user_sees() -> None:
    answer = response(413, b'{"message": "the file is 30 MB; at most 10 MB"}', "application/json")
    assert error_message(answer) == "the file is 30 MB; at most 10 MB"


def test_request_validation_details_name_the_field() -> None:
    body = b'{"statusCode": 422, "detail": [{"loc": ["body", "size"], "msg": "Input should be a valid integer"}]}'
    assert error_message(response(422, body, "application/json")) == "size: Input should be a valid integer"


def test_s3_xml_errors_show_their_message() -> None:
    body = b"<Error><Code>EntityTooLarge</Code><Message>Your proposed upload exceeds the maximum</Message></Error>"
    assert error_message(response(400, body, "application/xml")) == "Your proposed upload exceeds the maximum"


def test_an_empty_error_body_falls_back_to_the_status() -> None:
    assert error_message(response(502, b"", "text/plain")) == "HTTP 502"


def test_server_and_network_errors_are_retriable_client_errors_are_not() -> None:
    assert ApiError(0, "no network").retriable
    assert ApiError(503, "model endpoint busy").retriable
    assert not ApiError(400, "bad type").retriable
    assert not ApiError(404, "not found").retriable


def test_an_image_record_reads_tags_with_their_parent_category() -> None:
    record = ImageRecord.from_json(
        {
            "image_id": "abc",
            "filename": "dog.jpg",
            "status": "TAGGED",
            "tags": [{"name": "dog", "confidence": 0.93, "parents": ["animal"]}, {"name": "person", "confidence": 0.6}],
            "model_version": "efficientnet_lite0-1",
        }
    )
    assert [(tag.name, tag.parent, tag.confidence) for tag in record.tags] == [
        ("dog", "animal", 0.93),
        ("person", None, 0.6),
    ]
    assert record.error is None


def test_calls_that_need_a_user_say_so_without_touching_the_network() -> None:
    client = ImageTaggerClient("http://127.0.0.1:9")  # discard port: nothing may be sent
    with pytest.raises(ApiError, match="not signed in") as raised:
        client.list_tags()
    assert raised.value.status == 401


def test_an_unreachable_api_is_a_retriable_error_naming_the_address() -> None:
    client = ImageTaggerClient("http://127.0.0.1:9", token="t", timeout_s=2)
    with pytest.raises(ApiError, match=r"the API at http://127.0.0.1:9 did not answer") as raised:
        client.health()
    assert raised.value.retriable
