"""GET /images/{image_id}/similar: the caller's images most like one of theirs (the api function; issue 15)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import Router
from pydantic import BaseModel, Field

from imagetagger.api.auth import SECURITY, user_id_from_event
from imagetagger.api.images import ImageId, image_out
from imagetagger.api.schemas import ImageOut, error_responses
from imagetagger.embedding_store import EmbeddingStore
from imagetagger.services import services
from imagetagger.similarity import MAX_LIMIT, find_similar

router = Router()


class SimilarImageOut(ImageOut):
    similarity: float = Field(ge=-1, le=1, description="Cosine similarity of the two photos' embeddings")


class SimilarImages(BaseModel):
    image_id: str = Field(description="The photo the others are similar to (never among the items)")
    items: list[SimilarImageOut] = Field(description="Most similar first; only the caller's own TAGGED photos")


@router.get(
    "/images/<image_id>/similar",
    summary="The caller's photos most like this one (cosine similarity of image embeddings)",
    tags=["images"],
    security=SECURITY,
    responses={
        200: {"description": "The most similar photos, most similar first"},
        **error_responses(404, 409),
    },
)
def similar_images(
    image_id: ImageId,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="How many photos at most")] = 12,
) -> SimilarImages:
    built = services()
    store = EmbeddingStore(built.s3, built.settings.upload_bucket, built.repo)
    found = find_similar(store, user_id_from_event(router.current_event.raw_event), image_id, limit)
    items = [
        SimilarImageOut.model_validate({**image_out(match.record).model_dump(), "similarity": match.similarity})
        for match in found
    ]
    return SimilarImages(image_id=image_id, items=items)
