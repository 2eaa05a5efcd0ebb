"""Synchronous tagging of image bytes (POST /tag): validate, preprocess, call the endpoint; stores nothing.

Also the client side of that route: in AWS the body travels base64-encoded inside Lambda's 6 MB synchronous payload, so
clients send a downscaled copy (the model looks at 224 px anyway) instead of the original photo.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from imagetagger.errors import InvalidImageError, PayloadTooLargeError, UnsupportedMediaTypeError
from imagetagger.media import parse_media_type
from imagetagger.model_client import EndpointClient, Prediction
from imagetagger.modelspec import SERVING_INPUT_SIZE
from imagetagger.preprocessing import decode_image, prepare_upload

_EXIF_ORIENTATION = 0x0112
# Files above this are downscaled before POST /tag; below it they are sent as they are (no quality lost).
SHRINK_ABOVE_BYTES = 1_000_000
# Longest side of the downscaled copy: well above the model's 224 px, far below a phone photo.
QUICK_TAG_MAX_EDGE = 1024


def tag_image_bytes(data: bytes, content_type: str, *, endpoint: EndpointClient, max_bytes: int) -> Prediction:
    media_type = parse_media_type(content_type)
    if not media_type.startswith("image/"):
        raise UnsupportedMediaTypeError(f"send the image bytes with an image/* Content-Type, not {content_type!r}")
    if len(data) > max_bytes:
        raise PayloadTooLargeError(f"the image is {len(data)} bytes; at most {max_bytes} bytes are accepted here")
    pixels = prepare_upload(data, SERVING_INPUT_SIZE)  # InvalidImageError -> 400 with the reason
    return endpoint.predict(pixels[np.newaxis])[0]


def shrink_for_quick_tag(data: bytes, content_type: str) -> tuple[bytes, str]:
    """(bytes, content type) to send to POST /tag: a JPEG at most QUICK_TAG_MAX_EDGE px on its longest side when the
    file is larger than SHRINK_ABOVE_BYTES, else the file unchanged. A file that does not decode is sent unchanged, so
    the API explains what is wrong with it."""
    if len(data) <= SHRINK_ABOVE_BYTES:
        return data, content_type
    try:
        image = decode_image(data)  # EXIF orientation applied: the copy is upright
    except InvalidImageError:
        return data, content_type
    image.thumbnail((QUICK_TAG_MAX_EDGE, QUICK_TAG_MAX_EDGE))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue(), "image/jpeg"


def upright_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of the photo upright (EXIF orientation applied), as the model saw it: the size a tag's boxes
    are fractions of. None when the bytes are not an image Pillow reads. Reads the header only."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            orientation = image.getexif().get(_EXIF_ORIENTATION, 1)
    except (OSError, ValueError, Image.DecompressionBombError):
        return None
    # Orientations 5-8 turn the stored frame by 90 degrees.
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)
