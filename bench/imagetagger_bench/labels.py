"""Users' own labels: the few-shot evaluation on data/coco-clean and the apply benchmark (10,000 stored embeddings).

Few-shot (`imagetagger evaluate-labels`): the default model's real `embedding` output (its ONNX graph through the
endpoint's ort-fp32 backend, cached per model.onnx sha256) of the 249 coco-clean photos, which no part of the
embedding saw (its PCA was fitted on coco-sample train, the classifier head trained there; model card). For each COCO
class with at least 10 photos (not `person`, on 94 % of them), and each of 5 seeded draws, a label is trained with the
production code (imagetagger.custom_labels.training.train_label) from 5 random photos of the class against the other
photos as a user's unlabelled library, exactly as the label function does: only embeddings, never the model's tags,
so the class's name plays no part. It is scored on every photo but its 5 examples (`library`: the photos it was
contrasted with, as when a label tags a user's existing photos) and, in a second run, trained against one seeded half
of the others and scored on the other half (`held_out`: photos it never saw, as a new upload). Reported: AP, and
precision and recall at the threshold it chose, against COCO's ground truth.

Apply benchmark (`imagetagger bench --labels`): the label function's code path against in-process moto built from
template.yaml, for one user with 10,000 stored embeddings (random unit vectors of the model's dimension, 3 % of them
near one direction: the photos the label should find).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from imagetagger.modelspec import load_model_spec
from imagetagger_bench.optimize import REPO_ROOT, load_images, predict_outputs

CLEAN_DIR = REPO_ROOT / "data" / "coco-clean"
CACHE_DIR = Path(os.environ.get("IMAGETAGGER_CACHE_DIR", Path.home() / ".cache" / "imagetagger"))
SHOTS, DRAWS, MIN_POSITIVES, MAX_PREVALENCE = 5, 5, 10, 0.5
TARGET_AP, TARGET_APPLY_S = 0.6, 2.0
USER = "bench-user"


def clean_embeddings(model_dir: Path) -> tuple[np.ndarray, np.ndarray, list[str], list[str]]:
    """(embeddings [N, D], targets [N, C], class names, file names) of data/coco-clean/clean, cached per model."""
    from imagetagger_endpoint.backends import DEFAULT_BACKEND, load_backend
    from imagetagger_training.data import CocoLabelSource

    labelled = CocoLabelSource(CLEAN_DIR / "annotations" / "instances_clean.json", CLEAN_DIR / "clean").load()
    digest = hashlib.sha256((model_dir / "model.onnx").read_bytes()).hexdigest()
    cache = CACHE_DIR / f"coco-clean-embeddings-{digest[:16]}.npz"
    if cache.is_file():
        embeddings = np.load(cache)["embeddings"]
    else:
        images = load_images(labelled.paths, load_model_spec(model_dir).size)
        _, embeddings = predict_outputs(load_backend(model_dir, DEFAULT_BACKEND), images)
        if embeddings is None:
            raise ValueError(f"{model_dir} has no embedding output")
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, embeddings=embeddings)
    # Stored as float16, as the image items and the packed matrix hold them.
    stored = embeddings.astype("<f2").astype(np.float32)
    return stored, labelled.targets, labelled.names, [path.name for path in labelled.paths]


def _score(classifier: Any, vectors: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import average_precision_score

    probabilities = classifier.probabilities(vectors)
    tagged = probabilities >= classifier.threshold
    hits = int((tagged & (truth == 1)).sum())
    return {
        "ap": float(average_precision_score(truth, probabilities)),
        "precision": hits / int(tagged.sum()) if tagged.any() else float("nan"),
        "recall": hits / int(truth.sum()),
        "prevalence": float(truth.mean()),
    }


def few_shot_evaluation(model_dir: Path, seed: int = 0) -> dict[str, Any]:
    from imagetagger.custom_labels.training import TrainingSet, sample_negatives, train_label

    embeddings, targets, names, files = clean_embeddings(model_dir)
    count = len(embeddings)
    classes = [c for c in range(len(names)) if MIN_POSITIVES <= targets[:, c].sum() <= MAX_PREVALENCE * count]
    rng = np.random.default_rng(seed)
    runs: dict[str, list[dict[str, Any]]] = {"library": [], "held_out": []}
    for c in classes:
        positives = np.flatnonzero(targets[:, c] == 1)
        for draw in range(DRAWS):
            shots = rng.choice(positives, SHOTS, replace=False)
            rest = np.setdiff1d(np.arange(count), shots)
            # Held out: half of the other photos of the class and half of the rest contrast, the others are scored.
            halves = [
                rng.permutation(part) for part in (np.intersect1d(rest, positives), np.setdiff1d(rest, positives))
            ]
            contrast = np.concatenate([part[: len(part) // 2] for part in halves])
            held_out = np.concatenate([part[len(part) // 2 :] for part in halves])
            for setting, contrasted, scored in (("library", rest, rest), ("held_out", contrast, held_out)):
                data = TrainingSet(embeddings[shots], sample_negatives(embeddings[:0], embeddings[contrasted]))
                classifier = train_label(data, "eval", seed=draw)
                figures = _score(classifier, embeddings[scored], targets[scored, c])
                runs[setting].append(
                    {
                        "class": names[c],
                        "draw": draw,
                        "examples": [files[int(k)] for k in shots],
                        "estimated_precision": classifier.precision,
                        "estimated_recall": classifier.recall,
                        **figures,
                    }
                )
    return {
        "data": "data/coco-clean/clean (249 COCO minival photos; never seen by the embedding's fitting)",
        "embedding": "models/default output `embedding` (ort-fp32), stored as float16",
        "shots": SHOTS,
        "draws": DRAWS,
        "seed": seed,
        "classes": [names[c] for c in classes],
        **{setting: _summary(rows) for setting, rows in runs.items()},
        "target_ap": TARGET_AP,
        "runs": runs,
    }


def _summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    def mean(key: str, subset: list[dict[str, Any]]) -> float:
        values = [row[key] for row in subset if not np.isnan(row[key])]
        return round(float(np.mean(values)), 3) if values else float("nan")

    per_class = {}
    for name in dict.fromkeys(row["class"] for row in rows):
        subset = [row for row in rows if row["class"] == name]
        per_class[name] = {key: mean(key, subset) for key in ("ap", "precision", "recall", "prevalence")}
    return {
        "mean_ap": mean("ap", rows),
        "mean_precision": mean("precision", rows),
        "mean_recall": mean("recall", rows),
        "mean_estimated_precision": mean("estimated_precision", rows),
        "mean_estimated_recall": mean("estimated_recall", rows),
        "mean_prevalence": mean("prevalence", rows),  # a random ranking's AP
        "runs_tagging_nothing": int(sum(np.isnan(row["precision"]) for row in rows)),
        "runs": len(rows),
        "ap_target_met": bool(mean("ap", rows) >= TARGET_AP),
        "per_class": per_class,
    }


# ---------------------------------------------------------------------------------------------- apply benchmark
def _library(count: int, dim: int, planted: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    rows = rng.standard_normal((count, dim)).astype(np.float32)
    direction = rng.standard_normal(dim).astype(np.float32)
    members = rng.choice(count, planted, replace=False)
    rows[members] = direction / np.linalg.norm(direction) * 3 + rows[members] / np.sqrt(dim)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True), members


def apply_speed(images: int = 10_000, dim: int = 128, planted_share: float = 0.03) -> dict[str, Any]:
    import boto3
    from moto import mock_aws

    from imagetagger.custom_labels.apply import apply_label
    from imagetagger.custom_labels.examples import LabelExamples
    from imagetagger.custom_labels.jobs import LabelJobs
    from imagetagger.custom_labels.requests import LabelRequests
    from imagetagger.custom_labels.store import LabelStore
    from imagetagger.embedding_store import EmbeddingStore
    from imagetagger.storage import ImageRepository
    from imagetagger_bench.similar import _fill
    from imagetagger_local.cfn import create_stack_resources

    for name, value in {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench"}.items():
        os.environ.setdefault(name, value)
    region = "us-east-1"
    with mock_aws():
        env = create_stack_resources("bench", region=region).environment
        dynamodb = boto3.resource("dynamodb", region_name=region)
        repo = ImageRepository.from_names(dynamodb, env["IMAGES_TABLE"], env["TAGS_TABLE"])
        labels = LabelStore(dynamodb.Table(env["LABELS_TABLE"]))
        store = EmbeddingStore(boto3.client("s3", region_name=region), env["UPLOAD_BUCKET"], repo)
        vectors, members = _library(images, dim, int(images * planted_share), seed=0)
        ids = _fill(repo.images, vectors, "bench-model")
        store.update(USER, lambda matrix: matrix)  # the packed matrix, as the processing function keeps it
        examples = [ids[k] for k in members[:SHOTS]]
        LabelExamples(repo, labels, LabelRequests(None, "")).add_examples(USER, "planted", examples)

        jobs = LabelJobs(repo, labels, store)
        started = time.perf_counter()
        outcome = jobs.train(USER, "planted", labels.get(USER, "planted").revision)
        label_function_s = time.perf_counter() - started
        classifier = labels.get(USER, "planted").classifier
        assert classifier is not None, outcome

        # Applying the trained label again from scratch: the matrix read from S3, scoring, and every write.
        repo.delete_tag_rows(USER, ((("planted"), i) for i, s, _ in repo.tag_rows(USER, "planted") if s == "custom"))
        started = time.perf_counter()
        matrix, _ = store.load(USER)
        assert matrix is not None
        found, stored = matrix.of_version("bench-model")
        load_s = time.perf_counter() - started
        applied = apply_label(
            repo, USER, "planted", classifier, [str(i) for i in found], stored.astype(np.float32), set(examples)
        )
        apply_s = time.perf_counter() - started
        truth = set(ids[k] for k in members) - set(examples)
        predicted = {i for i, s, _ in repo.tag_rows(USER, "planted") if s == "custom"}

        # The write-bound worst case: a label that tags every photo (10,000 map entries and rows).
        everything = dataclasses.replace(classifier, threshold=0.0)
        started = time.perf_counter()
        worst = apply_label(
            repo, USER, "everything", everything, [str(i) for i in found], stored.astype(np.float32), set()
        )
        worst_s = time.perf_counter() - started
    return {
        "images": images,
        "dim": dim,
        "planted": len(members),
        "label_function": {"seconds": round(label_function_s, 3), **outcome},
        "apply": {
            "seconds": round(apply_s, 3),
            "matrix_load_s": round(load_s, 3),
            "compute_s": round(applied.compute_s, 4),
            "read_previous_s": round(applied.read_s, 3),
            "write_s": round(applied.write_s, 3),
            "tagged": applied.tagged,
            "rows_written": applied.written,
        },
        "apply_tagging_every_photo": {
            "seconds": round(worst_s, 3),
            "compute_s": round(worst.compute_s, 4),
            "write_s": round(worst.write_s, 3),
            "rows_written": worst.written,
        },
        "found_planted": round(len(predicted & truth) / max(1, len(truth)), 3),
        "target_s": TARGET_APPLY_S,
        "met": apply_s < TARGET_APPLY_S,
        "storage": "in-process moto S3 + DynamoDB (template.yaml); no network round trips",
    }


def run_label_benchmark(images: int = 10_000) -> dict[str, Any]:
    from imagetagger_bench.run import DEFAULT_MODEL_DIR, cpu_summary

    dim = int(json.loads((DEFAULT_MODEL_DIR / "model.json").read_text())["embedding"]["dim"])
    return {"cpu": cpu_summary(), "labels": apply_speed(images, dim=dim)}
