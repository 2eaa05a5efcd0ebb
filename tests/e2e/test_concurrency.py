"""One slow request must not block everyone (issue 12, D10): the local API runs invocations concurrently, like Lambda.

The slow request is real: bob's `POST /tag` waits on a model endpoint that is paused (SIGSTOP, as a stalled container
would be) while alice reads. Before, the API ran one invocation at a time and alice waited for bob's request to give
up (three 20 s read timeouts). Concurrency inside the runtime: tests/unit/test_local_lambda_runtime.py.
"""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests
from test_hostile_endpoint_outage import endpoint_pid

pytestmark = pytest.mark.e2e

ZEBRA = Path(__file__).resolve().parents[2] / "data" / "coco-sample" / "val" / "000000244592.jpg"


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs /proc to find the endpoint process")
def test_a_slow_request_does_not_block_another_users_reads(local_stack):
    alice, bob = f"alice-{uuid.uuid4().hex[:8]}", f"bob-{uuid.uuid4().hex[:8]}"
    endpoint = endpoint_pid(local_stack.process.pid)
    answers: dict[str, requests.Response] = {}

    def quick_tag() -> None:
        answers["bob"] = requests.post(
            f"{local_stack.api_url}/tag",
            data=ZEBRA.read_bytes(),
            headers={**local_stack.auth(bob), "Content-Type": "image/jpeg"},
            timeout=120,
        )

    # GIVEN bob's POST /tag stuck on a paused model endpoint
    os.kill(endpoint, signal.SIGSTOP)
    try:
        slow = threading.Thread(target=quick_tag)
        slow.start()
        time.sleep(1.5)  # bob's invocation is inside the handler, waiting on the endpoint
        assert slow.is_alive()

        # WHEN alice reads meanwhile, THEN she is answered without waiting for bob (the first read may include the
        # cold start of a second execution environment, as in Lambda)
        for limit_s in (20, 5, 5):
            started = time.monotonic()
            listing = requests.get(f"{local_stack.api_url}/images", headers=local_stack.auth(alice), timeout=60)
            assert listing.status_code == 200 and listing.json()["items"] == []
            assert time.monotonic() - started < limit_s, "alice's GET waited for bob's request"
        assert slow.is_alive() and "bob" not in answers
    finally:
        os.kill(endpoint, signal.SIGCONT)
    # AND bob is answered too once the endpoint resumes
    slow.join(timeout=120)
    assert answers["bob"].status_code == 200, answers["bob"].text
    assert answers["bob"].json()["tags"]
