"""`imagetagger tag --boxes` against a stand-in API on a local port: each tag's boxes printed as fractions of the
photo and in pixels of the upright photo (issue 11)."""

from __future__ import annotations

import io
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
from PIL import Image

from imagetagger.quicktag import upright_size
from imagetagger_cli.main import main

ANSWER = {
    "model_version": "m2",
    "tags": [
        {
            "name": "zebra",
            "confidence": 0.97,
            "parents": ["animal"],
            "instances": [
                {"box": [0.5, 0.25, 0.25, 0.5], "confidence": 0.96},
                {"box": [0.0, 0.0, 0.1, 0.2], "confidence": 0.5},
            ],
        },
        {"name": "person", "confidence": 0.61, "parents": [], "instances": []},
    ],
}


@pytest.fixture
def api_url():
    seen: list[tuple[str, str]] = []

    class TagRoute(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's naming)
            self.rfile.read(int(self.headers["Content-Length"]))
            seen.append((self.path, self.headers["Authorization"]))
            body = json.dumps(ANSWER).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), TagRoute)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()


@pytest.fixture
def portrait_photo(tmp_path):
    """Stored 640x480 landscape, EXIF "rotate 90°": upright it is 480 wide, 640 high."""
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "portrait.jpg"
    Image.fromarray(np.zeros((480, 640, 3), dtype=np.uint8)).save(path, format="JPEG", exif=exif)
    return path


def test_boxes_are_printed_per_tag_in_fractions_and_upright_pixels(api_url, portrait_photo, capsys):
    url, seen = api_url

    code = main(["tag", str(portrait_photo), "--boxes", "--api-url", url, "--token", "t0k"])

    assert code == 0 and seen == [("/tag", "Bearer t0k")]
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        f"{portrait_photo}: zebra 0.97 (animal), person 0.61 (-)",
        "  zebra 0.97: 2 boxes",
        "    0.96  x=0.500 y=0.250 w=0.250 h=0.500  (240, 160) 120x320 px",
        "    0.50  x=0.000 y=0.000 w=0.100 h=0.200  (0, 0) 48x128 px",
        "  person 0.61: no box",
    ]


def test_without_boxes_the_output_is_one_line_and_json_carries_the_instances(api_url, portrait_photo, capsys):
    url, _ = api_url

    assert main(["tag", str(portrait_photo), "--api-url", url, "--token", "t"]) == 0
    assert capsys.readouterr().out.splitlines() == [f"{portrait_photo}: zebra 0.97 (animal), person 0.61 (-)"]

    assert main(["tag", str(portrait_photo), "--json", "--api-url", url, "--token", "t"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["tags"][0]["instances"] == ANSWER["tags"][0]["instances"]


def test_upright_size_applies_the_exif_turn_and_refuses_non_images():
    buffer = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 8
    Image.new("RGB", (30, 20)).save(buffer, format="JPEG", exif=exif)
    assert upright_size(buffer.getvalue()) == (20, 30)
    buffer = io.BytesIO()
    Image.new("RGB", (30, 20)).save(buffer, format="PNG")
    assert upright_size(buffer.getvalue()) == (30, 20)
    assert upright_size(b"shopping list") is None
