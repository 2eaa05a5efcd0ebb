"""Find similar: a user's images nearest to one of theirs by cosine similarity of the embeddings (issue 15).

Brute force over the user's packed matrix (imagetagger.embedding_store), only rows of the same model version as the
query image's. The matrix is a copy, so every candidate is checked against DynamoDB (one BatchGetItem): an image
deleted, not TAGGED or re-tagged by another model since is left out, and rows of deleted images are removed.
"""

from __future__ import annotations

from dataclasses import dataclass

from imagetagger.embedding_store import EmbeddingStore
from imagetagger.embeddings import decode, nearest, stored_bytes
from imagetagger.errors import ConflictError, NotFoundError
from imagetagger.records import ImageRecord, ImageStatus

MAX_LIMIT = 50
# Candidates fetched per round: the limit plus this many, then four times more while some were left out.
_SLACK = 8
_ROUNDS = 4


@dataclass(frozen=True)
class SimilarImage:
    record: ImageRecord
    similarity: float


def find_similar(store: EmbeddingStore, user_id: str, image_id: str, limit: int) -> list[SimilarImage]:
    """The `limit` most similar of the user's other TAGGED images, most similar first. NotFoundError for an image
    that is not the user's; ConflictError while it is not TAGGED or has no embedding (tagged by an older model)."""
    repo = store.repo
    item = repo.get_items([(user_id, image_id)]).get((user_id, image_id))
    if item is None:
        raise NotFoundError(f"image {image_id} not found")
    if item.get("status") != ImageStatus.TAGGED.value:
        raise ConflictError(f"image {image_id} is {item.get('status')}: similar images need it TAGGED")
    if "embedding" not in item:
        raise ConflictError(f"image {image_id} has no embedding yet: it was tagged by a model without one (re-tag it)")
    version = str(item.get("embedding_version", ""))
    query = decode(stored_bytes(item["embedding"]))
    ids, vectors = store.matrix_with(user_id, image_id).of_version(version)
    excluded = {image_id}
    gone: set[str] = set()
    found: list[SimilarImage] = []
    want = limit + _SLACK
    for _ in range(_ROUNDS):
        matches = nearest(ids, vectors, query, want, exclude=frozenset(excluded))  # none seen in an earlier round
        items = repo.get_items([(user_id, m.image_id) for m in matches])
        for match in matches:
            current = items.get((user_id, match.image_id))
            excluded.add(match.image_id)
            if current is None:
                gone.add(match.image_id)
            elif current.get("status") == ImageStatus.TAGGED.value and current.get("embedding_version") == version:
                found.append(SimilarImage(ImageRecord.from_item(current), match.similarity))
        if len(found) >= limit or len(matches) < want:
            break
        want *= 4
    if gone:
        store.remove(user_id, gone)
    found.sort(key=lambda s: (-s.similarity, s.record.image_id))
    return found[:limit]
