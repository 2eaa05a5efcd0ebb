"""Find similar over HTTP against the local stack (issue 15): real uploads, the real model's embeddings, isolation."""

from __future__ import annotations

import time
from pathlib import Path

import boto3
import pytest
import requests
from test_isolation import _wait_tagged, new_user

from imagetagger.embedding_store import matrix_key
from imagetagger.embeddings import Matrix

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
ZEBRA = ROOT / "data" / "coco-sample" / "val" / "000000244592.jpg"
KITCHEN = ROOT / "data" / "coco-sample" / "val" / "000000000139.jpg"  # people, a tv, chairs, a dining table


def _similar(stack, user: str, image_id: str, **params) -> requests.Response:
    return requests.get(
        f"{stack.api_url}/images/{image_id}/similar", params=params, headers=stack.auth(user), timeout=30
    )


def test_an_upload_gets_an_embedding_and_similar_photos_are_the_users_own(local_stack):
    alice, mallory = new_user("alice"), new_user("mallory")
    zebra, again, kitchen = (local_stack.upload(alice, photo) for photo in (ZEBRA, ZEBRA, KITCHEN))
    theirs = local_stack.upload(mallory, ZEBRA)
    for user, image_id in ((alice, zebra), (alice, again), (alice, kitchen), (mallory, theirs)):
        assert _wait_tagged(local_stack, user, image_id)["status"] == "TAGGED"

    # Stored with the tags: 128 float16 values from the serving model; the processing function has already put the
    # three into alice's packed matrix (no search has run yet, so nothing was rebuilt).
    moto = {
        "endpoint_url": local_stack.moto_url,
        "region_name": "us-east-1",
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",  # noqa: S106 - the local stack's fixed credentials
    }
    (table,) = [t for t in boto3.resource("dynamodb", **moto).tables.all() if "ImagesTable" in t.name]
    item = table.get_item(Key={"user_id": alice, "image_id": zebra})["Item"]
    served = requests.get(f"{local_stack.api_url}/images/{zebra}", headers=local_stack.auth(alice), timeout=30)
    assert len(item["embedding"].value) == 2 * 128
    assert item["embedding_version"] == served.json()["model_version"]
    s3 = boto3.client("s3", **{**moto, "endpoint_url": local_stack.s3_url})  # S3 is behind the stack's gateway
    (bucket,) = [b["Name"] for b in s3.list_buckets()["Buckets"] if "-uploads" in b["Name"]]  # the UploadBucket

    def packed_ids() -> list[str]:  # the row is upserted just after the TAGGED write: wait a moment for the last one
        try:
            body = s3.get_object(Bucket=bucket, Key=matrix_key(alice))["Body"].read()
        except s3.exceptions.NoSuchKey:
            return []
        return sorted(Matrix.from_bytes(body).image_ids.tolist())

    deadline = time.monotonic() + 30
    while packed_ids() != sorted([zebra, again, kitchen]) and time.monotonic() < deadline:
        time.sleep(0.3)
    assert packed_ids() == sorted([zebra, again, kitchen])

    response = _similar(local_stack, alice, zebra, limit=5)
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert [i["image_id"] for i in items] == [again, kitchen]  # never itself, never mallory's zebra
    assert items[0]["similarity"] > 0.99 > items[1]["similarity"]
    assert items[0]["thumbnail_url"] and "zebra" in [t["name"] for t in items[0]["tags"]]

    assert _similar(local_stack, mallory, zebra).status_code == 404
    assert _similar(local_stack, mallory, theirs).json()["items"] == []
    assert _similar(local_stack, alice, zebra, limit=0).status_code == 422
    unknown = "0192a3b4c5d6e7f80912a3b4c5d6e7f8"
    assert _similar(local_stack, alice, unknown).status_code == 404
