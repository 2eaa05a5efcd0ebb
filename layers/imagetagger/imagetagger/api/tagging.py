"""POST /tag: the image in the request body, tags in the response (the CLI's and mobile app's quick path)."""

from __future__ import annotations

import base64
import binascii

from aws_lambda_powertools.event_handler.router import Router

from imagetagger.api.auth import SECURITY, user_id_from_event
from imagetagger.api.schemas import TagNowResponse, TagOut, error_responses
from imagetagger.errors import InvalidRequestError
from imagetagger.quicktag import tag_image_bytes
from imagetagger.services import services

router = Router()


@router.post(
    "/tag",
    summary="Tag an image now (body: the image bytes, Content-Type image/*, up to 5 MB); stores nothing",
    description="400 when the bytes are not an image we decode, 413 when too large, 415 for a non-image type, "
    "503 when the model endpoint is unavailable.",
    tags=["tags"],
    security=SECURITY,
    responses={200: {"description": "Tags of the image"}, **error_responses(400, 413, 415, 503)},
)
def tag_now() -> TagNowResponse:
    user_id_from_event(router.current_event.raw_event)
    event = router.current_event
    body = event.body or ""
    # API Gateway base64-encodes binary bodies; a text body is taken as its UTF-8 bytes (and will fail to decode).
    try:
        data = base64.b64decode(body, validate=True) if event.is_base64_encoded else body.encode()
    except (binascii.Error, ValueError) as exc:
        raise InvalidRequestError("the request body is not valid base64") from exc
    built = services()
    prediction = tag_image_bytes(
        data,
        event.headers.get("content-type", ""),
        endpoint=built.endpoint,
        max_bytes=built.settings.tag_now_max_bytes,
    )
    return TagNowResponse(
        tags=[TagOut.model_validate(dict(tag)) for tag in prediction.tags], model_version=prediction.model_version
    )
