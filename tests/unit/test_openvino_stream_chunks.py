"""OpenVINO cuts a request into chunks for its streams without computing padding images (issue 13: an SQS batch of 10
was padded to 16, 60 % more inference than the images needed), and every image still gets its own answer."""

import numpy as np
import pytest

from imagetagger.modelspec import SERVING_INPUT_SIZE
from imagetagger_endpoint.backends import MAX_STATIC_BATCH, backend_available, load_backend, stream_chunk_size
from imagetagger_endpoint.tiny_model import write_tiny_model


@pytest.mark.parametrize("streams", [2, 3, 4])
def test_chunks_need_no_padding_and_are_at_most_a_streams_share(streams):
    for images in range(2, 41):
        size = stream_chunk_size(images, streams)
        assert size in (1, 2, 4, 8) and size <= MAX_STATIC_BATCH
        assert images % size == 0, f"{images} images in chunks of {size} compute padding"
        assert size <= -(-images // streams), f"{images} images in chunks of {size} leave streams idle"


def test_full_batches_keep_the_largest_chunks():
    assert stream_chunk_size(16, 2) == 8
    assert stream_chunk_size(8, 2) == 4
    assert stream_chunk_size(10, 2) == 2  # an SQS batch: 5 chunks of 2, not 2 of 8 (6 padding images)


@pytest.mark.parametrize("images", [3, 5, 10])
def test_each_image_of_a_streamed_batch_gets_its_own_answer(tmp_path, images):
    model_dir = write_tiny_model(tmp_path / "model")
    if not backend_available(model_dir, "ov-bf16", None):
        pytest.skip("OpenVINO is not installed here")
    backend = load_backend(model_dir, "ov-bf16", tmp_path / "cache")
    batch = np.random.default_rng(images).integers(
        0, 256, (images, SERVING_INPUT_SIZE, SERVING_INPUT_SIZE, 3), dtype=np.uint8
    )
    together = backend.run(batch)
    alone = np.concatenate([backend.run(image[np.newaxis]) for image in batch])
    assert together.shape == (images, 80)
    np.testing.assert_allclose(together, alone, atol=2e-2)  # bf16: LATENCY and THROUGHPUT graphs round differently
