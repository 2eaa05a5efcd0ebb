"""A backend is accurate only if its embeddings agree with fp32's (issue 15): mAP alone is not enough, and the
padded chunks of a batch keep each image's embedding."""

import numpy as np

from imagetagger_bench.optimize import embedding_agreement
from imagetagger_endpoint import selection
from imagetagger_endpoint.backends import EMBEDDING_OUTPUT, OUTPUT_NAME, merge_chunks


def _record(**measured):
    return {"cpu_class": selection.cpu_class(), "map_fp32": 78.0, "max_map_loss": 0.5, "measured": measured}


def test_a_backend_whose_embeddings_drift_is_not_accurate_even_with_the_same_map():
    record = _record(
        **{
            "ort-fp32": {"map": 78.0, "embedding_cosine": 1.0},
            "ort-int8": {"map": 77.9, "embedding_cosine": 0.95},
            "ov-bf16": {"map": 77.8, "embedding_cosine": 0.995},
            "ov-int8": {"map": 77.9},  # measured before embeddings existed: not evidence for them
        }
    )
    assert selection.accurate_backends(record) == {"ort-fp32", "ov-bf16"}


def test_a_model_without_embeddings_is_judged_on_map_alone():
    record = _record(**{"ort-fp32": {"map": 78.0}, "ort-int8": {"map": 77.9}})
    assert selection.accurate_backends(record) == {"ort-fp32", "ort-int8"}


def test_agreement_is_the_mean_and_worst_cosine_with_fp32():
    reference = np.eye(3, dtype=np.float32)
    rotated = reference.copy()
    rotated[2] = [0, 0.6, 0.8]
    assert embedding_agreement(rotated, reference) == {"embedding_cosine": 0.9333, "embedding_cosine_min": 0.8}


def test_padded_chunks_keep_each_real_images_embedding():
    first = {OUTPUT_NAME: np.zeros((4, 80)), EMBEDDING_OUTPUT: np.arange(8.0).reshape(4, 2)}
    second = {OUTPUT_NAME: np.zeros((2, 80)), EMBEDDING_OUTPUT: np.arange(10.0, 14.0).reshape(2, 2)}
    merged = merge_chunks([(0, 4, first), (4, 1, second)])  # the second chunk: one real image, one padding
    assert merged[EMBEDDING_OUTPUT].tolist() == [[0, 1], [2, 3], [4, 5], [6, 7], [10, 11]]
    assert merged[OUTPUT_NAME].shape == (5, 80)
