"""The hostile-file corpus through decoding, preprocessing and POST /tag's logic (no AWS, fake model)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from corpus.manifest import BY_NAME, CASES, TAG_NOW_MAX_BYTES, Case

from imagetagger.errors import ImageTaggerError, InvalidImageError
from imagetagger.model_client import EndpointClient
from imagetagger.modelspec import SERVING_INPUT_SIZE
from imagetagger.preprocessing import decode_image, prepare_upload
from imagetagger.quicktag import tag_image_bytes


class CountingRuntime:
    """A sagemaker-runtime stand-in that answers one 'cat' tag per image and counts the images it saw."""

    def __init__(self) -> None:
        self.images = 0

    def invoke_endpoint(self, **request):
        batch = np.load(io.BytesIO(request["Body"]), allow_pickle=False)
        self.images += len(batch)
        tags = [{"name": "cat", "confidence": 0.9, "parents": ["animal"]}]
        body = {"model_version": "fake", "predictions": [{"tags": tags}] * len(batch)}
        return {"Body": io.BytesIO(json.dumps(body).encode())}


def test_the_corpus_covers_at_least_25_kinds_of_file():
    assert len(CASES) >= 25
    assert sum(case.tagged for case in CASES) >= 10 and sum(not case.tagged for case in CASES) >= 15
    assert len(BY_NAME) == len(CASES)  # names are unique


def test_committed_files_are_what_the_generator_builds():
    generator = Path(__file__).resolve().parents[1] / "corpus" / "generate.py"
    result = subprocess.run([sys.executable, str(generator), "--check"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("case", [c for c in CASES if c.expected_tag_status != 413], ids=lambda c: c.name)
def test_decode_and_prepare_accept_or_refuse_with_the_reason(case: Case):
    data = case.data()
    if case.tagged:
        pixels = prepare_upload(data)
        assert pixels.dtype == np.uint8 and pixels.shape == (SERVING_INPUT_SIZE, SERVING_INPUT_SIZE, 3)
    else:
        with pytest.raises(InvalidImageError, match=case.reason):
            prepare_upload(data)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_tag_now_answers_tags_or_the_expected_client_error(case: Case):
    runtime = CountingRuntime()
    endpoint = EndpointClient("imagetagger", runtime)
    try:
        prediction = tag_image_bytes(case.data(), case.content_type, endpoint=endpoint, max_bytes=TAG_NOW_MAX_BYTES)
    except ImageTaggerError as exc:
        assert exc.status_code == case.expected_tag_status, str(exc)
        assert 400 <= exc.status_code < 500
        assert runtime.images == 0  # refused before the model is called
        if case.reason:
            assert case.reason in str(exc)
    else:
        assert case.expected_tag_status == 200
        assert [tag["name"] for tag in prediction.tags] == ["cat"] and runtime.images == 1


def test_exif_orientation_is_applied_before_tagging():
    # Stored 120x80 with orientation 6: the model must see the upright 80x120 photo.
    assert decode_image(BY_NAME["exif_rotated_jpeg"].data()).size == (80, 120)
    assert decode_image(BY_NAME["exif_bad_orientation"].data()).size == (120, 80)


def test_transparent_pixels_are_shown_on_white():
    rgba = decode_image(BY_NAME["rgba_png"].data())
    # The alpha gradient is (almost) fully transparent in the top row: the black corner pixel shows as near-white.
    assert rgba.mode == "RGB" and min(rgba.getpixel((0, 0))) >= 250


def test_non_finite_float_pixels_do_not_turn_into_noise():
    pixels = np.asarray(decode_image(BY_NAME["float_tiff_nan"].data()))
    assert set(np.unique(pixels).tolist()) <= {0, 255}
