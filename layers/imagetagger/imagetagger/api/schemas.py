"""Request and response bodies of the HTTP API (they also make the OpenAPI document)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from imagetagger import uploads
from imagetagger.records import ImageRecord
from imagetagger.settings import Settings


class UploadRequest(BaseModel):
    filename: str = Field(min_length=1, max_length=1024, description="Display name of the photo")
    content_type: str = Field(min_length=1, max_length=100, description="MIME type, e.g. image/jpeg")
    # strict: JSON true is not the size 1 (pydantic's lax mode would take it, and "12" too).
    size: int = Field(ge=1, strict=True, description="Size of the file in bytes")


class UploadForm(BaseModel):
    url: str = Field(description="POST the file here as multipart/form-data")
    fields: dict[str, str] = Field(description="Form fields to send before the file field")


class UploadResponse(BaseModel):
    image_id: str
    upload: UploadForm
    expires_in: int = Field(description="Seconds the form stays valid")


Fraction = Annotated[float, Field(ge=0, le=1)]


class InstanceOut(BaseModel):
    box: Annotated[list[Fraction], Field(min_length=4, max_length=4)] = Field(
        description="[x, y, width, height] of the object, as fractions of the photo's width and height; x, y is the "
        "top-left corner (Rekognition's BoundingBox Left, Top, Width, Height)"
    )
    confidence: float = Field(ge=0, le=1, description="Confidence of this detection")


class TagOut(BaseModel):
    name: str
    confidence: float = Field(ge=0, le=1, description="Calibrated probability")
    parents: list[str] = Field(description="COCO supercategory, e.g. dog -> animal")
    source: Literal["model", "custom", "user"] = Field(
        default="model",
        description='"model": the default model; "custom": the user\'s own label\'s classifier (confidence = its '
        'probability); "user": added by the user (confidence 1)',
    )
    instances: list[InstanceOut] = Field(
        default_factory=list,
        description="Where the objects are, most confident first (at most 10); [] when the model has no box for the "
        "tag, for tags a user added, and for images tagged before boxes existed",
    )


class CorrectionsOut(BaseModel):
    confirmed: list[str] = Field(description="Predicted tags the user confirmed")
    rejected: list[str] = Field(description="Predicted tags the user rejected")
    added: list[str] = Field(description="Tags the user added")
    labels: list[str] = Field(description="The corrected tags: what the next training run learns for this image")
    tags: list[TagOut] = Field(
        description="The corrected tags in full: a kept predicted tag with its confidence and instances, a tag the "
        "user added with confidence 1 and no instances"
    )
    updated_at: str


class ImageOut(BaseModel):
    image_id: str
    filename: str
    status: Literal["PENDING", "TAGGED", "FAILED"]
    tags: list[TagOut]
    model_version: str | None
    error: str | None = Field(description="Why tagging failed (status FAILED)")
    created_at: str
    corrections: CorrectionsOut | None = Field(default=None, description="The user's corrections (PUT .../tags)")
    retriable: bool = Field(
        default=False, description="FAILED only: trying again may succeed (POST /images/{image_id}/retry)"
    )
    thumbnail_url: str | None = Field(
        default=None, description="Short-lived presigned GET of the photo; null while PENDING or for a non-image"
    )

    @classmethod
    def from_record(cls, record: ImageRecord, *, settings: Settings, s3: Any) -> ImageOut:
        """The API view of a record, with a thumbnail URL of the user's own photo: every route that answers an image
        renders it here, so no route forgets a field (PUT .../tags once answered thumbnail_url null)."""
        thumbnail_url = uploads.download_url(record, settings=settings, s3=s3)
        return cls.model_validate({**record.to_api(), "thumbnail_url": thumbnail_url})


class ImagePage(BaseModel):
    items: list[ImageOut]
    next_token: str | None = Field(description="Pass as next_token to get the next page; null on the last page")


class TagCount(BaseModel):
    name: str
    count: int


class TagList(BaseModel):
    tags: list[TagCount]


class LabelOut(BaseModel):
    name: str = Field(description="As the user first spelled it; compared case-insensitively")
    examples: int = Field(description="Positive examples: photos the user tagged with it")
    negatives: int = Field(description="Photos the user rejected it on")
    status: Literal["collecting", "training", "ready"] = Field(
        description='"collecting": fewer than 5 usable positive examples; "training": a new classifier is being '
        'trained (the previous one, if any, still applies); "ready": trained on the current examples'
    )
    precision: float | None = Field(description="Estimated by cross-validation at the threshold; null until trained")
    recall: float | None = Field(description="Estimated by cross-validation at the threshold; null until trained")
    threshold: float | None = Field(description="Probability at or above which a photo gets the tag")
    reason: str | None = Field(default=None, description="collecting with 5 or more examples: why it cannot train yet")
    updated_at: str


class LabelDetail(LabelOut):
    example_ids: list[str] = Field(description="The positive examples' image ids (at most 1000), most recent first")


class LabelList(BaseModel):
    items: list[LabelOut]


class TagNowResponse(BaseModel):
    tags: list[TagOut]
    model_version: str


class Health(BaseModel):
    status: Literal["ok"]


class ErrorMessage(BaseModel):
    message: str = Field(description="What was wrong, for a person to read")


_ERROR_DESCRIPTIONS = {
    400: "Bad request (unsupported type, malformed token, not a decodable image)",
    401: "Missing or invalid JWT",
    404: "No such image (or label) for this user",
    409: "The image is not in a state that allows this",
    413: "Too large",
    415: "Unsupported media type",
    503: "The model endpoint or the processing queue is unavailable; retry later",
}


def error_responses(*codes: int) -> dict[int, Any]:
    """OpenAPI `responses` entries for the domain errors a route can answer (always 401)."""
    return {
        code: {"description": _ERROR_DESCRIPTIONS[code], "content": {"application/json": {"model": ErrorMessage}}}
        for code in sorted({401, *codes})
    }
