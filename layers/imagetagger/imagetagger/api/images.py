"""GET/DELETE /images..., POST /images/{image_id}/retry, GET /tags (the api function)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.event_handler.router import Router

from imagetagger import requeue, uploads
from imagetagger.api.auth import SECURITY, user_id_from_event
from imagetagger.api.schemas import ImageOut, ImagePage, TagList, error_responses
from imagetagger.pagination import MAX_TOKEN_CHARS
from imagetagger.records import IMAGE_ID_PATTERN, ImageRecord
from imagetagger.services import services

router = Router()

ImageId = Annotated[str, Path(pattern=IMAGE_ID_PATTERN, description="32 hex characters, from POST /uploads")]


def _user() -> str:
    return user_id_from_event(router.current_event.raw_event)


def image_out(record: ImageRecord) -> ImageOut:
    built = services()
    return ImageOut.from_record(record, settings=built.settings, s3=built.s3)


@router.get(
    "/images/<image_id>",
    summary="One image with its status and tags",
    tags=["images"],
    security=SECURITY,
    responses={200: {"description": "The image"}, **error_responses(404)},
)
def get_image(image_id: ImageId) -> ImageOut:
    return image_out(services().repo.get(_user(), image_id))


@router.get(
    "/images",
    summary="List images, or search them by tag (most confident first)",
    tags=["images"],
    security=SECURITY,
    responses={200: {"description": "One page of images"}, **error_responses(400)},
)
def list_images(
    tag: Annotated[str | None, Query(min_length=1, max_length=100, description="Only images with this tag")] = None,
    min_confidence: Annotated[float, Query(ge=0, le=1, description="With tag: lowest confidence")] = 0.0,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    next_token: Annotated[str | None, Query(max_length=MAX_TOKEN_CHARS)] = None,
) -> ImagePage:
    repo = services().repo
    user_id = _user()
    if tag is None:
        page = repo.list_images(user_id, limit, next_token)
    else:
        page = repo.search_by_tag(user_id, tag, min_confidence, limit, next_token)
    return ImagePage(items=[image_out(record) for record in page.items], next_token=page.next_token)


@router.delete(
    "/images/<image_id>",
    status_code=204,
    summary="Delete an image: the object and every record of it",
    tags=["images"],
    security=SECURITY,
    responses={204: {"description": "Deleted"}, **error_responses(404)},
)
def delete_image(image_id: ImageId) -> Response[None]:
    built = services()
    uploads.delete_image(_user(), image_id, settings=built.settings, s3=built.s3, repo=built.repo)
    return Response(status_code=204, body=None)


@router.post(
    "/images/<image_id>/retry",
    summary="Tag a FAILED image again (when its failure is retriable)",
    description="Re-queues the uploaded file as S3 announced it and sets the image PENDING. 404 for an unknown image, "
    "409 unless the image is FAILED with retriable: true (a bad file fails the same way every time), 503 when the "
    "queue is unavailable.",
    tags=["images"],
    security=SECURITY,
    responses={200: {"description": "The image, PENDING again"}, **error_responses(404, 409, 503)},
)
def retry_image(image_id: ImageId) -> ImageOut:
    built = services()
    record = requeue.retry_failed_image(
        _user(),
        image_id,
        s3=built.s3,
        sqs=built.sqs,
        bucket=built.settings.upload_bucket,
        queue_url=built.settings.upload_queue_url,
        repo=built.repo,
    )
    return image_out(record)


@router.get(
    "/tags",
    summary="The user's tags with their image counts",
    tags=["tags"],
    security=SECURITY,
    responses={200: {"description": "Tags and counts"}, **error_responses()},
)
def list_tags() -> TagList:
    return TagList.model_validate({"tags": services().repo.tag_counts(_user())})
