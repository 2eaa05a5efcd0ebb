"""`imagetagger import DIR` against the local stack: the sample's val folder is tagged, a second run uploads nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import requests

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
COCO_VAL = ROOT / "data" / "coco-sample" / "val"
IMPORT_TIMEOUT_S = 1800  # 79 photos through the real model on a shared 2-core machine


def _import(stack, user: str, folder: Path) -> tuple[int, dict]:
    command = [
        sys.executable, "-m", "imagetagger_cli.main", "import", str(folder), "--json",
        "--api-url", stack.api_url, "--user", user, "--state-dir", str(stack.state_dir),
        "--timeout", str(IMPORT_TIMEOUT_S),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=IMPORT_TIMEOUT_S + 120, cwd=ROOT)
    assert result.stdout.strip(), result.stderr[-3000:]
    return result.returncode, json.loads(result.stdout)


def test_import_tags_the_whole_folder_and_a_second_run_uploads_nothing(local_stack):
    user = "importer"
    code, first = _import(local_stack, user, COCO_VAL)
    assert code == 0, first
    assert first["files"] == 79 and first["uploaded"] == 79 and first["tagged"] == 79 and first["errors"] == []

    code, second = _import(local_stack, user, COCO_VAL)
    assert code == 0, second
    assert second["uploaded"] == 0 and second["already_uploaded"] == 79 and second["tagged"] == 79

    images, token = [], None
    while True:  # the API agrees: 79 images, every one TAGGED
        query = {"limit": 100, **({"next_token": token} if token else {})}
        page = requests.get(f"{local_stack.api_url}/images", params=query, headers=local_stack.auth(user), timeout=30)
        images += page.json()["items"]
        token = page.json()["next_token"]
        if not token:
            break
    assert len(images) == 79 and {image["status"] for image in images} == {"TAGGED"}
    assert sorted(image["filename"] for image in images) == sorted(p.name for p in COCO_VAL.glob("*.jpg"))


def test_the_same_photo_twice_in_a_folder_is_uploaded_once(local_stack, tmp_path):
    photo = next(iter(sorted(COCO_VAL.glob("*.jpg"))))
    (tmp_path / "a.jpg").write_bytes(photo.read_bytes())
    (tmp_path / "copy-of-a.jpg").write_bytes(photo.read_bytes())
    code, summary = _import(local_stack, "dedup-user", tmp_path)
    assert code == 0, summary
    assert summary["uploaded"] == 1 and summary["duplicates_in_folder"] == 1 and summary["tagged"] == 1


def test_models_command_reads_the_registry_through_the_api(local_stack):
    command = [
        sys.executable, "-m", "imagetagger_cli.main", "models", "--json",
        "--api-url", local_stack.api_url, "--user", "models-reader", "--state-dir", str(local_stack.state_dir),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]
    body = json.loads(result.stdout)
    assert set(body) == {"models", "serving"}
    assert all({"model_version", "status", "serving", "metrics"} <= set(model) for model in body["models"])
