"""The local S3 gateway reads presigned POST forms the way S3 does, and moto stores exactly the form it checked.

Regression tests for the hostile user's D1-D3 (issue 12): a second `key` field spelled `KEY`, an extra file part,
and a `Key` field. The gateway and moto run for real on free ports; forms are built by hand, as an attacker would.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import boto3
import pytest
import requests
from botocore.config import Config
from moto.server import ThreadedMotoServer

from imagetagger_local.config import free_port
from imagetagger_local.s3_gateway import S3Gateway
from imagetagger_local.servers import BackgroundServer

BUCKET = "uploads-bucket"
CREDENTIALS = {"testing": "testing"}
MAX_BYTES = 1_000_000


@dataclass
class Gateway:
    url: str
    s3: object  # boto3 S3 client straight to moto: what was really stored

    def form_for(self, user: str) -> dict[str, str]:
        """A presigned POST exactly as the presign Lambda builds it: fixed key and type, a size range."""
        signer = boto3.client(
            "s3",
            region_name="us-east-1",
            endpoint_url=self.url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(signature_version="s3v4"),
        )
        post = signer.generate_presigned_post(
            BUCKET,
            f"uploads/{user}/{secrets.token_hex(16)}",
            Fields={"Content-Type": "image/jpeg"},
            Conditions=[{"Content-Type": "image/jpeg"}, ["content-length-range", 1, MAX_BYTES]],
            ExpiresIn=300,
        )
        return dict(post["fields"])

    def post(self, parts: list[tuple[str, bytes | str, str | None]]) -> requests.Response:
        """POST a multipart body with exactly these parts, in this order (name, value, filename or None)."""
        boundary = secrets.token_hex(12)
        chunks = []
        for name, value, filename in parts:
            disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
            data = value.encode() if isinstance(value, str) else value
            chunks.append(f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + data)
        body = b"\r\n".join(chunks) + f"\r\n--{boundary}--\r\n".encode()
        headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        return requests.post(f"{self.url}/{BUCKET}", data=body, headers=headers, timeout=30)

    def stored(self, key: str) -> bytes | None:
        try:
            return self.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
        except self.s3.exceptions.NoSuchKey:
            return None


@pytest.fixture(scope="module")
def gateway() -> Iterator[Gateway]:
    moto_port, gateway_port = free_port(), free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=moto_port, verbose=False)
    moto.start()
    moto_url = f"http://127.0.0.1:{moto_port}"
    s3 = boto3.client(
        "s3", endpoint_url=moto_url, region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="x"
    )
    s3.create_bucket(Bucket=BUCKET)
    server = BackgroundServer("s3-gateway", "127.0.0.1", gateway_port, S3Gateway(moto_url, CREDENTIALS, "us-east-1"))
    server.start()
    try:
        yield Gateway(f"http://127.0.0.1:{gateway_port}", s3)
    finally:
        server.stop()
        moto.stop()


def as_parts(fields: dict[str, str]) -> list[tuple[str, bytes | str, str | None]]:
    return [(name, value, None) for name, value in fields.items()]


def assert_s3_error(response: requests.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/xml")
    assert f"<Code>{code}</Code>" in response.text


def test_an_untouched_form_stores_the_file_under_its_key(gateway):
    fields = gateway.form_for("alice")
    response = gateway.post([*as_parts(fields), ("file", b"alice's photo", "a.jpg")])
    assert response.status_code == 204, response.text
    assert gateway.stored(fields["key"]) == b"alice's photo"
    # The form's fields still reach moto: the object's type is the policy-pinned Content-Type field.
    assert gateway.s3.head_object(Bucket=BUCKET, Key=fields["key"])["ContentType"] == "image/jpeg"


def test_bob_cannot_write_alices_prefix_with_a_second_key_field(gateway):
    # GIVEN alice's photo is stored, and bob holds a valid form for his own key
    alice = gateway.form_for("alice")
    assert gateway.post([*as_parts(alice), ("file", b"alice's photo", "a.jpg")]).status_code == 204
    bob = gateway.form_for("bob")
    # WHEN bob sends alice's key as `key` and his own signed key as `KEY`, in either order
    for parts in (
        [("key", alice["key"], None), *[("KEY" if n == "key" else n, v, None) for n, v in bob.items()]],
        [*[("KEY" if n == "key" else n, v, None) for n, v in bob.items()], ("key", alice["key"], None)],
    ):
        response = gateway.post([*parts, ("file", b"bob's file", "b.jpg")])
        # THEN S3's answer is a 400 for the duplicate field, and alice's photo is untouched
        assert_s3_error(response, 400, "InvalidArgument")
        assert "appears more than once" in response.text
    assert gateway.stored(alice["key"]) == b"alice's photo"
    assert gateway.stored(bob["key"]) is None


def test_a_key_field_spelled_Key_is_read_as_key_and_stored_there(gateway):
    # S3 field names are case-insensitive; moto raised on `Key` and the gateway passed on a 500 (D3).
    fields = gateway.form_for("alice")
    fields["Key"] = fields.pop("key")
    response = gateway.post([*as_parts(fields), ("file", b"photo", "a.jpg")])
    assert response.status_code == 204, response.text
    assert gateway.stored(fields["Key"]) == b"photo"


def test_a_form_without_any_key_field_is_a_400_not_a_500(gateway):
    fields = gateway.form_for("alice")
    del fields["key"]
    response = gateway.post([*as_parts(fields), ("file", b"photo", "a.jpg")])
    assert_s3_error(response, 400, "InvalidArgument")


@pytest.mark.parametrize("where", ["before", "after"])
def test_a_12_mb_extra_part_is_refused_and_nothing_is_stored(gateway, where):
    # D2: the size range was measured on `file` only while moto stored the last file part of any name.
    fields = gateway.form_for("alice")
    big = ("zz", b"\xff" * (12 * 1024 * 1024), "zz.jpg")
    small = ("file", b"small", "a.jpg")
    parts = [*as_parts(fields), *([big, small] if where == "before" else [small, big])]
    response = gateway.post(parts)
    expected = "MaxPostPreDataLengthExceeded" if where == "before" else "InvalidArgument"
    assert_s3_error(response, 400, expected)
    assert gateway.stored(fields["key"]) is None


def test_two_file_fields_are_refused(gateway):
    fields = gateway.form_for("alice")
    response = gateway.post([*as_parts(fields), ("file", b"one", "a.jpg"), ("FILE", b"two", "b.jpg")])
    assert_s3_error(response, 400, "InvalidArgument")
    assert gateway.stored(fields["key"]) is None


def test_a_file_over_the_policys_size_range_is_refused(gateway):
    fields = gateway.form_for("alice")
    response = gateway.post([*as_parts(fields), ("file", b"x" * (MAX_BYTES + 1), "a.jpg")])
    assert_s3_error(response, 400, "EntityTooLarge")
    assert gateway.stored(fields["key"]) is None


@pytest.mark.parametrize(
    "body, content_type",
    [
        (b'--b\r\nContent-Disposition: form-data; name="key"\r\n\r\nuploads/a', "multipart/form-data; boundary=b"),
        (b"not multipart at all", "multipart/form-data; boundary=zzz"),
        (b"--b\r\nX: y\r\n\r\nvalue\r\n--b--\r\n", "multipart/form-data; boundary=b"),
        (b"", "multipart/form-data"),
    ],
    ids=["truncated", "no-boundary-in-body", "part-without-disposition", "no-boundary-parameter"],
)
def test_malformed_bodies_get_s3s_400(gateway, body, content_type):
    response = requests.post(f"{gateway.url}/{BUCKET}", data=body, headers={"Content-Type": content_type}, timeout=10)
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["Content-Type"].startswith("application/xml")


def test_filename_variable_in_the_key_resolves_to_the_files_base_name(gateway):
    # S3 replaces ${filename}; the policy's exact key condition must then still hold for the form to pass.
    fields = gateway.form_for("alice")
    key = fields["key"]
    prefix, image_id = key.rsplit("/", 1)
    fields["key"] = f"{prefix}/${{filename}}"
    response = gateway.post([*as_parts(fields), ("file", b"photo", f"../../bob/{image_id}")])
    assert_s3_error(response, 403, "AccessDenied")  # the policy pins the key; nothing is stored anywhere
    assert gateway.stored(key) is None and gateway.stored(f"uploads/bob/{image_id}") is None
