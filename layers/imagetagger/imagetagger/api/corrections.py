"""PUT /images/{image_id}/tags: the user's corrections of an image's tags (the api function)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.event_handler.router import Router
from pydantic import BaseModel, Field

from imagetagger.api.auth import SECURITY, user_id_from_event
from imagetagger.api.schemas import ImageOut, error_responses
from imagetagger.records import IMAGE_ID_PATTERN
from imagetagger.services import services

router = Router()

ImageId = Annotated[str, Path(pattern=IMAGE_ID_PATTERN, description="32 hex characters, from POST /uploads")]
TagNames = Annotated[list[Annotated[str, Field(min_length=1, max_length=100)]], Field(max_length=80)]


class CorrectionRequest(BaseModel):
    confirm: TagNames = Field(default_factory=list, description="Predicted tags that are right")
    reject: TagNames = Field(default_factory=list, description="Predicted tags that are wrong")
    add: TagNames = Field(default_factory=list, description="Tags the model missed, or the user's own labels")


@router.put(
    "/images/<image_id>/tags",
    summary="Correct an image's tags (replaces the user's earlier correction of it)",
    description="A COCO category name is a COCO tag: the next training run learns the corrected tags. Any other name "
    "is one of the user's own labels (1-40 letters, digits, spaces and - _ ' ., compared case-insensitively, at most "
    "50 per user): confirming or adding it makes the photo a positive example (the label is created on first use), "
    "rejecting it a negative one; the label is retrained a few seconds later. 400 for an invalid name, one both kept "
    "and rejected, a rejected name that is no label, or too many labels; 404 for an unknown image, 409 while the "
    "image is not TAGGED.",
    tags=["images"],
    security=SECURITY,
    responses={200: {"description": "The image with its correction"}, **error_responses(400, 404, 409, 503)},
)
def correct_tags(image_id: ImageId, request: CorrectionRequest) -> ImageOut:
    user_id = user_id_from_event(router.current_event.raw_event)
    built = services()
    built.label_examples().correct(user_id, image_id, request.confirm, request.reject, request.add)
    return ImageOut.from_record(built.repo.get(user_id, image_id), settings=built.settings, s3=built.s3)
