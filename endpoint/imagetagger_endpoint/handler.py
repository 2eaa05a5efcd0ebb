"""SageMaker's inference contract: model_fn / input_fn / predict_fn / output_fn.

The same four functions run inside SageMaker's container (packed as code/inference.py) and behind the local HTTP
server, so the local stack exercises exactly the code that serves in AWS. Errors are `ImageTaggerError`s that carry
their HTTP status (400 bad payload, 413 too large, 415 unsupported content type).
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from imagetagger.embeddings import to_base64
from imagetagger.errors import ImageTaggerError, InvalidImageError, UnsupportedMediaTypeError
from imagetagger.media import MEDIA_TYPES, parse_media_type
from imagetagger.modelspec import ModelSpec, load_model_spec
from imagetagger.preprocessing import decode_image, prepare
from imagetagger.tags import instances_by_class, tags_from_probabilities
from imagetagger_endpoint.backends import (
    BOX_OUTPUTS,
    EMBEDDING_OUTPUT,
    OUTPUT_NAME,
    Backend,
    Outputs,
    load_backend,
    merge_chunks,
)
from imagetagger_endpoint.selection import cache_dir_for, choose_backend

logger = logging.getLogger(__name__)

NPY = "application/x-npy"
JSON = "application/json"
# One encoded image per request. JPEG and PNG are the contract; the other formats preprocessing accepts come along,
# and application/x-image is SageMaker's generic name for "an encoded image".
IMAGE_TYPES = (*MEDIA_TYPES, "application/x-image")
SUPPORTED_CONTENT_TYPES = (NPY, *IMAGE_TYPES, JSON)
MAX_BATCH = 64  # images per request: keeps one invocation far below SageMaker's 60 s limit
INFERENCE_CHUNK = 16  # larger requests run in chunks, so memory stays flat

# Decoding (Pillow releases the GIL) overlaps across a request's images and with other requests' inference.
_decode_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="decode")


class InvalidPayloadError(ImageTaggerError):
    """The request body does not match its content type (400)."""


class NotAcceptableError(ImageTaggerError):
    """The client accepts no format we answer in (406)."""

    status_code = 406


@dataclass
class TaggingModel:
    spec: ModelSpec
    backend: Backend
    # Inference is serialised: one run already uses every core, concurrent runs would only thrash the caches.
    lock: threading.Lock = field(default_factory=threading.Lock)

    def probabilities(self, batch: np.ndarray) -> np.ndarray:
        return self.outputs(batch)[OUTPUT_NAME]

    def outputs(self, batch: np.ndarray) -> Outputs:
        """Every output (probabilities; boxes for a detector model) of the batch, run in chunks."""
        starts = range(0, len(batch), INFERENCE_CHUNK)
        with self.lock:
            chunks = [
                (i, len(batch[i : i + INFERENCE_CHUNK]), self.backend.run_outputs(batch[i : i + INFERENCE_CHUNK]))
                for i in starts
            ]
        if not chunks:
            return {OUTPUT_NAME: np.zeros((0, len(self.spec.labels)), np.float32)}
        return merge_chunks(chunks)


ModelInput = np.ndarray | list[Image.Image]


def model_fn(model_dir: str) -> TaggingModel:
    directory = Path(model_dir)
    spec = load_model_spec(directory)
    cache_dir = cache_dir_for(directory)
    backend_name = choose_backend(directory, cache_dir)
    model = TaggingModel(spec=spec, backend=load_backend(directory, backend_name, cache_dir))
    logger.info("model %s loaded with backend %s", spec.model_version, backend_name)
    return model


def input_fn(request_body: bytes | bytearray | str, request_content_type: str) -> ModelInput:
    """Parse a request body: a preprocessed uint8 batch, or decoded images to be prepared by predict_fn."""
    body = request_body.encode() if isinstance(request_body, str) else bytes(request_body)
    kind = parse_media_type(request_content_type)
    if kind == NPY:
        return _parse_npy(body)
    if kind in IMAGE_TYPES:
        return [decode_image(body)]
    if kind == JSON:
        return _parse_json(body)
    raise UnsupportedMediaTypeError(
        f"content type {request_content_type!r} is not supported; use one of {', '.join(SUPPORTED_CONTENT_TYPES)}"
    )


def _parse_npy(body: bytes) -> np.ndarray:
    try:
        array = np.load(io.BytesIO(body), allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise InvalidPayloadError(f"the body is not a valid .npy array: {exc}") from exc
    if not isinstance(array, np.ndarray) or array.dtype != np.uint8:
        raise InvalidPayloadError(f"the array must be uint8 [N, H, W, 3] RGB, got dtype {array.dtype}")
    if array.ndim not in (3, 4) or array.shape[-1] != 3:
        raise InvalidPayloadError(f"the array must be uint8 [N, H, W, 3] RGB, got shape {list(array.shape)}")
    if array.ndim == 3:  # one image without its batch axis
        array = array[np.newaxis]
    _check_batch_size(array.shape[0])
    return array


def _parse_json(body: bytes) -> list[Image.Image]:
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidPayloadError(f"the body is not valid JSON: {exc}") from exc
    images = document.get("images") if isinstance(document, dict) else None
    if not isinstance(images, list) or not all(isinstance(item, str) for item in images):
        raise InvalidPayloadError('the JSON body must be {"images": ["<base64 image>", ...]}')
    _check_batch_size(len(images))

    def decode(indexed: tuple[int, str]) -> Image.Image:
        index, text = indexed
        try:
            return decode_image(base64.b64decode(text, validate=True))
        except binascii.Error as exc:
            raise InvalidPayloadError(f"images[{index}] is not valid base64") from exc
        except InvalidImageError as exc:
            raise InvalidImageError(f"images[{index}]: {exc}") from exc

    return list(_decode_pool.map(decode, enumerate(images)))


def _check_batch_size(count: int) -> None:
    if count < 1:
        raise InvalidPayloadError("the request holds no image")
    if count > MAX_BATCH:
        raise InvalidPayloadError(f"the request holds {count} images; at most {MAX_BATCH} are accepted per request")


def prepare_batch(data: ModelInput, size: int) -> np.ndarray:
    """The model's uint8 [N, size, size, 3] input.

    A preprocessed batch of another square size (the processing Lambda prepares at its SERVING_INPUT_SIZE) is squashed
    again to the model's size: the model owns its input size, so a promoted model of another size (a retrained
    224-px classifier, say) serves at once instead of refusing every upload until the Lambda is redeployed."""
    if isinstance(data, np.ndarray):
        height, width = data.shape[1:3]
        if height != width:
            raise InvalidPayloadError(
                f"the array must be square, [N, S, S, 3] as made by imagetagger.preprocessing.prepare "
                f"(this model's input is [N, {size}, {size}, 3]), got {list(data.shape)}"
            )
        if height == size:
            return data
        return np.stack(list(_decode_pool.map(lambda pixels: prepare(Image.fromarray(pixels), size), data)))
    return np.stack(list(_decode_pool.map(lambda image: prepare(image, size), data)))


def predict_fn(input_data: ModelInput, model: TaggingModel) -> dict[str, Any]:
    batch = prepare_batch(input_data, model.spec.size)
    outputs = model.outputs(batch)
    probabilities = outputs[OUTPUT_NAME]
    if all(name in outputs for name in BOX_OUTPUTS):
        instances = instances_by_class(*(outputs[name] for name in BOX_OUTPUTS), n_images=len(probabilities))
    else:  # a classifier-only model: tags without boxes
        instances = [{} for _ in range(len(probabilities))]
    embeddings = outputs.get(EMBEDDING_OUTPUT)
    predictions: list[dict[str, Any]] = [
        {"tags": tags_from_probabilities(row, model.spec.labels, found)}
        for row, found in zip(probabilities, instances, strict=True)
    ]
    if embeddings is not None:  # base64 of float16 little-endian (imagetagger.embeddings): 256 bytes at D = 128
        for prediction, vector in zip(predictions, embeddings, strict=True):
            prediction["embedding"] = to_base64(vector)
    return {"model_version": model.spec.model_version, "predictions": predictions}


def output_fn(prediction: dict[str, Any], accept: str | None = JSON) -> tuple[bytes, str]:
    """JSON is the only response format; SageMaker's toolkit takes (body, content type) tuples."""
    accepted = parse_media_type(accept)
    if accepted not in ("", "*/*", JSON, "application/*"):
        raise NotAcceptableError(f"responses are {JSON}; cannot answer in {accept!r}")
    return json.dumps(prediction).encode(), JSON
