"""Embeddings (issue 15): the stored form, the packed matrix, the search, and the matrix store under racing writers."""

import boto3
import numpy as np
import pytest
from moto import mock_aws

from imagetagger.embedding_store import EmbeddingStore, matrix_key
from imagetagger.embeddings import (
    EmbeddingFormatError,
    Matrix,
    decode,
    encode,
    from_base64,
    nearest,
    to_base64,
)

DIM = 8


def unit(*values: float) -> np.ndarray:
    vector = np.zeros(DIM, np.float32)
    vector[: len(values)] = values
    return vector / np.linalg.norm(vector)


def test_encode_is_float16_little_endian_and_decode_inverts_it():
    vector = unit(1, 2, 3)
    data = encode(vector)
    assert len(data) == 2 * DIM
    assert np.frombuffer(data, "<f2").tolist() == vector.astype("<f2").tolist()
    assert np.allclose(decode(data), vector, atol=1e-3)
    assert decode(from_base64(to_base64(vector))).tolist() == decode(data).tolist()


@pytest.mark.parametrize("bad", [b"", b"\x00", b"\x00\x7c" * 4])  # empty, odd length, infinities
def test_decode_refuses_what_is_not_an_embedding(bad):
    with pytest.raises(EmbeddingFormatError):
        decode(bad)


@pytest.mark.parametrize("bad", [np.zeros((2, 2)), np.array([np.nan, 1.0]), np.zeros(0)])
def test_encode_refuses_what_is_not_a_finite_vector(bad):
    with pytest.raises(EmbeddingFormatError):
        encode(bad)


def test_from_base64_refuses_bad_text():
    with pytest.raises(EmbeddingFormatError):
        from_base64("not base64!")


def test_matrix_round_trips_and_an_upsert_replaces_the_row():
    matrix = Matrix.from_rows([("a" * 32, "v1", encode(unit(1))), ("b" * 32, "v2", encode(unit(0, 1)))])
    again = Matrix.from_bytes(matrix.to_bytes())
    assert again.image_ids.tolist() == matrix.image_ids.tolist() and again.versions == ("v1", "v2")
    assert again.vectors.tolist() == matrix.vectors.tolist()
    replaced = again.upsert("a" * 32, "v2", encode(unit(0, 0, 1)))
    assert len(replaced) == 2
    ids, vectors = replaced.of_version("v2")
    assert sorted(ids) == ["a" * 32, "b" * 32]
    assert len(replaced.of_version("v1")[0]) == 0 and len(replaced.of_version("unknown")[0]) == 0
    assert len(replaced.without({"b" * 32})) == 1


def test_matrix_from_bytes_refuses_garbage():
    with pytest.raises(EmbeddingFormatError):
        Matrix.from_bytes(b"PK not a zip")


def test_nearest_is_most_similar_first_without_the_excluded_image():
    ids = ["self", "close", "far", "opposite", "tie-b", "tie-a"]
    vectors = np.stack([unit(1), unit(1, 0.1), unit(0, 1), unit(-1), unit(1, 1), unit(1, 1)]).astype("<f2")
    found = nearest(ids, vectors, unit(1), limit=10, exclude=frozenset({"self"}))
    assert [m.image_id for m in found] == ["close", "tie-a", "tie-b", "far", "opposite"]
    similarities = [m.similarity for m in found]
    assert similarities == sorted(similarities, reverse=True)
    assert similarities[-1] == pytest.approx(-1.0, abs=1e-3)
    assert [m.image_id for m in nearest(ids, vectors, unit(1), limit=2, exclude=frozenset({"self"}))] == [
        "close",
        "tie-a",
    ]
    assert nearest(ids, vectors, unit(1), limit=3, exclude=frozenset(ids)) == []


class _Repo:
    """The one repository method the store reads: the user's embedded items (the rebuild's source)."""

    def __init__(self, rows):
        self.rows = rows
        self.queries = 0

    def embedded(self, user_id):
        self.queries += 1
        return iter(self.rows)


@pytest.fixture
def s3():
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="uploads")
        yield client


def test_a_missing_matrix_is_rebuilt_from_dynamodb_and_stored(s3):
    repo = _Repo([("a" * 32, "v1", encode(unit(1)))])
    store = EmbeddingStore(s3, "uploads", repo)
    assert store.load("alice") == (None, None)
    matrix = store.matrix_with("alice", "a" * 32)
    assert matrix.image_ids.tolist() == ["a" * 32] and repo.queries == 1
    assert store.load("alice")[0].image_ids.tolist() == ["a" * 32]
    store.matrix_with("alice", "a" * 32)
    assert repo.queries == 1  # served from S3 now


def test_racing_upserts_keep_both_rows(s3):
    """Two processing functions read the same matrix, then write: the second write's If-Match fails, so it reads
    again and re-applies its row instead of dropping the first one's."""
    store = EmbeddingStore(s3, "uploads", _Repo([]))
    store.upsert("alice", "a" * 32, "v1", encode(unit(1)))
    original_load = store.load
    raced = []

    def load_then_lose_the_race(user_id):
        loaded = original_load(user_id)
        if not raced:  # a concurrent writer gets in between this read and our write
            raced.append(True)
            EmbeddingStore(s3, "uploads", _Repo([])).upsert("alice", "b" * 32, "v1", encode(unit(0, 1)))
        return loaded

    store.load = load_then_lose_the_race
    store.upsert("alice", "c" * 32, "v1", encode(unit(0, 0, 1)))
    assert sorted(original_load("alice")[0].image_ids) == ["a" * 32, "b" * 32, "c" * 32]


def test_an_unreadable_matrix_is_replaced_on_the_next_write(s3):
    s3.put_object(Bucket="uploads", Key=matrix_key("alice"), Body=b"garbage")
    store = EmbeddingStore(s3, "uploads", _Repo([("a" * 32, "v1", encode(unit(1)))]))
    assert store.load("alice")[0] is None
    store.upsert("alice", "b" * 32, "v1", encode(unit(0, 1)))
    assert sorted(store.load("alice")[0].image_ids) == ["a" * 32, "b" * 32]


def test_the_model_client_reads_the_embedding_tolerates_its_absence_and_refuses_a_bad_one():
    import json

    from imagetagger.errors import ModelEndpointError
    from imagetagger.model_client import _parse

    tags = [{"name": "dog", "confidence": 0.9, "parents": ["animal"]}]
    body = {"model_version": "m1", "predictions": [{"tags": tags, "embedding": to_base64(unit(1))}, {"tags": tags}]}
    with_embedding, without = _parse(json.dumps(body).encode(), expected=2)
    assert with_embedding.embedding == encode(unit(1)) and without.embedding is None
    body["predictions"][1]["embedding"] = "AAAA"  # 3 bytes: not a whole number of float16 values
    with pytest.raises(ModelEndpointError):
        _parse(json.dumps(body).encode(), expected=2)


def test_upsert_appends_to_an_empty_matrix_and_without_drops_rows():
    matrix = Matrix.empty().upsert("a" * 32, "v1", encode(unit(1))).upsert("b" * 32, "v1", encode(unit(0, 1)))
    assert matrix.image_ids.tolist() == ["a" * 32, "b" * 32] and matrix.vectors.shape == (2, DIM)
    assert decode(matrix.upsert("a" * 32, "v1", encode(unit(0, 0, 1))).vectors[-1].tobytes()).tolist() == (
        decode(encode(unit(0, 0, 1))).tolist()
    )
    assert matrix.without({"a" * 32}).image_ids.tolist() == ["b" * 32]
    assert Matrix.from_bytes(matrix.without({"a" * 32, "b" * 32}).to_bytes()).vectors.shape == (0, DIM)
