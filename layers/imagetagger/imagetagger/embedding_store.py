"""Each user's packed embedding matrix in S3 (imagetagger.embeddings.Matrix), kept correct under concurrent writers.

DynamoDB's image items are the truth; the S3 object `embeddings/{user_id}/matrix.npz` is their packed copy, so a
search reads one object instead of Querying every item (10^4 items are ~20 sequential 1 MB Query pages).

- The processing function upserts each tagged image's row. Every write is conditional on the ETag it read (If-Match;
  If-None-Match: * for the first), and a write that lost the race reads again and re-applies its change, so two
  uploads finishing at once never drop each other's row.
- A missing or unreadable object, or one that lacks the image being searched from (a write that failed after its
  DynamoDB update, say), is rebuilt from one projected Query of the user's partition (ImageRepository.embedded).
- Deleted images leave rows behind until a search meets them: it verifies its candidates against DynamoDB, drops
  the gone ones from the answer and removes them from the matrix.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from imagetagger.embeddings import EmbeddingFormatError, Matrix
from imagetagger.storage import ImageRepository

MATRIX_CONTENT_TYPE = "application/x-npz"
_CONFLICT_RETRIES = 5
# S3 answers a conditional write that lost to another with 412; one racing an in-flight write with 409.
_CONFLICT_CODES = {"PreconditionFailed", "ConditionalRequestConflict", "412", "409"}


def matrix_key(user_id: str) -> str:
    return f"embeddings/{user_id}/matrix.npz"


class MatrixConflictError(RuntimeError):
    """The matrix kept changing under our writes."""


@dataclass
class EmbeddingStore:
    s3: Any
    bucket: str
    repo: ImageRepository

    def load(self, user_id: str) -> tuple[Matrix | None, str | None]:
        """The stored matrix and its ETag; (None, None) when there is none, or it is unreadable."""
        try:
            response = self.s3.get_object(Bucket=self.bucket, Key=matrix_key(user_id))
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("NoSuchKey", "404"):
                return None, None
            raise
        try:
            return Matrix.from_bytes(response["Body"].read()), str(response["ETag"])
        except EmbeddingFormatError:
            return None, str(response["ETag"])  # replaced by the next write (If-Match on this ETag)

    def _put(self, user_id: str, matrix: Matrix, etag: str | None) -> bool:
        """Write if the object is still the one read (etag None: if there is none); False when that lost a race."""
        condition = {"IfMatch": etag} if etag else {"IfNoneMatch": "*"}
        try:
            self.s3.put_object(
                Bucket=self.bucket,
                Key=matrix_key(user_id),
                Body=matrix.to_bytes(),
                ContentType=MATRIX_CONTENT_TYPE,
                **condition,
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] in _CONFLICT_CODES:
                return False
            raise
        return True

    def update(self, user_id: str, change: Callable[[Matrix], Matrix]) -> Matrix:
        """Apply `change` to the current matrix (an absent one is first rebuilt from DynamoDB), retrying on races."""
        for _ in range(_CONFLICT_RETRIES):
            matrix, etag = self.load(user_id)
            base = matrix if matrix is not None else self.rebuilt(user_id)
            changed = change(base)
            if self._put(user_id, changed, etag):
                return changed
        raise MatrixConflictError(f"the embedding matrix of {user_id} kept changing; try again")

    def upsert(self, user_id: str, image_id: str, version: str, embedding: bytes) -> None:
        self.upsert_rows(user_id, [(image_id, version, embedding)])

    def upsert_rows(self, user_id: str, rows: list[tuple[str, str, bytes]]) -> None:
        """(image_id, embedding_version, stored bytes) rows replaced or appended in one conditional write."""

        def change(matrix: Matrix) -> Matrix:
            for image_id, version, embedding in rows:
                matrix = matrix.upsert(image_id, version, embedding)
            return matrix

        self.update(user_id, change)

    def remove(self, user_id: str, image_ids: set[str]) -> None:
        self.update(user_id, lambda matrix: matrix.without(image_ids))

    def rebuilt(self, user_id: str) -> Matrix:
        return Matrix.from_rows(list(self.repo.embedded(user_id)))

    def matrix_with(self, user_id: str, image_id: str) -> Matrix:
        """The user's matrix, rebuilt (and stored) when it is missing or lacks `image_id` (which has an embedding)."""
        matrix, etag = self.load(user_id)
        if matrix is not None and image_id in matrix:
            return matrix
        fresh = self.rebuilt(user_id)
        self._put(user_id, fresh, etag)  # lost to a concurrent write: this answer is right, the next search rebuilds
        return fresh
