"""`imagetagger pipeline run` against a local stack started as a user starts it, serving a deliberately weak model.

The real training code trains on CPU (a cheap configuration: few images, one view), the candidate and the serving model
are scored on the same test manifest, and the endpoint is asked all along so a dropped request would show:
1. a candidate better than the weak model is promoted, hot-swapped into the endpoint and registered as serving;
2. a forced worse candidate (8 training images) is refused and the endpoint keeps the promoted version;
3. a user's correction made through the API is in the prepared manifest; the re-tag job re-runs older images.
"""

from __future__ import annotations

import importlib.util
import io
import json
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import requests

from imagetagger.modelspec import SERVING_INPUT_SIZE

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
COCO_VAL = ROOT / "data" / "coco-sample" / "val"
ZEBRA = COCO_VAL / "000000244592.jpg"
PIPELINE_TIMEOUT_S = 1800  # real training on a shared 2-core machine


def _local_stack_process_class():
    """tests/e2e/conftest.py's LocalStackProcess (loaded by path: several conftest modules share that name)."""
    spec = importlib.util.spec_from_file_location("e2e_stack_fixture", Path(__file__).with_name("conftest.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module.LocalStackProcess


@pytest.fixture(scope="module")
def weak_stack(tmp_path_factory):
    from imagetagger_endpoint.tiny_model import write_tiny_model

    weak_model = write_tiny_model(tmp_path_factory.mktemp("weak-model"))
    stack = _local_stack_process_class()(tmp_path_factory.mktemp("pipeline-stack"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("IMAGETAGGER_MODEL_DIR", str(weak_model))  # `imagetagger up` serves it
        stack.start()
    stack.weak_model = weak_model
    try:
        yield stack
    finally:
        try:
            stack.stop()
        finally:
            stack.kill()


class EndpointWatcher:
    """Invokes the endpoint (runtime API path, as the Lambda does) in a loop; records status and model version."""

    def __init__(self, endpoint_url: str) -> None:
        self.url = f"{endpoint_url}/endpoints/imagetagger/invocations"
        self.answers: list[tuple[int, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        buffer = io.BytesIO()
        np.save(buffer, np.full((1, SERVING_INPUT_SIZE, SERVING_INPUT_SIZE, 3), 90, np.uint8))
        self._body = buffer.getvalue()

    def _run(self) -> None:
        for _ in range(20_000):  # bounded, and paced: stops by itself
            if self._stop.wait(0.25):
                return
            try:
                response = requests.post(
                    self.url, data=self._body, headers={"Content-Type": "application/x-npy"}, timeout=60
                )
                self.answers.append((response.status_code, response.json().get("model_version", "")))
            except requests.RequestException as exc:
                self.answers.append((0, type(exc).__name__))

    def __enter__(self) -> EndpointWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(timeout=120)

    @property
    def versions(self) -> list[str]:
        return [version for _, version in self.answers]


def _pipeline(stack, *args: str) -> dict:
    command = [
        sys.executable, "-m", "imagetagger_cli.main", "pipeline", "run", "--json",
        "--state-dir", str(stack.state_dir),
        "--moto-port", str(stack.ports["moto"]),
        "--endpoint-port", str(stack.ports["endpoint"]),
        "--serving-model-dir", str(stack.weak_model),
        "--train-arg=--folds", "--train-arg=2",
        *args,
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=PIPELINE_TIMEOUT_S, cwd=ROOT)
    assert result.stdout.strip(), result.stderr[-3000:]
    return json.loads(result.stdout)


def _upload_and_wait(stack, user: str, photo: Path) -> str:
    image_id = stack.upload(user, photo)
    for _ in range(600):
        body = requests.get(f"{stack.api_url}/images/{image_id}", headers=stack.auth(user), timeout=30).json()
        if body["status"] == "TAGGED":
            return image_id
        threading.Event().wait(0.5)
    raise AssertionError(f"not tagged: {body}")


def test_promotes_a_better_model_refuses_a_worse_one_and_never_drops_a_request(weak_stack):
    user = "pipeline-user"
    # GIVEN a photo tagged by the weak model, corrected by its owner
    image_id = _upload_and_wait(weak_stack, user, ZEBRA)
    correction = requests.put(
        f"{weak_stack.api_url}/images/{image_id}/tags",
        json={"add": ["zebra"], "reject": []},
        headers=weak_stack.auth(user),
        timeout=30,
    )
    assert correction.status_code == 200, correction.text

    # WHEN the pipeline trains a real candidate while the endpoint is in use
    with EndpointWatcher(weak_stack.endpoint_url) as watcher:
        promoted = _pipeline(weak_stack, "--max-train-images", "60")
    # THEN it beat the weak model on the same test split and serves now; no request failed meanwhile
    assert promoted["status"] == "PROMOTED", promoted
    comparison = promoted["comparison"]
    assert comparison["candidate"]["n_images"] == comparison["production"]["n_images"] == 79
    assert comparison["candidate"]["mAP"] >= comparison["production"]["mAP"]
    assert promoted["serving_version"] == promoted["candidate_version"]
    assert watcher.answers and all(status == 200 for status, _ in watcher.answers), watcher.answers[-5:]
    switch = (
        watcher.versions.index(promoted["candidate_version"])
        if promoted["candidate_version"] in watcher.versions
        else len(watcher.versions)
    )
    assert set(watcher.versions[:switch]) <= {"tiny-test"} and set(watcher.versions[switch:]) <= {
        promoted["candidate_version"]
    }

    # AND the user's correction was a training label: the image is a copy of a COCO val image, so it tests
    test_manifest = Path(weak_stack.state_dir) / "runs" / promoted["run_id"] / "data" / "test.jsonl"
    corrected = [json.loads(line) for line in test_manifest.read_text().splitlines() if '"correction"' in line]
    assert len(corrected) == 1 and "zebra" in corrected[0]["labels"] and corrected[0]["image"].endswith(ZEBRA.name)

    # WHEN a forced worse candidate comes along (8 training images)
    with EndpointWatcher(weak_stack.endpoint_url) as watcher:
        refused = _pipeline(weak_stack, "--max-train-images", "8")
    # THEN it is refused with the reason and the promoted model kept serving throughout
    assert refused["status"] == "REFUSED", refused
    assert "the serving model stays" in refused["reason"]
    assert refused["serving_version"] == promoted["candidate_version"]
    assert watcher.answers and set(watcher.answers) == {(200, promoted["candidate_version"])}

    # AND GET /models shows the three versions and which one serves
    models = requests.get(f"{weak_stack.api_url}/models", headers=weak_stack.auth(user), timeout=30).json()
    statuses = {m["model_version"]: m["status"] for m in models["models"]}
    assert models["serving"] == promoted["candidate_version"]
    assert statuses == {
        "tiny-test": "RETIRED",
        promoted["candidate_version"]: "SERVING",
        refused["candidate_version"]: "REFUSED",
    }

    # AND the re-tag job moves the photo tagged by the weak model to the serving version
    retag = subprocess.run(
        [sys.executable, "-m", "imagetagger_cli.main", "pipeline", "retag", "--json", "--user", user,
         "--state-dir", str(weak_stack.state_dir), "--moto-port", str(weak_stack.ports["moto"]),
         "--endpoint-port", str(weak_stack.ports["endpoint"])],
        capture_output=True, text=True, timeout=600, cwd=ROOT,
    )  # fmt: skip
    assert json.loads(retag.stdout)["retagged"] == 1, retag.stdout + retag.stderr[-2000:]
    image = requests.get(f"{weak_stack.api_url}/images/{image_id}", headers=weak_stack.auth(user), timeout=30).json()
    assert image["model_version"] == promoted["candidate_version"]
    assert image["corrections"]["added"] == ["zebra"]  # a re-tag keeps the user's correction
