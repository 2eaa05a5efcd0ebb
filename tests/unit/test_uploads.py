"""create_upload's decisions, with an in-memory repository and a real (offline) botocore S3 signer."""

import base64
import json

import boto3
import pytest

from imagetagger.errors import InvalidRequestError, PayloadTooLargeError
from imagetagger.records import ImageStatus
from imagetagger.settings import Settings
from imagetagger.uploads import clean_filename, create_upload, normalise_content_type

SETTINGS = Settings(
    images_table="i",
    tags_table="t",
    idempotency_table="d",
    upload_bucket="uploads-bucket",
    endpoint_name="e",
    max_upload_bytes=1000,
    upload_url_expires_s=120,
    pending_ttl_s=3600,
)


class RecordingRepository:
    def __init__(self):
        self.created = []

    def create_pending(self, record, expires_at):
        self.created.append((record, expires_at))


@pytest.fixture
def s3():
    # Presigning is local computation: no request is sent.
    return boto3.client("s3", region_name="us-east-1", aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret")


def _upload(s3, repo, **overrides):
    arguments = {"filename": "cat.JPG", "content_type": "image/jpeg", "size": 500} | overrides
    return create_upload("alice", settings=SETTINGS, s3=s3, repo=repo, clock=lambda: 1_800_000_000.0, **arguments)


def test_policy_pins_type_size_and_the_users_key(s3):
    repo = RecordingRepository()
    ticket = _upload(s3, repo)
    policy = json.loads(base64.b64decode(ticket.fields["policy"]))
    assert {"Content-Type": "image/jpeg"} in policy["conditions"]
    assert ["content-length-range", 1, 1000] in policy["conditions"]
    assert {"key": f"uploads/alice/{ticket.image_id}"} in policy["conditions"]
    assert {"bucket": "uploads-bucket"} in policy["conditions"]
    assert ticket.expires_in == 120


def test_records_pending_image_with_ttl(s3):
    repo = RecordingRepository()
    ticket = _upload(s3, repo, filename="../../etc/holiday\x00.jpg")
    ((record, expires_at),) = repo.created
    assert record.image_id == ticket.image_id and record.status is ImageStatus.PENDING
    assert record.filename == "holiday.jpg"
    assert expires_at == 1_800_000_000 + 3600


def test_unsupported_type_and_oversize_are_refused_before_anything_is_written(s3):
    repo = RecordingRepository()
    with pytest.raises(InvalidRequestError, match="not supported"):
        _upload(s3, repo, content_type="image/svg+xml")
    with pytest.raises(PayloadTooLargeError, match="at most 1000 bytes"):
        _upload(s3, repo, size=1001)
    assert repo.created == []


@pytest.mark.parametrize(
    "given,expected", [("image/JPEG", "image/jpeg"), ("image/jpg", "image/jpeg"), ("image/png; q=1", "image/png")]
)
def test_content_types_are_normalised(given, expected):
    assert normalise_content_type(given) == expected


@pytest.mark.parametrize("name", ["", "   ", "dir/", "\x01\x02"])
def test_filenames_without_a_visible_name_are_refused(name):
    with pytest.raises(InvalidRequestError):
        clean_filename(name)


def test_long_filenames_are_truncated():
    assert len(clean_filename("a" * 1000 + ".jpg")) == 255
