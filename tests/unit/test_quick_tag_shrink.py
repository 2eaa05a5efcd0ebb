"""Clients downscale large photos before POST /tag (the CLI through imagetagger.quicktag, the mobile app through its own
copy of the rule): in AWS the base64 body must fit Lambda's 6 MB payload, and the model looks at 224 px anyway."""

from __future__ import annotations

import io

import numpy as np
import pytest
import requests
from imagetagger_mobile import api_client
from PIL import Image

from imagetagger import quicktag

SHRINKERS = {"layer": quicktag.shrink_for_quick_tag, "mobile": api_client.shrink_for_quick_tag}


def _photo(width: int, height: int, orientation: int | None = None) -> bytes:
    # Noise compresses badly, so a camera-sized frame is several MB as JPEG, like a real phone photo.
    pixels = np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)
    exif = Image.Exif()
    if orientation is not None:
        exif[0x0112] = orientation
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=95, exif=exif)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def camera_photo() -> bytes:
    # Stored landscape, EXIF says "rotate 90° clockwise to view": the person took it in portrait.
    data = _photo(3000, 2000, orientation=6)
    assert len(data) > 5 * 1024 * 1024
    return data


@pytest.mark.parametrize("client", SHRINKERS)
def test_a_large_photo_is_sent_as_an_upright_jpeg_of_at_most_1024_px(client, camera_photo):
    data, content_type = SHRINKERS[client](camera_photo, "image/jpeg")
    assert content_type == "image/jpeg" and len(data) < quicktag.SHRINK_ABOVE_BYTES
    with Image.open(io.BytesIO(data)) as sent:
        assert sent.format == "JPEG"
        width, height = sent.size
    assert max(width, height) <= quicktag.QUICK_TAG_MAX_EDGE
    assert height > width  # portrait, as the person saw it


@pytest.mark.parametrize("client", SHRINKERS)
def test_small_files_and_files_that_are_no_image_are_sent_unchanged(client):
    small = _photo(200, 100)
    assert SHRINKERS[client](small, "image/jpeg") == (small, "image/jpeg")
    not_an_image = b"%PDF-1.7 " + b"x" * 2_000_000
    assert SHRINKERS[client](not_an_image, "image/png") == (not_an_image, "image/png")


def test_both_clients_apply_the_same_limits():
    assert api_client.SHRINK_ABOVE_BYTES == quicktag.SHRINK_ABOVE_BYTES
    assert api_client.QUICK_TAG_MAX_EDGE == quicktag.QUICK_TAG_MAX_EDGE


def test_the_cli_posts_the_downscaled_copy(tmp_path, camera_photo):
    from imagetagger_cli.commands.tag import tag_file

    class RecordingSession:
        def post(self, url, data, headers, timeout):
            self.sent = (url, data, headers["Content-Type"])
            answer = requests.Response()
            answer.status_code, answer._content = 200, b'{"tags": [], "model_version": "m"}'
            return answer

    path = tmp_path / "IMG_0001.JPG"
    path.write_bytes(camera_photo)
    session = RecordingSession()
    assert tag_file(session, "http://api", path) == {"tags": [], "model_version": "m"}
    url, data, content_type = session.sent
    assert url == "http://api/tag" and content_type == "image/jpeg" and len(data) < quicktag.SHRINK_ABOVE_BYTES
