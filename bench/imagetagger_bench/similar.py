"""`imagetagger bench --similar`: find similar for one user with 10,000 images, and whether neighbours make sense.

- speed: the route's code path (imagetagger.similarity.find_similar: the query image's item, the user's packed
  matrix from S3, the brute-force search, the candidates' BatchGetItem) against in-process moto S3 and DynamoDB
  built from template.yaml, with random unit embeddings of the default model's dimension. The first search rebuilds
  the matrix from the DynamoDB Query (reported apart, as `rebuild_ms`); the timed ones read it from S3, as every
  search after an upload does. Target: under 200 ms per search.
- quality: the default model's embeddings of data/coco-sample/val; how often an image's nearest neighbour shares a
  COCO label with it, against all pairs of images (the rate for a neighbour picked at random).
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import numpy as np

from imagetagger_bench.optimize import REPO_ROOT, predict_outputs, val_set

TARGET_MS = 200.0
USER = "bench-user"


def _unit_rows(count: int, dim: int, seed: int) -> np.ndarray:
    rows = np.random.default_rng(seed).standard_normal((count, dim)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def _fill(table: Any, vectors: np.ndarray, version: str) -> list[str]:
    from boto3.dynamodb.types import Binary

    from imagetagger.embeddings import encode

    ids = [f"{k:032x}" for k in range(len(vectors))]
    tags = [{"name": "dog", "confidence": "0.9", "parents": ["animal"], "instances": []}]
    with table.batch_writer() as batch:
        for image_id, vector in zip(ids, vectors, strict=True):
            batch.put_item(
                Item={
                    "user_id": USER,
                    "image_id": image_id,
                    "status": "TAGGED",
                    "filename": f"{image_id}.jpg",
                    "content_type": "image/jpeg",
                    "size": 123456,
                    "created_at": "2026-12-02T00:00:00+00:00",
                    "tags": tags,
                    "model_version": version,
                    "embedding": Binary(encode(vector)),
                    "embedding_version": version,
                }
            )
    return ids


def similar_speed(images: int = 10_000, searches: int = 30, dim: int = 128, limit: int = 12) -> dict[str, Any]:
    import boto3
    from moto import mock_aws

    from imagetagger.embedding_store import EmbeddingStore, matrix_key
    from imagetagger.similarity import find_similar
    from imagetagger.storage import ImageRepository
    from imagetagger_local.cfn import create_stack_resources

    for name, value in {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench"}.items():
        os.environ.setdefault(name, value)
    region = "us-east-1"
    with mock_aws():
        resources = create_stack_resources("bench", region=region)
        env = resources.environment
        dynamodb = boto3.resource("dynamodb", region_name=region)
        repo = ImageRepository.from_names(dynamodb, env["IMAGES_TABLE"], env["TAGS_TABLE"])
        s3 = boto3.client("s3", region_name=region)
        store = EmbeddingStore(s3, env["UPLOAD_BUCKET"], repo)
        started = time.perf_counter()
        ids = _fill(repo.images, _unit_rows(images, dim, seed=0), "bench-model")
        fill_s = time.perf_counter() - started
        queries = [ids[k] for k in np.random.default_rng(1).choice(len(ids), searches + 1, replace=False)]

        started = time.perf_counter()
        find_similar(store, USER, queries[0], limit)  # no matrix yet: rebuilt from the Query and stored
        rebuild_ms = 1000 * (time.perf_counter() - started)
        matrix_bytes = s3.head_object(Bucket=env["UPLOAD_BUCKET"], Key=matrix_key(USER))["ContentLength"]

        totals, loads = [], []
        for image_id in queries[1:]:
            started = time.perf_counter()
            found = find_similar(store, USER, image_id, limit)
            totals.append(1000 * (time.perf_counter() - started))
            assert len(found) == limit and image_id not in {f.record.image_id for f in found}
            started = time.perf_counter()
            store.load(USER)
            loads.append(1000 * (time.perf_counter() - started))
    return {
        "images": images,
        "dim": dim,
        "limit": limit,
        "searches": searches,
        "matrix_bytes": int(matrix_bytes),
        "fill_s": round(fill_s, 1),
        "rebuild_ms": round(rebuild_ms, 1),
        "search_ms_median": round(float(np.median(totals)), 1),
        "search_ms_p95": round(float(np.percentile(totals, 95)), 1),
        "search_ms_max": round(float(np.max(totals)), 1),
        "matrix_load_ms_median": round(float(np.median(loads)), 1),
        "target_ms": TARGET_MS,
        "met": bool(np.percentile(totals, 95) < TARGET_MS),
        "storage": "in-process moto S3 + DynamoDB (template.yaml); no network round trips",
    }


def neighbour_label_agreement(embeddings: np.ndarray, targets: np.ndarray) -> dict[str, Any]:
    """Share of images whose nearest other image has a COCO label in common, against the share of all pairs."""
    similarities = embeddings @ embeddings.T
    np.fill_diagonal(similarities, -np.inf)
    nearest = similarities.argmax(axis=1)
    labels = targets.astype(bool)
    shares = (labels.astype(np.int32) @ labels.T.astype(np.int32)) > 0
    off_diagonal = ~np.eye(len(labels), dtype=bool)
    return {
        "images": len(labels),
        "nearest_shares_a_label": round(float(shares[np.arange(len(labels)), nearest].mean()), 3),
        "random_pair_shares_a_label": round(float(shares[off_diagonal].mean()), 3),
    }


def similar_quality(model_dir: Any = None) -> dict[str, Any]:
    from imagetagger_endpoint.backends import DEFAULT_BACKEND, load_backend

    model_dir = model_dir or REPO_ROOT / "models" / "default"
    images, targets = val_set(model_dir)
    _, embeddings = predict_outputs(load_backend(model_dir, DEFAULT_BACKEND), images)
    if embeddings is None:
        raise ValueError(f"{model_dir} has no embedding output")
    return {"data": "data/coco-sample/val", **neighbour_label_agreement(embeddings, targets)}


def run_similar_benchmark(images: int = 10_000) -> dict[str, Any]:
    from imagetagger_bench.run import DEFAULT_MODEL_DIR, cpu_summary

    dim = int(json.loads((DEFAULT_MODEL_DIR / "model.json").read_text())["embedding"]["dim"])
    return {"cpu": cpu_summary(), "similar": similar_speed(images, dim=dim), "quality": similar_quality()}
