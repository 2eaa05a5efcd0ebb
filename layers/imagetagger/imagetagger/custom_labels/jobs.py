"""The label function's work: train a label on its examples' stored embeddings and tag the user's photos with it, or
clean up after a deleted label. Each request is safe to run twice (SQS delivers at least once)."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from boto3.dynamodb.conditions import Attr, Key

from imagetagger.correction_store import CorrectionStore
from imagetagger.corrections import Correction
from imagetagger.custom_labels.apply import Applied, apply_label, remove_entries
from imagetagger.custom_labels.requests import LabelRequest
from imagetagger.custom_labels.store import MIN_POSITIVES, Label, LabelStore
from imagetagger.custom_labels.training import NotTrainableError, TrainingSet, sample_negatives, train_label
from imagetagger.embedding_store import EmbeddingStore
from imagetagger.embeddings import Matrix
from imagetagger.errors import ConflictError, NotFoundError
from imagetagger.label_names import label_key
from imagetagger.storage import ImageRepository


@dataclass(frozen=True)
class Examples:
    positives: frozenset[str]
    negatives: frozenset[str]

    @property
    def all(self) -> frozenset[str]:
        return self.positives | self.negatives


@dataclass
class LabelJobs:
    repo: ImageRepository
    labels: LabelStore
    embeddings: EmbeddingStore

    def handle(self, request: LabelRequest) -> dict[str, Any]:
        if request.action == "delete":
            return self.clean_up(request.user_id, request.name)
        return self.train(request.user_id, request.name, request.revision)

    # ------------------------------------------------------------------ training
    def train(self, user_id: str, name: str, revision: int) -> dict[str, Any]:
        started = time.perf_counter()
        try:
            label = self.labels.get(user_id, name)
        except NotFoundError:
            return {"outcome": "gone"}
        if label.revision != revision:
            return {"outcome": "superseded"}  # a newer request (already queued) trains the newer examples
        examples = self.examples(user_id, label)
        matrix = self._matrix(user_id, examples.positives)
        version = _version_of(matrix, examples.positives)
        ids: list[str] = []
        stored = matrix.vectors[:0]
        if version is not None:
            found, stored = matrix.of_version(version)
            ids = [str(image_id) for image_id in found]
        vectors = stored.astype(np.float32)
        positive_rows = [k for k, image_id in enumerate(ids) if image_id in examples.positives]
        counts = (len(examples.positives), len(examples.negatives))
        if len(positive_rows) < MIN_POSITIVES:
            reason = (
                f"{len(positive_rows)} of its {len(examples.positives)} examples have an embedding; "
                f"it trains from {MIN_POSITIVES}"
            )
            return self._untrained(label, reason, counts)
        explicit = [k for k, image_id in enumerate(ids) if image_id in examples.negatives]
        implicit = [k for k, image_id in enumerate(ids) if image_id not in examples.all]
        data = TrainingSet(
            vectors[positive_rows], sample_negatives(vectors[explicit], vectors[implicit]), len(explicit)
        )
        try:
            classifier = train_label(data, version or "")
        except NotTrainableError as exc:
            return self._untrained(label, f"{exc} (you have {len(ids)} photos with an embedding)", counts)
        trained_s = time.perf_counter() - started
        if not self.labels.save_training(label, classifier, None, *counts):
            return {"outcome": "superseded"}
        applied = apply_label(self.repo, user_id, label.name, classifier, ids, vectors, set(examples.all))
        if not self._exists(user_id, name):
            # Deleted while its tags were written: the delete's clean-up may have run before these writes.
            return {"outcome": "withdrawn", "clean_up": self.clean_up(user_id, name)}
        return {"outcome": "trained", "train_s": round(trained_s, 3), **asdict(applied)}

    def _exists(self, user_id: str, name: str) -> bool:
        try:
            self.labels.get(user_id, name)
        except NotFoundError:
            return False
        return True

    def _untrained(self, label: Label, reason: str, counts: tuple[int, int]) -> dict[str, Any]:
        if self.labels.save_training(label, None, reason, *counts) and label.classifier is not None:
            # Too few examples left for the classifier it had: its predictions go with it.
            apply_label(self.repo, label.user_id, label.name, label.classifier, [], np.zeros((0, 0), np.float32), set())
        return {"outcome": "waiting", "reason": reason}

    def _matrix(self, user_id: str, positives: frozenset[str]) -> Matrix:
        """The user's packed embeddings; rebuilt from DynamoDB when missing or lacking an example (its upsert failed
        after the tags were stored, say)."""
        matrix, _ = self.embeddings.load(user_id)
        if matrix is not None and positives <= set(matrix.image_ids):
            return matrix
        return self.embeddings.rebuilt(user_id)

    def examples(self, user_id: str, label: Label) -> Examples:
        """The label's examples, from the user's corrections (one projected Query of their images, paged)."""
        positives: set[str] = set()
        negatives: set[str] = set()
        for image_id, correction in self._corrections(user_id):
            if any(label_key(n) == label.key for n in correction.custom_positives()):
                positives.add(image_id)
            elif any(label_key(n) == label.key for n in correction.custom_negatives()):
                negatives.add(image_id)
        return Examples(frozenset(positives), frozenset(negatives))

    def _corrections(self, user_id: str) -> list[tuple[str, Correction]]:
        query: dict[str, Any] = {
            "KeyConditionExpression": Key("user_id").eq(user_id),
            "ProjectionExpression": "image_id, corrections",
            "FilterExpression": Attr("corrections").exists(),
        }
        found = []
        while True:
            response = self.repo.images.query(**query)
            found += [(item["image_id"], Correction.from_item(item["corrections"])) for item in response["Items"]]
            if "LastEvaluatedKey" not in response:
                return found
            query["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    # ------------------------------------------------------------------ deletion
    def clean_up(self, user_id: str, name: str) -> dict[str, Any]:
        """Remove a deleted label's tags (rows, map entries) and its mentions in the user's corrections. A label of
        the same name created again meanwhile keeps them: they are its examples now."""
        if self._exists(user_id, name):
            return {"outcome": "recreated"}
        rows = self.repo.tag_rows(user_id, name)
        # Every photo with a row: one the user corrected with the label ("user" row) may still hold the classifier's
        # map entry from before the correction, which would show again once the correction is cleaned.
        remove_entries(self.repo, user_id, name, [image_id for image_id, _, _ in rows])
        self.repo.delete_tag_rows(user_id, ((name, image_id) for image_id, _, _ in rows))
        store = CorrectionStore(self.repo.images)
        cleaned = 0
        key = label_key(name)
        for image_id, correction in self._corrections(user_id):
            # Names are compared as labels are (case-insensitively): "kitchen" in a correction is label "Kitchen".
            spellings = {
                n for n in (*correction.confirmed, *correction.rejected, *correction.added) if label_key(n) == key
            }
            if spellings:
                try:
                    store.save(user_id, image_id, correction.without(spellings))
                    cleaned += 1
                except (NotFoundError, ConflictError):
                    continue  # deleted, or no longer TAGGED: nothing left to clean
        return {"outcome": "deleted", "rows": len(rows), "corrections": cleaned}


def _version_of(matrix: Matrix, positives: frozenset[str]) -> str | None:
    """The model version most of the examples' embeddings come from (only one model's embeddings are comparable)."""
    counts = Counter(
        matrix.versions[int(v)]
        for image_id, v in zip(matrix.image_ids, matrix.version_index, strict=True)
        if image_id in positives
    )
    if counts:
        return counts.most_common(1)[0][0]
    return matrix.versions[-1] if matrix.versions else None


__all__ = ["Applied", "Examples", "LabelJobs"]
