"""The `imagetagger` commands a user runs against `make up`: token and tag."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests

pytestmark = pytest.mark.e2e

ZEBRA = Path(__file__).resolve().parents[2] / "data" / "coco-sample" / "val" / "000000244592.jpg"


def imagetagger(*args: str) -> subprocess.CompletedProcess:
    script = Path(sys.executable).with_name("imagetagger")
    return subprocess.run([str(script), *args], capture_output=True, text=True, timeout=120, check=False)


def test_token_prints_a_jwt_the_api_accepts(local_stack):
    result = imagetagger("token", "--user", "cli-user", "--state-dir", str(local_stack.state_dir))
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip()
    response = requests.get(f"{local_stack.api_url}/tags", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert response.status_code == 200


def test_tag_prints_the_tags_of_each_file_and_reports_bad_ones(local_stack, tmp_path):
    not_an_image = tmp_path / "notes.jpg"
    not_an_image.write_text("shopping list: eggs, milk")
    result = imagetagger(
        "tag",
        str(ZEBRA),
        str(not_an_image),
        "--api-url",
        local_stack.api_url,
        "--state-dir",
        str(local_stack.state_dir),
    )
    lines = result.stdout.splitlines()
    zebra_line = next(line for line in lines if line.startswith(str(ZEBRA)))
    assert "zebra" in zebra_line and "(animal)" in zebra_line
    bad_line = next(line for line in lines if line.startswith(str(not_an_image)))
    assert "error: HTTP 400" in bad_line
    assert result.returncode == 1  # one file failed


def test_tag_boxes_prints_where_the_model_found_the_zebras(local_stack):
    result = imagetagger(
        "tag", str(ZEBRA), "--boxes", "--api-url", local_stack.api_url, "--state-dir", str(local_stack.state_dir)
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    # One line per tag with its box count, then one per box: fractions and pixels of the 500x374 photo.
    start = lines.index(next(line for line in lines if line.startswith("  zebra ")))
    count = int(lines[start].split(": ")[1].split()[0])
    boxes = lines[start + 1 : start + 1 + count]
    assert count >= 2 and all(line.startswith("    0.") and line.endswith(" px") for line in boxes), lines
    for line in boxes:
        fractions = dict(part.split("=") for part in line.split()[1:5])
        pixels = line.split("(")[1]
        x, y = (int(v) for v in pixels.split(")")[0].split(", "))
        assert abs(x - float(fractions["x"]) * 500) <= 1 and abs(y - float(fractions["y"]) * 374) <= 1, line


def test_tag_without_a_running_api_says_so(tmp_path):
    result = imagetagger("tag", str(ZEBRA), "--api-url", "http://127.0.0.1:9", "--state-dir", str(tmp_path))
    assert result.returncode == 1 and "did not answer" in result.stdout


def test_up_explains_a_missing_model(tmp_path):
    result = imagetagger("up", "--model-dir", str(tmp_path / "no-model"), "--state-dir", str(tmp_path / "state"))
    assert result.returncode == 1 and "lacks model.onnx" in result.stdout


def test_up_explains_a_port_that_is_taken(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        result = imagetagger("up", "--api-port", port, "--state-dir", str(tmp_path))
    assert result.returncode == 1 and f"api {port}" in result.stdout and "already in use" in result.stdout
