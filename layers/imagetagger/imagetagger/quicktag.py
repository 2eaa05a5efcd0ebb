"""Synchronous tagging of image bytes (POST /tag): validate, preprocess, call the endpoint; stores nothing."""

from __future__ import annotations

import numpy as np

from imagetagger.endpoint import EndpointClient, Prediction
from imagetagger.errors import PayloadTooLargeError, UnsupportedMediaTypeError
from imagetagger.preprocessing import DEFAULT_SIZE, decode_image, prepare


def tag_image_bytes(data: bytes, content_type: str, *, endpoint: EndpointClient, max_bytes: int) -> Prediction:
    media_type = content_type.split(";", 1)[0].strip().lower()
    if not media_type.startswith("image/"):
        raise UnsupportedMediaTypeError(f"send the image bytes with an image/* Content-Type, not {content_type!r}")
    if len(data) > max_bytes:
        raise PayloadTooLargeError(f"the image is {len(data)} bytes; at most {max_bytes} bytes are accepted here")
    pixels = prepare(decode_image(data), DEFAULT_SIZE)  # InvalidImageError -> 400 with the reason
    return endpoint.predict(pixels[np.newaxis])[0]
