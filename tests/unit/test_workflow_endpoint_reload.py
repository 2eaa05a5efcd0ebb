"""The local endpoint's promotion hook: a new model is swapped in while requests keep being answered."""

import io
import json
import threading

import numpy as np
import pytest
import requests

pytest.importorskip("onnx")

from imagetagger.modelspec import SERVING_INPUT_SIZE
from imagetagger_endpoint.reload import ForbiddenError, reload_model  # noqa: E402
from imagetagger_endpoint.server import start_endpoint  # noqa: E402
from imagetagger_endpoint.tiny_model import write_tiny_model  # noqa: E402


def _model(path, version):
    write_tiny_model(path)
    spec = json.loads((path / "model.json").read_text())
    (path / "model.json").write_text(json.dumps({**spec, "model_version": version}))
    return path


@pytest.fixture
def endpoint(tmp_path):
    running = start_endpoint(_model(tmp_path / "old", "old-version"))
    yield running
    running.close()


def _invoke(url: str) -> tuple[int, str]:
    buffer = io.BytesIO()
    np.save(buffer, np.full((1, SERVING_INPUT_SIZE, SERVING_INPUT_SIZE, 3), 128, np.uint8))
    response = requests.post(
        f"{url}/invocations", data=buffer.getvalue(), headers={"Content-Type": "application/x-npy"}, timeout=30
    )
    return response.status_code, response.json().get("model_version", "")


def test_reload_swaps_the_model_without_dropping_requests(endpoint, tmp_path):
    new_dir = _model(tmp_path / "new", "new-version")
    answers: list[tuple[int, str]] = []
    stop = threading.Event()

    def keep_asking() -> None:
        for _ in range(2000):  # bounded: stops by itself even if the test fails
            if stop.is_set():
                return
            answers.append(_invoke(endpoint.url))

    worker = threading.Thread(target=keep_asking)
    worker.start()
    try:
        while not answers:  # traffic is flowing before the swap
            threading.Event().wait(0.01)
        reply = requests.post(f"{endpoint.url}/admin/reload", json={"model_dir": str(new_dir)}, timeout=60)
        after = len(answers)
        while len(answers) < after + 3:  # and after it
            threading.Event().wait(0.01)
    finally:
        stop.set()
        worker.join(timeout=60)
    assert reply.status_code == 200
    assert reply.json() == {"model_version": "new-version", "previous_model_version": "old-version"}
    assert all(status == 200 for status, _ in answers), answers
    versions = [version for _, version in answers]
    # every request was answered by one model or the other, and never the old one again after the new one
    first_new = versions.index("new-version")
    assert set(versions[:first_new]) == {"old-version"} and set(versions[first_new:]) == {"new-version"}
    assert requests.get(f"{endpoint.url}/ping", timeout=10).json()["model_version"] == "new-version"


@pytest.mark.parametrize("body", [{"model_dir": "/nonexistent"}, {"wrong": 1}, "not json"])
def test_a_bad_reload_is_400_and_the_old_model_keeps_serving(endpoint, body):
    data = body if isinstance(body, str) else json.dumps(body)
    reply = requests.post(f"{endpoint.url}/admin/reload", data=data, timeout=30)
    assert reply.status_code == 400 and reply.json()["message"]
    assert _invoke(endpoint.url) == (200, "old-version")


def test_a_broken_model_file_is_refused(endpoint, tmp_path):
    broken = _model(tmp_path / "broken", "broken")
    (broken / "model.onnx").write_bytes(b"not an onnx graph")
    reply = requests.post(f"{endpoint.url}/admin/reload", json={"model_dir": str(broken)}, timeout=60)
    assert reply.status_code == 400 and "could not be loaded" in reply.json()["message"]
    assert _invoke(endpoint.url) == (200, "old-version")


def test_only_this_machine_may_reload(endpoint, tmp_path):
    with pytest.raises(ForbiddenError):
        reload_model(endpoint.server, json.dumps({"model_dir": str(tmp_path)}).encode(), "203.0.113.9")
