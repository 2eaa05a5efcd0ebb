"""Applying trained custom labels: to all of a user's stored embeddings after a training (no re-inference), and to one
new upload right after the model tagged it. numpy only (no scikit-learn in the processing function).

A prediction is written twice, as everything else about tags: into the image item's `custom_tags` map (what GET
/images/{id} shows, source "custom") and as a TagsTable row (what GET /images?tag= finds). Only what changed is written:
rows and map entries of images newly predicted or whose probability moved, removals where the label no longer applies.
Images the user made examples of (either way) are never predicted: the user's word stands.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from imagetagger.custom_labels.classifier import LabelClassifier
from imagetagger.custom_labels.store import Label, LabelStore
from imagetagger.embeddings import decode
from imagetagger.storage import ImageRepository, tag_row

logger = Logger(child=True)

# Concurrent UpdateItem calls: the map entries cannot be batched (BatchWriteItem only puts whole items).
WRITE_WORKERS = 8


@dataclass
class Applied:
    """What applying one label did, and how long each part took (the benchmark reports these)."""

    scored: int = 0
    tagged: int = 0
    written: int = 0
    withdrawn: int = 0
    compute_s: float = 0.0
    read_s: float = 0.0
    write_s: float = 0.0


def predictions(
    classifier: LabelClassifier, ids: list[str], vectors: np.ndarray, exclude: set[str]
) -> dict[str, float]:
    """image id -> probability (4 decimals, as stored) of the images the label tags, examples excluded."""
    if not ids:
        return {}
    probabilities = classifier.probabilities(vectors)
    hits = np.flatnonzero(probabilities >= classifier.threshold)
    return {ids[k]: round(float(probabilities[k]), 4) for k in hits.tolist() if ids[k] not in exclude}


def apply_label(
    repo: ImageRepository,
    user_id: str,
    name: str,
    classifier: LabelClassifier,
    ids: list[str],
    vectors: np.ndarray,
    exclude: set[str],
) -> Applied:
    """Tag the user's images (`ids`, `vectors`: their embeddings of the classifier's model version) with the label."""
    applied = Applied(scored=len(ids))
    started = time.perf_counter()
    predicted = predictions(classifier, ids, vectors, exclude)
    applied.compute_s = time.perf_counter() - started
    started = time.perf_counter()
    previous = {image_id: p for image_id, source, p in repo.tag_rows(user_id, name) if source == "custom"}
    applied.read_s = time.perf_counter() - started
    started = time.perf_counter()
    changed = {image_id: p for image_id, p in predicted.items() if previous.get(image_id) != p}
    withdrawn = [image_id for image_id in previous if image_id not in predicted]
    kept = _set_entries(repo, user_id, name, changed)
    repo.put_tag_rows(tag_row(user_id, image_id, name, changed[image_id], [], "custom") for image_id in kept)
    remove_entries(repo, user_id, name, withdrawn)
    repo.delete_tag_rows(user_id, ((name, image_id) for image_id in withdrawn))
    applied.write_s = time.perf_counter() - started
    applied.tagged, applied.written, applied.withdrawn = len(predicted), len(kept), len(withdrawn)
    return applied


def tag_new_image(
    repo: ImageRepository,
    labels: Iterable[Label],
    user_id: str,
    image_id: str,
    embedding: np.ndarray,
    embedding_version: str,
    previous: Iterable[str] = (),
) -> dict[str, float]:
    """Apply every trained label of the user to one freshly (re-)tagged image: its whole `custom_tags` map is
    replaced, rows written for the labels that apply and removed for `previous` ones (its old map) that no longer do."""
    tags: dict[str, float] = {}
    for label in labels:
        classifier = label.classifier
        if classifier is None or classifier.embedding_version != embedding_version:
            continue  # not trained yet, or on another model's embeddings (not comparable)
        probability = float(classifier.probabilities(embedding[np.newaxis])[0])
        if probability >= classifier.threshold:
            tags[label.name] = round(probability, 4)
    client = repo.images.meta.client
    try:
        client.update_item(
            TableName=repo.images.name,
            Key=_key(user_id, image_id),
            UpdateExpression="SET custom_tags = :tags",
            ConditionExpression="attribute_exists(image_id)",
            ExpressionAttributeValues={":tags": {name: Decimal(str(p)) for name, p in tags.items()}},
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        return {}  # deleted meanwhile
    repo.put_tag_rows(tag_row(user_id, image_id, name, p, [], "custom") for name, p in tags.items())
    repo.delete_tag_rows(user_id, ((name, image_id) for name in set(previous) - set(tags)))
    return tags


@dataclass(frozen=True)
class NewImage:
    """A freshly (re-)tagged image, as the labels need it: its embedding and the record read before tagging."""

    image_id: str
    embedding: bytes
    embedding_version: str
    record: dict[str, Any] | None


@dataclass
class NewUploadLabels:
    """The processing function's hook: after images are tagged with an embedding, the user's trained labels tag them
    too, the labels listed once for all of them. Best effort: a failure here is logged, never fails a tagged image
    (the next training re-applies)."""

    repo: ImageRepository
    labels: LabelStore

    def __call__(self, user_id: str, images: list[NewImage]) -> None:
        try:
            trained = [label for label in self.labels.list(user_id) if label.classifier is not None]
        except Exception:  # throttling, a label table not deployed yet: the tags are stored, the labels can wait
            logger.exception("custom labels were not applied", extra={"image_ids": [i.image_id for i in images]})
            return
        for image in images:
            try:
                previous = list(((image.record or {}).get("custom_tags") or {}).keys())
                if trained or previous:
                    tags = tag_new_image(
                        self.repo,
                        trained,
                        user_id,
                        image.image_id,
                        decode(image.embedding),
                        image.embedding_version,
                        previous,
                    )
                    logger.info(
                        "custom labels applied", extra={"image_id": image.image_id, "custom_tags": sorted(tags)}
                    )
            except Exception:
                logger.exception("custom labels were not applied", extra={"image_id": image.image_id})


def _key(user_id: str, image_id: str) -> dict[str, Any]:
    return {"user_id": user_id, "image_id": image_id}


def _set_entries(repo: ImageRepository, user_id: str, name: str, values: dict[str, float]) -> list[str]:
    """SET custom_tags.<name> on each image (concurrently); the ids of those that still exist."""
    client, table = repo.images.meta.client, repo.images.name  # the resource's client: Python types, thread-safe

    def set_one(image_id: str) -> str | None:
        value = Decimal(str(values[image_id]))
        try:
            client.update_item(
                TableName=table,
                Key=_key(user_id, image_id),
                UpdateExpression="SET custom_tags.#name = :p",
                ConditionExpression="attribute_exists(image_id)",
                ExpressionAttributeNames={"#name": name},
                ExpressionAttributeValues={":p": value},
            )
        except ClientError as exc:
            code = exc.response["Error"]["Code"]
            if code == "ConditionalCheckFailedException":
                return None  # deleted since its embedding was stored
            if code != "ValidationException":
                raise
            try:  # an image stored before custom labels: it has no map yet
                client.update_item(
                    TableName=table,
                    Key=_key(user_id, image_id),
                    UpdateExpression="SET custom_tags = :tags",
                    ConditionExpression="attribute_exists(image_id) AND attribute_not_exists(custom_tags)",
                    ExpressionAttributeValues={":tags": {name: value}},
                )
            except ClientError as retry:
                if retry.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise
                return set_one(image_id) if _exists(repo, user_id, image_id) else None
        return image_id

    with ThreadPoolExecutor(max_workers=WRITE_WORKERS, thread_name_prefix="custom-tags") as pool:
        return [image_id for image_id in pool.map(set_one, list(values)) if image_id is not None]


def remove_entries(repo: ImageRepository, user_id: str, name: str, image_ids: list[str]) -> None:
    client, table = repo.images.meta.client, repo.images.name

    def remove_one(image_id: str) -> None:
        try:
            client.update_item(
                TableName=table,
                Key=_key(user_id, image_id),
                UpdateExpression="REMOVE custom_tags.#name",
                ConditionExpression="attribute_exists(custom_tags)",
                ExpressionAttributeNames={"#name": name},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise  # gone, or never had the map: nothing to remove

    with ThreadPoolExecutor(max_workers=WRITE_WORKERS, thread_name_prefix="custom-tags") as pool:
        list(pool.map(remove_one, image_ids))


def _exists(repo: ImageRepository, user_id: str, image_id: str) -> bool:
    item = repo.images.get_item(Key={"user_id": user_id, "image_id": image_id}, ProjectionExpression="image_id")
    return "Item" in item
