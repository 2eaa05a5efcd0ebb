"""Client of the model endpoint (SageMaker runtime InvokeEndpoint), speaking the protocol in docs/architecture.md."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Any

import numpy as np
from botocore.exceptions import BotoCoreError, ClientError

from imagetagger.embeddings import from_base64
from imagetagger.errors import InvalidImageError, ModelEndpointError
from imagetagger.tags import Tag, tag_from_dict

NPY_CONTENT_TYPE = "application/x-npy"
# One call may take this many attempts of (connect + read timeout): the processing function keeps that much time in
# hand before it calls, so a slow endpoint fails a record instead of timing out the whole batch.
MAX_ATTEMPTS = 3
CONNECT_TIMEOUT_S = 5.0


# SageMaker's InvokeEndpoint payload limit (the local server enforces the same) and the endpoint's images per request
# (imagetagger_endpoint.handler.MAX_BATCH): a batch above either is sent in several calls.
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024
MAX_IMAGES_PER_CALL = 64
_NPY_HEADER_BYTES = 128


def call_budget_s(read_timeout_s: float) -> float:
    """The longest one predict() can take with the client from imagetagger.aws."""
    return MAX_ATTEMPTS * (CONNECT_TIMEOUT_S + read_timeout_s)


def images_per_call(image_bytes: int) -> int:
    """How many prepared images of `image_bytes` each one request may carry."""
    return max(1, min(MAX_IMAGES_PER_CALL, (MAX_PAYLOAD_BYTES - _NPY_HEADER_BYTES) // max(1, image_bytes)))


@dataclass(frozen=True)
class Prediction:
    tags: list[Tag]
    model_version: str
    # D float16 little-endian values (imagetagger.embeddings), None from a model without an embedding output.
    embedding: bytes | None = None


class EndpointClient:
    """`runtime` is a boto3 `sagemaker-runtime` client (or anything with the same invoke_endpoint)."""

    def __init__(self, endpoint_name: str, runtime: Any) -> None:
        self.endpoint_name = endpoint_name
        self._runtime = runtime

    def predict(self, images: np.ndarray) -> list[Prediction]:
        """Tags for a uint8 batch [N, H, W, 3]. Raises ModelEndpointError (retriable) or InvalidImageError (the
        model refused this input: retrying cannot help)."""
        if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] != 3:
            raise ValueError(f"expected uint8 [N, H, W, 3], got {images.dtype} {images.shape}")
        buffer = io.BytesIO()
        np.save(buffer, images, allow_pickle=False)
        try:
            response = self._runtime.invoke_endpoint(
                EndpointName=self.endpoint_name,
                ContentType=NPY_CONTENT_TYPE,
                Accept="application/json",
                Body=buffer.getvalue(),
            )
            body = response["Body"].read()
        except ClientError as exc:
            raise _classify(exc) from exc
        except BotoCoreError as exc:  # connection refused, read timeout, ...
            raise ModelEndpointError(f"the model endpoint is unreachable: {exc}") from exc
        return _parse(body, expected=len(images))


def _classify(exc: ClientError) -> Exception:
    error = exc.response.get("Error", {})
    original = exc.response.get("OriginalStatusCode")
    if error.get("Code") == "ModelError" and isinstance(original, int) and 400 <= original < 500:
        return InvalidImageError(f"the model rejected the image: {_original_message(exc)}")
    return ModelEndpointError(f"the model endpoint failed: {error.get('Code', 'error')}: {error.get('Message', '')}")


def _original_message(exc: ClientError) -> str:
    raw = exc.response.get("OriginalMessage", "")
    try:
        return str(json.loads(raw).get("message", raw))
    except (ValueError, AttributeError):
        return str(raw)


def _parse(body: bytes, expected: int) -> list[Prediction]:
    try:
        document = json.loads(body)
        version = str(document["model_version"])
        predictions = [
            Prediction(
                tags=[tag_from_dict(tag) for tag in prediction["tags"]],
                model_version=version,
                embedding=from_base64(prediction["embedding"]) if prediction.get("embedding") is not None else None,
            )
            for prediction in document["predictions"]
        ]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:  # EmbeddingFormatError is a ValueError
        raise ModelEndpointError(f"the model endpoint answered something unexpected: {exc}") from exc
    if len(predictions) != expected:
        raise ModelEndpointError(f"the model endpoint returned {len(predictions)} predictions for {expected} images")
    return predictions
