"""The S3 gateway refuses presigned POST uploads that S3 would refuse (moto accepts them all)."""

from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.config import Config

from imagetagger_local.post_policy import PolicyViolationError, check_post_upload

BUCKET = "uploads-bucket"
CREDENTIALS = {"testing": "testing"}


def presigned_post(signature_version: str = "s3v4", key: str = "uploads/alice/img-1", max_bytes: int = 1000):
    """A form exactly as the presign Lambda builds it: fixed key, Content-Type and a size range."""
    s3 = boto3.client(
        "s3",
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:9000",
        config=Config(signature_version=signature_version),
    )
    post = s3.generate_presigned_post(
        BUCKET,
        key,
        Fields={"Content-Type": "image/jpeg"},
        Conditions=[{"Content-Type": "image/jpeg"}, ["content-length-range", 1, max_bytes]],
        ExpiresIn=300,
    )
    return dict(post["fields"])


@pytest.mark.parametrize("signature_version", ["s3v4", "s3"])
def test_an_untouched_form_is_accepted_and_names_its_key(signature_version):
    fields = presigned_post(signature_version)
    assert check_post_upload(fields, BUCKET, 500, CREDENTIALS, datetime.now(UTC)) == "uploads/alice/img-1"


def refusal(fields, bucket=BUCKET, size=500, now=None) -> PolicyViolationError:
    now = now or datetime.now(UTC)
    with pytest.raises(PolicyViolationError) as caught:
        check_post_upload(fields, bucket, size, CREDENTIALS, now)
    return caught.value


def test_a_changed_content_type_is_refused():
    fields = presigned_post() | {"Content-Type": "text/html"}
    error = refusal(fields)
    assert (error.status, error.code) == (403, "AccessDenied")
    assert "Content-Type" in error.message.replace("content-type", "Content-Type")


def test_another_users_key_is_refused():
    fields = presigned_post() | {"key": "uploads/bob/img-1"}
    assert refusal(fields).status == 403


def test_a_file_over_the_size_range_is_refused():
    error = refusal(presigned_post(max_bytes=1000), size=1001)
    assert (error.status, error.code) == (400, "EntityTooLarge")


def test_an_empty_file_is_refused():
    assert refusal(presigned_post(), size=0).code == "EntityTooSmall"


def test_an_expired_form_is_refused():
    fields = presigned_post()  # expires 300 s from now
    error = refusal(fields, now=datetime.now(UTC) + timedelta(seconds=301))
    assert error.status == 403 and "expired" in error.message


def test_a_form_for_another_bucket_is_refused():
    assert refusal(presigned_post(), bucket="someone-elses-bucket").status == 403


def test_a_forged_policy_fails_the_signature_check():
    import base64
    import json

    fields = presigned_post()
    policy = json.loads(base64.b64decode(fields["policy"]))
    policy["conditions"] = [
        c for c in policy["conditions"] if not (isinstance(c, list) and c[0] == "content-length-range")
    ]
    fields["policy"] = base64.b64encode(json.dumps(policy).encode()).decode()
    assert refusal(fields, size=10**9).code == "SignatureDoesNotMatch"


def test_a_field_the_policy_does_not_mention_is_refused():
    error = refusal(presigned_post() | {"x-amz-meta-owner": "mallory"})
    assert error.status == 403 and "x-amz-meta-owner" in error.message


def test_an_unknown_access_key_is_refused():
    fields = presigned_post()
    fields["x-amz-credential"] = "AKIAOTHER/" + fields["x-amz-credential"].split("/", 1)[1]
    assert refusal(fields).code == "InvalidAccessKeyId"


def test_a_form_without_policy_is_anonymous_and_refused():
    assert refusal({"key": "uploads/alice/x"}).status == 403
