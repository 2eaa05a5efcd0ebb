"""POST/GET/DELETE /labels: the user's own labels, learned from a few example photos (the api function)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import unquote

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.event_handler.router import Router
from pydantic import BaseModel, Field

from imagetagger.api.auth import SECURITY, user_id_from_event
from imagetagger.api.schemas import LabelDetail, LabelList, LabelOut, error_responses
from imagetagger.custom_labels.examples import MAX_IMAGES_PER_REQUEST
from imagetagger.custom_labels.requests import LabelRequest
from imagetagger.errors import NotFoundError
from imagetagger.label_names import MAX_NAME_CHARS
from imagetagger.records import IMAGE_ID_PATTERN
from imagetagger.services import services

router = Router()

# The longest name in URL-encoded form (a letter of another script is up to 12 characters of %XX); the name itself is
# validated by imagetagger.label_names once decoded.
LabelName = Annotated[str, Path(min_length=1, max_length=480, description="The label's name (URL-encoded)")]
MAX_EXAMPLE_IDS = 1000


class CreateLabelRequest(BaseModel):
    name: str = Field(min_length=1, max_length=100, description="1-40 letters, digits, spaces and - _ ' .")
    image_ids: list[Annotated[str, Field(pattern=IMAGE_ID_PATTERN)]] = Field(
        min_length=1, max_length=MAX_IMAGES_PER_REQUEST, description="The user's TAGGED photos showing it"
    )


def _user() -> str:
    return user_id_from_event(router.current_event.raw_event)


def _name(encoded: str) -> str:
    """The label name of the path; a name no label can have is simply not found (and never reaches a DynamoDB key,
    whose 1 KB bound a long Unicode string could break)."""
    name = unquote(encoded).strip()
    if not 0 < len(name) <= MAX_NAME_CHARS:
        raise NotFoundError(f"no label named {name[:MAX_NAME_CHARS]!r}")
    return name


@router.post(
    "/labels",
    summary="Create one of your own labels from example photos (or add examples to it)",
    description="The photos become positive examples; with 5 or more the label is trained (a few seconds) and then "
    "tags your other photos and every new upload. 201 when created, 200 when the label existed (same name in any "
    "case). 400 for an invalid or COCO name or more than 50 labels, 404 for a photo you do not have, 409 for one "
    "not TAGGED.",
    status_code=201,
    tags=["labels"],
    security=SECURITY,
    responses={
        201: {"description": "Created"},
        200: {"description": "The label existed; the examples were added"},
        **error_responses(400, 404, 409, 503),
    },
)
def create_label(request: CreateLabelRequest) -> Response[LabelOut]:
    label, created = services().label_examples().add_examples(_user(), request.name, request.image_ids)
    return Response(
        status_code=201 if created else 200,
        content_type=content_types.APPLICATION_JSON,
        body=LabelOut.model_validate(label.to_api()),
    )


@router.get(
    "/labels",
    summary="Your own labels with their status and estimated precision and recall",
    tags=["labels"],
    security=SECURITY,
    responses={200: {"description": "At most 50 labels, by name"}, **error_responses()},
)
def list_labels() -> LabelList:
    return LabelList(items=[LabelOut.model_validate(label.to_api()) for label in services().labels.list(_user())])


@router.get(
    "/labels/<name>",
    summary="One of your labels with its example photos",
    tags=["labels"],
    security=SECURITY,
    responses={200: {"description": "The label"}, **error_responses(404)},
)
def get_label(name: LabelName) -> LabelDetail:
    built = services()
    user_id = _user()
    label = built.labels.get(user_id, _name(name))
    rows = built.repo.tag_rows(user_id, label.name)
    example_ids = sorted((image_id for image_id, source, _ in rows if source == "user"), reverse=True)[:MAX_EXAMPLE_IDS]
    return LabelDetail.model_validate({**label.to_api(), "example_ids": example_ids})


@router.delete(
    "/labels/<name>",
    status_code=204,
    summary="Delete one of your labels: its classifier, its tags on your photos and its examples",
    description="The label is gone at once; its tags and examples are removed from your photos within seconds.",
    tags=["labels"],
    security=SECURITY,
    responses={204: {"description": "Deleted"}, **error_responses(404, 503)},
)
def delete_label(name: LabelName) -> Response[None]:
    built = services()
    user_id = _user()
    label = built.labels.delete(user_id, _name(name))
    # Bounded work here: the tags on (possibly) every photo are removed by the label function.
    built.label_requests.send(LabelRequest("delete", user_id, label.name, label.revision), delay_s=0)
    return Response(status_code=204, body=None)
