"""The S3 gateway's signature check agrees with how boto3 signs, and refuses forged, expired or anonymous requests."""

from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.awsrequest import AWSRequest
from botocore.config import Config

from imagetagger_local.sigv4 import SignatureError, verify_s3_request

CREDENTIALS = {"testing": "testing"}
GATEWAY = "http://127.0.0.1:9000"


def presigned_get(key="uploads/alice/ü x+y", expires_s=60, secret="testing"):
    s3 = boto3.client(
        "s3",
        endpoint_url=GATEWAY,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key=secret,
        config=Config(signature_version="s3v4"),
    )
    return urlsplit(s3.generate_presigned_url("get_object", Params={"Bucket": "b", "Key": key}, ExpiresIn=expires_s))


def verify_url(url, now=None, method="GET"):
    verify_s3_request(method, url.netloc, url.path, url.query, {}, b"", CREDENTIALS, now or datetime.now(UTC))


def test_a_presigned_get_from_boto3_is_accepted():
    verify_url(presigned_get())


def test_a_presigned_get_for_another_key_or_method_is_refused():
    url = presigned_get("uploads/alice/photo")
    with pytest.raises(SignatureError):
        verify_url(url._replace(path="/b/uploads/bob/photo"))
    with pytest.raises(SignatureError):
        verify_url(url, method="DELETE")


def test_an_expired_or_foreign_presigned_get_is_refused():
    with pytest.raises(SignatureError, match="expired"):
        verify_url(presigned_get(expires_s=60), now=datetime.now(UTC) + timedelta(seconds=61))
    with pytest.raises(SignatureError, match="signature"):
        verify_url(presigned_get(secret="someone-elses-secret"))


def signed_by_boto3(method, body=b""):
    """The exact request a boto3 S3 client sends (header signature), captured before it leaves."""
    s3 = boto3.client(
        "s3",
        endpoint_url=GATEWAY,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    captured = {}

    def capture(request: AWSRequest, **_):
        captured["request"] = request
        raise RuntimeError("captured")

    s3.meta.events.register("before-send.s3.*", capture)
    with pytest.raises(RuntimeError, match="captured"):
        if method == "PUT":
            s3.put_object(Bucket="b", Key="uploads/alice/x", Body=body)
        else:
            s3.get_object(Bucket="b", Key="uploads/alice/ü x")
    request = captured["request"]
    url = urlsplit(request.url)
    headers = {k: v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()}
    return request.method, url, headers, request.body or b""


@pytest.mark.parametrize("method", ["GET", "PUT"])
def test_header_signed_requests_from_boto3_are_accepted(method):
    verb, url, headers, body = signed_by_boto3(method, body=b"jpeg bytes")
    body = body if isinstance(body, bytes) else body.read()
    verify_s3_request(verb, url.netloc, url.path, url.query, headers, body, CREDENTIALS, datetime.now(UTC))


def test_a_tampered_header_signed_request_is_refused():
    verb, url, headers, _ = signed_by_boto3("GET")
    with pytest.raises(SignatureError):
        verify_s3_request(verb, url.netloc, "/b/uploads/bob/x", url.query, headers, b"", CREDENTIALS, datetime.now(UTC))


def test_anonymous_requests_are_refused():
    with pytest.raises(SignatureError, match="Access Denied"):
        verify_s3_request("GET", "127.0.0.1:9000", "/b/uploads/alice/x", "", {}, b"", CREDENTIALS, datetime.now(UTC))
