"""OpenVINO cuts a request into chunks for its streams without computing padding images (issue 13: an SQS batch of 10
was padded to 16, 60 % more inference than the images needed) and without leaving a stream idle while another still
has chunks to run, and every image still gets its own answer."""

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
        rounds = -(-(images // size) // streams)
        assert rounds * size == -(-images // streams), f"{images} images in chunks of {size} end unevenly"


def test_full_batches_keep_the_largest_chunks():
    assert stream_chunk_size(16, 2) == 8
    assert stream_chunk_size(8, 2) == 4
    assert stream_chunk_size(20, 2) == 2  # 5 rounds of 2 on each stream
    assert stream_chunk_size(12, 3) == 4


def test_a_batch_that_does_not_split_evenly_is_cut_so_that_the_streams_finish_together():
    # An SQS batch of 10 on 2 cores: not 2 chunks of 8 (6 padding images), nor 5 of 2 (3 rounds on one stream, 2 on
    # the other), but 10 of 1: 5 rounds on each.
    assert stream_chunk_size(10, 2) == 1
    assert stream_chunk_size(9, 2) == 1
    assert stream_chunk_size(6, 4) == 2  # 3 streams for one round finish as soon as 4 then 2 chunks of 1


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
