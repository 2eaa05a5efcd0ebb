"""The default model's embeddings mean something: on coco-sample val, an image's nearest neighbour shares a COCO label
with it more often than a random other image does (docs/benchmark.md has the figure over all 79 val images)."""

import numpy as np

from imagetagger_bench.optimize import REPO_ROOT, predict_outputs, val_set
from imagetagger_bench.similar import neighbour_label_agreement
from imagetagger_endpoint.backends import DEFAULT_BACKEND, load_backend

MODEL_DIR = REPO_ROOT / "models" / "default"
IMAGES = 32  # the first 32 val images: enough for the gap to show, a few seconds of inference


def test_nearest_neighbours_share_a_label_more_often_than_random_pairs():
    images, targets = val_set(MODEL_DIR)
    _, embeddings = predict_outputs(load_backend(MODEL_DIR, DEFAULT_BACKEND), images[:IMAGES])
    assert embeddings is not None and embeddings.shape == (IMAGES, 128)
    assert np.allclose(np.linalg.norm(embeddings, axis=1), 1, atol=1e-4)
    agreement = neighbour_label_agreement(embeddings, targets[:IMAGES])
    assert agreement["nearest_shares_a_label"] >= agreement["random_pair_shares_a_label"] + 0.15, agreement
