"""model.tar.gz: SageMaker's layout, self-contained serving code, pins that match the runtime requirements."""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from imagetagger_endpoint.packaging import build_model_tarball

REPO = Path(__file__).resolve().parents[2]
SAMPLE_JPEG = sorted((REPO / "data" / "coco-sample" / "val").glob("*.jpg"))[0]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("onnx")
    from imagetagger_endpoint.tiny_model import write_tiny_model

    return write_tiny_model(tmp_path_factory.mktemp("tiny"))


def test_archive_has_sagemaker_layout_and_no_training_code(model_dir, tmp_path):
    archive = build_model_tarball(model_dir, tmp_path / "model.tar.gz")

    with tarfile.open(archive) as opened:
        names = set(opened.getnames())
    assert {"model.onnx", "model.json", "code/inference.py", "code/requirements.txt"} <= names
    assert "code/imagetagger_endpoint/handler.py" in names and "code/imagetagger/preprocessing.py" in names
    assert not any("training" in name or "bench" in name or name.endswith(".pt") for name in names)


def test_archive_is_reproducible(model_dir, tmp_path):
    first = build_model_tarball(model_dir, tmp_path / "a.tar.gz").read_bytes()
    second = build_model_tarball(model_dir, tmp_path / "b.tar.gz").read_bytes()
    assert first == second


def test_extracted_archive_serves_with_only_its_own_code(model_dir, tmp_path):
    # GIVEN the archive extracted as SageMaker does (to /opt/ml/model), code/ first on sys.path
    build_model_tarball(model_dir, tmp_path / "model.tar.gz")
    extracted = tmp_path / "opt-ml-model"
    with tarfile.open(tmp_path / "model.tar.gz") as archive:
        archive.extractall(extracted, filter="data")
    script = f"""
import json, sys
sys.path.insert(0, {str(extracted / "code")!r})
import imagetagger, imagetagger_endpoint, inference
assert imagetagger.__file__.startswith({str(extracted)!r}), imagetagger.__file__
assert imagetagger_endpoint.__file__.startswith({str(extracted)!r}), imagetagger_endpoint.__file__
model = inference.model_fn({str(extracted)!r})
body = open({str(SAMPLE_JPEG)!r}, "rb").read()
answer, content_type = inference.output_fn(inference.predict_fn(inference.input_fn(body, "image/jpeg"), model), "*/*")
outside = [n for n, m in sys.modules.items() if n.split(".")[0] in ("imagetagger", "imagetagger_endpoint")
           and not (getattr(m, "__file__", None) or "").startswith({str(extracted)!r})]
assert not outside, f"modules loaded from outside the archive: {{outside}}"
print(content_type, answer.decode())
"""
    # WHEN SageMaker's toolkit would call the four functions
    finished = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, check=False)

    # THEN it answers tags, using only the packed modules
    assert finished.returncode == 0, finished.stderr
    content_type, body = finished.stdout.split(" ", 1)
    assert content_type == "application/json"
    assert json.loads(body)["model_version"] == "tiny-test"


def test_inference_requirements_pin_what_the_runtime_pins():
    runtime = {line.split("==")[0]: line for line in (REPO / "requirements/runtime.txt").read_text().splitlines()}
    packed = (REPO / "endpoint/sagemaker_code/requirements.txt").read_text().split()
    assert packed, "code/requirements.txt lists the serving dependencies"
    assert all(runtime.get(line.split("==")[0]) == line for line in packed)
