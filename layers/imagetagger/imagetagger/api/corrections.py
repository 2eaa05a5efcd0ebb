"""PUT /images/{image_id}/tags: the user's corrections of an image's tags (the api function)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.event_handler.router import Router
from pydantic import BaseModel, Field

from imagetagger.api.auth import SECURITY, user_id_from_event
from imagetagger.api.schemas import ImageOut
from imagetagger.correction_store import CorrectionStore
from imagetagger.corrections import build_correction
from imagetagger.records import IMAGE_ID_PATTERN
from imagetagger.services import services

router = Router()

ImageId = Annotated[str, Path(pattern=IMAGE_ID_PATTERN, description="32 hex characters, from POST /uploads")]
TagNames = Annotated[list[Annotated[str, Field(min_length=1, max_length=100)]], Field(max_length=80)]


class CorrectionRequest(BaseModel):
    confirm: TagNames = Field(default_factory=list, description="Predicted tags that are right")
    reject: TagNames = Field(default_factory=list, description="Predicted tags that are wrong")
    add: TagNames = Field(default_factory=list, description="Tags the model missed")


@router.put(
    "/images/<image_id>/tags",
    summary="Correct an image's tags (replaces the user's earlier correction of it)",
    description="Tags are COCO category names. 400 for an unknown tag or one both kept and rejected, 404 for an "
    "unknown image, 409 while the image is not TAGGED. The next training run learns the corrected tags.",
    tags=["images"],
    security=SECURITY,
)
def correct_tags(image_id: ImageId, request: CorrectionRequest) -> ImageOut:
    user_id = user_id_from_event(router.current_event.raw_event)
    correction = build_correction(request.confirm, request.reject, request.add)
    built = services()
    CorrectionStore(built.repo.images).save(user_id, image_id, correction)
    return ImageOut.from_record(built.repo.get(user_id, image_id), settings=built.settings, s3=built.s3)
