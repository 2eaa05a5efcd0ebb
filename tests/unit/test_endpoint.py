"""EndpointClient against a real botocore sagemaker-runtime client with its responses stubbed."""

import io
import json

import boto3
import numpy as np
import pytest
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber

from imagetagger.errors import InvalidImageError, ModelEndpointError
from imagetagger.model_client import EndpointClient


@pytest.fixture
def runtime():
    client = boto3.client(
        "sagemaker-runtime", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    with Stubber(client) as stubber:
        yield client, stubber


BOX = {"box": [0.1, 0.2, 0.3, 0.4], "confidence": 0.75}


def _body(document) -> StreamingBody:
    raw = json.dumps(document).encode()
    return StreamingBody(io.BytesIO(raw), len(raw))


def _batch(n=1):
    return np.zeros((n, 224, 224, 3), dtype=np.uint8)


def test_sends_npy_and_parses_predictions(runtime):
    client, stubber = runtime
    answer = {
        "model_version": "m1",
        "predictions": [
            {
                "tags": [
                    {"name": "cat", "confidence": 0.8, "parents": ["animal"], "instances": [BOX]},
                    {"name": "person", "confidence": 0.6, "parents": []},  # an endpoint from before boxes
                ]
            },
            {"tags": []},
        ],
    }
    stubber.add_response(
        "invoke_endpoint",
        {"Body": _body(answer), "ContentType": "application/json"},
        {"EndpointName": "ep", "ContentType": "application/x-npy", "Accept": "application/json", "Body": ANY},
    )
    predictions = EndpointClient("ep", client).predict(_batch(2))
    assert [p.tags for p in predictions] == [
        [
            {"name": "cat", "confidence": 0.8, "parents": ["animal"], "instances": [BOX]},
            {"name": "person", "confidence": 0.6, "parents": [], "instances": []},
        ],
        [],
    ]
    assert predictions[0].model_version == "m1"


def test_model_4xx_is_a_permanent_image_error(runtime):
    client, stubber = runtime
    stubber.add_client_error(
        "invoke_endpoint",
        service_error_code="ModelError",
        service_message="Received client error (400) from primary",
        http_status_code=424,
        modeled_fields={"OriginalStatusCode": 400, "OriginalMessage": json.dumps({"message": "bad pixels"})},
    )
    with pytest.raises(InvalidImageError, match="bad pixels"):
        EndpointClient("ep", client).predict(_batch())


@pytest.mark.parametrize(
    "code,status", [("ServiceUnavailable", 503), ("ThrottlingException", 400), ("ModelError", 424)]
)
def test_service_failures_are_retriable(runtime, code, status):
    client, stubber = runtime
    fields = {"OriginalStatusCode": 500} if code == "ModelError" else None
    stubber.add_client_error("invoke_endpoint", service_error_code=code, http_status_code=status, modeled_fields=fields)
    with pytest.raises(ModelEndpointError):
        EndpointClient("ep", client).predict(_batch())


@pytest.mark.parametrize(
    "answer",
    [{"predictions": []}, {"model_version": "m", "predictions": [{}]}, {"model_version": "m", "predictions": []}],
)
def test_unexpected_answers_are_retriable_errors(runtime, answer):
    client, stubber = runtime
    stubber.add_response("invoke_endpoint", {"Body": _body(answer)})
    with pytest.raises(ModelEndpointError):
        EndpointClient("ep", client).predict(_batch())


def test_rejects_arrays_that_are_not_the_model_input():
    with pytest.raises(ValueError, match="uint8"):
        EndpointClient("ep", object()).predict(np.zeros((1, 224, 224, 3), dtype=np.float32))
