"""Image embeddings (issue 15): their stored form, and each user's packed matrix for "find similar" and custom labels.

- The endpoint returns each image's embedding as base64 of D float16 little-endian values (L2-normalised by the
  model); the image item stores those bytes as `embedding` with `embedding_version` (the model version), so two
  embeddings are compared only when they come from the same model.
- A user's matrix packs every stored embedding of theirs (ids, per-row model version, [n, D] float16) into one S3
  object, `embeddings/{user_id}/matrix.npz` in the upload bucket (outside uploads/, so it triggers no tagging). It
  is kept by imagetagger.embedding_store; this module only packs, unpacks and searches it.

Memory bound: a row is D * 2 bytes + a 32-character id (288 B at D = 128); at MAX_ROWS (10^5) the object is ~29 MB
and the search holds it once as float16 plus one float32 row block (SEARCH_BLOCK rows) at a time. Beyond that a vector
index takes over (docs/architecture.md, "Find similar").
"""

from __future__ import annotations

import base64
import binascii
import io
from dataclasses import dataclass

import numpy as np

STORED_DTYPE = np.dtype("<f2")
MAX_ROWS = 100_000
SEARCH_BLOCK = 16_384  # rows converted to float32 at a time: bounds the search's extra memory to ~8 MB at D = 128
MAX_DIM = 4096
ID_DTYPE = np.dtype("<U32")  # image ids: 32 hex characters


class EmbeddingFormatError(ValueError):
    """Bytes that are not a stored embedding (or a matrix that is not one of ours)."""


def encode(vector: np.ndarray) -> bytes:
    """D float16 little-endian values of a 1-d finite vector."""
    array = np.asarray(vector, dtype=np.float32)
    if array.ndim != 1 or not 0 < array.size <= MAX_DIM or not np.all(np.isfinite(array)):
        raise EmbeddingFormatError(f"an embedding is a 1-d finite vector of 1..{MAX_DIM} values, got {array.shape}")
    return array.astype(STORED_DTYPE).tobytes()


def decode(data: bytes) -> np.ndarray:
    """The float32 vector of stored bytes."""
    raw = bytes(data)
    if not raw or len(raw) % STORED_DTYPE.itemsize or len(raw) // STORED_DTYPE.itemsize > MAX_DIM:
        raise EmbeddingFormatError(f"{len(raw)} bytes are not an embedding of float16 values")
    vector = np.frombuffer(raw, dtype=STORED_DTYPE).astype(np.float32)
    if not np.all(np.isfinite(vector)):
        raise EmbeddingFormatError("the embedding holds non-finite values")
    return vector


def stored_bytes(value: object) -> bytes:
    """The bytes of a stored `embedding` attribute (boto3's resource wraps DynamoDB binaries in a Binary)."""
    return bytes(getattr(value, "value", value))  # type: ignore[call-overload]


def to_base64(vector: np.ndarray) -> str:
    return base64.b64encode(encode(vector)).decode("ascii")


def from_base64(text: str) -> bytes:
    """The stored bytes of the protocol's base64 text (validated as an embedding)."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise EmbeddingFormatError("the embedding is not valid base64") from exc
    decode(raw)
    return raw


@dataclass(frozen=True)
class Match:
    image_id: str
    similarity: float


@dataclass(frozen=True)
class Matrix:
    """A user's packed embeddings: row i is image_ids[i], from model versions[version_index[i]]. Ids stay a numpy
    array (no Python string per row): a search over 10^4 rows then spends its time in the matrix product."""

    image_ids: np.ndarray  # [n] "<U32"
    version_index: np.ndarray  # [n] uint16
    versions: tuple[str, ...]
    vectors: np.ndarray  # [n, D] float16

    @classmethod
    def empty(cls, dim: int = 0) -> Matrix:
        return cls(np.zeros(0, ID_DTYPE), np.zeros(0, np.uint16), (), np.zeros((0, dim), STORED_DTYPE))

    @classmethod
    def from_rows(cls, rows: list[tuple[str, str, bytes]]) -> Matrix:
        """From (image_id, embedding_version, stored bytes) rows; a later row of the same image wins."""
        latest = {image_id: (version, data) for image_id, version, data in rows}
        if len(latest) > MAX_ROWS:
            raise EmbeddingFormatError(f"{len(latest)} embeddings exceed the brute-force bound of {MAX_ROWS}")
        if not latest:
            return cls.empty()
        versions = tuple(sorted({version for version, _ in latest.values()}))
        position = {version: i for i, version in enumerate(versions)}
        ids = tuple(latest)
        vectors = [np.frombuffer(bytes(latest[i][1]), STORED_DTYPE) for i in ids]
        dims = {len(v) for v in vectors}
        if len(dims) != 1:  # two models of different dimensions: keep only the newest rows' dimension
            dim = len(vectors[-1])
            keep = [k for k, v in enumerate(vectors) if len(v) == dim]
            return cls.from_rows([(ids[k], latest[ids[k]][0], latest[ids[k]][1]) for k in keep])
        return cls(
            image_ids=np.asarray(ids, ID_DTYPE),
            version_index=np.asarray([position[latest[i][0]] for i in ids], np.uint16),
            versions=versions,
            vectors=np.stack(vectors),
        )

    def __len__(self) -> int:
        return len(self.image_ids)

    def __contains__(self, image_id: object) -> bool:
        return bool(np.any(self.image_ids == image_id))

    def rows(self) -> list[tuple[str, str, bytes]]:
        return [
            (str(image_id), self.versions[int(v)], self.vectors[k].tobytes())
            for k, (image_id, v) in enumerate(zip(self.image_ids, self.version_index, strict=True))
        ]

    def upsert(self, image_id: str, version: str, data: bytes) -> Matrix:
        """This matrix with the image's row replaced or appended (array operations: the processing function runs this
        on every upload, on up to MAX_ROWS rows)."""
        vector = np.frombuffer(bytes(data), STORED_DTYPE)
        if len(self) and vector.shape[0] != self.vectors.shape[1]:  # another model's dimension: start over from rows
            return Matrix.from_rows([*self.rows(), (image_id, version, bytes(data))])
        kept = self.image_ids != image_id
        if int(kept.sum()) >= MAX_ROWS:
            raise EmbeddingFormatError(f"more than {MAX_ROWS} embeddings exceed the brute-force bound")
        versions = self.versions if version in self.versions else (*self.versions, version)
        return Matrix(
            image_ids=np.append(self.image_ids[kept], np.asarray([image_id], ID_DTYPE)),
            version_index=np.append(self.version_index[kept], np.uint16(versions.index(version))),
            versions=versions,
            vectors=np.concatenate([self.vectors[kept].reshape(-1, vector.shape[0]), vector[np.newaxis]]),
        )

    def without(self, image_ids: set[str]) -> Matrix:
        keep = ~np.isin(self.image_ids, list(image_ids))
        return Matrix(self.image_ids[keep], self.version_index[keep], self.versions, self.vectors[keep])

    def of_version(self, version: str) -> tuple[np.ndarray, np.ndarray]:
        """The ids and float16 vectors of one model version's rows (only those are comparable)."""
        if version not in self.versions:
            return self.image_ids[:0], self.vectors[:0]
        if len(self.versions) == 1:
            return self.image_ids, self.vectors
        mask = self.version_index == self.versions.index(version)
        return self.image_ids[mask], self.vectors[mask]

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        np.savez(
            buffer,
            image_ids=self.image_ids.astype("S32"),  # ASCII hex: 32 bytes a row, not UTF-32's 128
            version_index=self.version_index,
            versions=np.asarray(self.versions, dtype=str),
            vectors=self.vectors,
        )
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> Matrix:
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as packed:
                matrix = cls(
                    image_ids=packed["image_ids"].astype(ID_DTYPE),
                    version_index=packed["version_index"].astype(np.uint16),
                    versions=tuple(str(v) for v in packed["versions"]),
                    vectors=packed["vectors"].astype(STORED_DTYPE, copy=False),
                )
        except (ValueError, KeyError, OSError, EOFError) as exc:
            raise EmbeddingFormatError(f"not a packed embedding matrix: {exc}") from exc
        n = len(matrix.image_ids)
        if matrix.vectors.ndim != 2 or len(matrix.vectors) != n or len(matrix.version_index) != n:
            raise EmbeddingFormatError("a packed matrix whose parts disagree in length")
        if n and int(matrix.version_index.max()) >= len(matrix.versions):
            raise EmbeddingFormatError("a packed matrix with a row of an unknown version")
        return matrix


def nearest(
    ids: np.ndarray | list[str],
    vectors: np.ndarray,
    query: np.ndarray,
    limit: int,
    exclude: frozenset[str] = frozenset(),
) -> list[Match]:
    """The `limit` rows most similar to `query` (cosine: the rows and the query are L2-normalised), most similar
    first, ties by image id; rows in `exclude` (the image itself) never appear."""
    if limit <= 0 or len(ids) == 0:
        return []
    query = np.asarray(query, np.float32)
    scores = np.empty(len(ids), np.float32)
    for start in range(0, len(ids), SEARCH_BLOCK):
        block = vectors[start : start + SEARCH_BLOCK].astype(np.float32)
        # einsum's own loop, not BLAS: a matrix-vector product gains nothing from BLAS threads, and on a busy host
        # (or a 1-vCPU Lambda) OpenBLAS's thread hand-offs made it 10-60x slower (measured here: 22 ms vs 0.5 ms).
        scores[start : start + len(block)] = np.einsum("ij,j->i", block, query)
    ids = np.asarray(ids, ID_DTYPE)
    if exclude:
        scores[np.isin(ids, list(exclude))] = -np.inf
    count = min(limit, int(np.isfinite(scores).sum()))
    if count == 0:
        return []
    # Every row scoring at least the count-th best score, so that ties at the cut are broken by id, not by chance.
    kth = -np.partition(-scores, count - 1)[count - 1]
    top = np.flatnonzero(scores >= kth)
    ordered = sorted(top.tolist(), key=lambda k: (-float(scores[k]), str(ids[k])))[:count]
    return [Match(str(ids[k]), float(np.clip(scores[k], -1.0, 1.0))) for k in ordered]
