"""The local endpoint over HTTP: SageMaker's container routes and the runtime API boto3 calls."""

from __future__ import annotations

import base64
import io
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
import numpy as np
import pytest
import requests
from botocore.exceptions import ClientError

from imagetagger.preprocessing import prepare_bytes
from imagetagger_endpoint.server import RunningEndpoint, start_endpoint

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "coco-sample" / "val"
MAX_BODY = 1024 * 1024  # above a batch of three prepared images (3 x 300 x 300 x 3 bytes)


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory):
    pytest.importorskip("onnx")
    from imagetagger_endpoint.tiny_model import write_tiny_model

    running = start_endpoint(write_tiny_model(tmp_path_factory.mktemp("tiny")), max_body_bytes=MAX_BODY)
    yield running
    running.close()


@pytest.fixture(scope="module")
def jpeg() -> bytes:
    return sorted(SAMPLE.glob("*.jpg"))[0].read_bytes()


@pytest.fixture
def runtime(endpoint: RunningEndpoint):
    return boto3.client(
        "sagemaker-runtime",
        endpoint_url=endpoint.url,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def npy_body(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def invoke(endpoint: RunningEndpoint, body: bytes, content_type: str, path: str = "/invocations"):
    return requests.post(endpoint.url + path, data=body, headers={"Content-Type": content_type}, timeout=30)


def test_ping_says_healthy(endpoint):
    answer = requests.get(endpoint.url + "/ping", timeout=5)
    assert answer.status_code == 200
    assert answer.json()["model_version"] == "tiny-test"


def test_jpeg_invocation_returns_tags(endpoint, jpeg):
    answer = invoke(endpoint, jpeg, "image/jpeg")

    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "application/json"
    (prediction,) = answer.json()["predictions"]
    assert prediction["tags"] and {"name", "confidence", "parents"} <= set(prediction["tags"][0])


def test_boto3_invoke_endpoint_with_a_preprocessed_batch(runtime, jpeg):
    batch = np.stack([prepare_bytes(jpeg)] * 3)

    response = runtime.invoke_endpoint(
        EndpointName="imagetagger", ContentType="application/x-npy", Body=npy_body(batch)
    )

    assert response["ContentType"] == "application/json"
    document = json.loads(response["Body"].read())
    assert len(document["predictions"]) == 3
    assert document["predictions"][0] == document["predictions"][2]


def test_boto3_sees_a_bad_payload_as_aws_model_error_with_the_original_400(runtime):
    with pytest.raises(ClientError) as caught:
        runtime.invoke_endpoint(
            EndpointName="imagetagger", ContentType="application/x-npy", Body=npy_body(np.zeros((1, 8, 8, 3)))
        )

    error = caught.value.response
    assert error["Error"]["Code"] == "ModelError"
    assert error["OriginalStatusCode"] == 400
    assert "uint8" in json.loads(error["OriginalMessage"])["message"]


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b"not an image", "image/jpeg", 400),
        (b'{"images": "nope"}', "application/json", 400),
        (b"\x00\x01", "application/x-npy", 400),
        (b"hello", "text/plain", 415),
    ],
)
def test_bad_payloads_get_a_4xx_message_and_the_server_keeps_serving(endpoint, jpeg, body, content_type, status):
    answer = invoke(endpoint, body, content_type)

    assert answer.status_code == status
    assert answer.json()["message"]
    assert invoke(endpoint, jpeg, "image/jpeg").status_code == 200


def test_a_body_over_the_cap_is_a_413_without_reading_it(endpoint, jpeg):
    answer = invoke(endpoint, b"\xff" * (MAX_BODY + 1), "image/jpeg")

    assert answer.status_code == 413
    assert str(MAX_BODY) in answer.json()["message"]
    assert invoke(endpoint, jpeg, "image/jpeg").status_code == 200


def test_unknown_routes_are_404(endpoint):
    assert requests.get(endpoint.url + "/models", timeout=5).status_code == 404
    assert invoke(endpoint, b"x", "image/jpeg", path="/endpoints/a/b/invocations").status_code == 404


def test_concurrent_json_batches_all_succeed(endpoint, jpeg):
    body = json.dumps({"images": [base64.b64encode(jpeg).decode()] * 2}).encode()

    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(lambda _: invoke(endpoint, body, "application/json"), range(12)))

    assert [a.status_code for a in answers] == [200] * 12
    assert len({json.dumps(a.json()) for a in answers}) == 1
