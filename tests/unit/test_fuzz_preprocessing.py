"""Fuzzing the untrusted-bytes path: decode_image + prepare must answer an RGB model input or InvalidImageError.

Anything else (an IndexError deep in a codec, a numpy warning turned error, a wrong shape) would be a 500 on POST /tag
or a crashed batch on the upload path. `make test` runs a small deterministic budget; the long run is

    IMAGETAGGER_FUZZ_EXAMPLES=20000 .venv/bin/python -m pytest tests/unit/test_fuzz_preprocessing.py -p no:cacheprovider

which draws fresh random inputs every time (hypothesis keeps any failure in .hypothesis/ and replays it first).
"""

from __future__ import annotations

import io
import os

import numpy as np
from corpus.manifest import CASES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from imagetagger.errors import InvalidImageError
from imagetagger.jpeg_structure import read_structure
from imagetagger.modelspec import SERVING_INPUT_SIZE
from imagetagger.preprocessing import decode_image, prepare

LONG_RUN_EXAMPLES = os.environ.get("IMAGETAGGER_FUZZ_EXAMPLES")
fuzz_settings = settings(
    max_examples=int(LONG_RUN_EXAMPLES or 120),
    derandomize=LONG_RUN_EXAMPLES is None,  # the CI budget is the same inputs every run: no flaky failures
    deadline=None,  # a 2-core CI machine is noisy; hangs are bounded by the pixel guard, not by a timer
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Valid images of every accepted format, small enough to mutate quickly.
SEEDS = [case.data() for case in CASES if case.tagged and case.committed and len(case.data()) < 40_000]


def assert_decodes_or_refuses(data: bytes) -> None:
    try:
        image = decode_image(data)
    except InvalidImageError as exc:
        assert str(exc)  # the user gets a reason
        return
    assert image.mode == "RGB" and image.width >= 1 and image.height >= 1
    pixels = prepare(image)
    assert pixels.dtype == np.uint8 and pixels.shape == (SERVING_INPUT_SIZE, SERVING_INPUT_SIZE, 3)


@fuzz_settings
@given(st.binary(max_size=2048))
def test_arbitrary_bytes(data: bytes):
    assert_decodes_or_refuses(data)


@fuzz_settings
@given(
    seed=st.sampled_from(SEEDS),
    edits=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), min_size=1, max_size=12),
    cut=st.one_of(st.none(), st.floats(0, 1)),
)
def test_mutated_valid_images(seed: bytes, edits: list[tuple[float, int]], cut: float | None):
    # Byte flips anywhere (headers included) and truncation: what a flaky network or a malicious client produces.
    data = bytearray(seed)
    for position, value in edits:
        data[int(position * len(data))] = value
    if cut is not None:
        data = data[: int(cut * len(data))]
    assert_decodes_or_refuses(bytes(data))


@fuzz_settings
@given(
    mode=st.sampled_from(["RGB", "L", "P", "RGBA", "LA", "1", "CMYK", "I;16", "F"]),
    fmt=st.sampled_from(["PNG", "JPEG", "WEBP", "GIF", "BMP", "TIFF"]),
    width=st.integers(1, 300),
    height=st.integers(1, 300),
    seed=st.integers(0, 2**32 - 1),
)
def test_every_encodable_image_is_accepted(mode: str, fmt: str, width: int, height: int, seed: int):
    # GIVEN any image Pillow can write in an accepted format
    noise = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    image = Image.fromarray(noise, "RGB")
    if mode == "I;16":
        image = Image.fromarray(noise[..., 0].astype(np.uint16) * 257)
    elif mode == "F":
        image = Image.fromarray(noise[..., 0].astype(np.float32) / 7.0 - 3.0)
    elif mode != "RGB":
        image = image.convert(mode)
    buffer = io.BytesIO()
    try:
        image.save(buffer, fmt)
    except (OSError, ValueError, KeyError):
        return  # this format cannot store this mode: nothing a user could upload
    # THEN it decodes and becomes a model input
    pixels = prepare(decode_image(buffer.getvalue()))
    assert pixels.shape == (SERVING_INPUT_SIZE, SERVING_INPUT_SIZE, 3)


JPEG_SEEDS = [seed for seed in SEEDS if seed[:2] == b"\xff\xd8"]


@fuzz_settings
@given(
    st.sampled_from(JPEG_SEEDS),
    st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), max_size=8),
    st.floats(0, 1) | st.none(),
)
def test_the_jpeg_marker_walk_never_raises_and_stops_at_its_limit(seed: bytes, edits, cut):
    # The scan count is read from untrusted bytes before Pillow sees them: it must never crash or run away.
    data = bytearray(seed)
    for where, value in edits:
        data[int(where * len(data))] = value
    if cut is not None:
        data = data[: int(cut * len(data))]
    structure = read_structure(bytes(data), stop_after_scans=3)
    assert 0 <= structure.scans <= 4 and structure.coefficient_bytes >= 0
