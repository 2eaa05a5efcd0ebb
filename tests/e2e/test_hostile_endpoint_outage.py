"""The model endpoint dies under the running local stack: the upload ends FAILED (retriable) with its event in the
dead-letter queue; after a restart brings the endpoint back, `imagetagger retry --failed` re-queues it and it is
tagged. Nothing is lost.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import boto3
import pytest
import requests

from imagetagger_local.config import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, STACK_NAME

pytestmark = pytest.mark.e2e

ZEBRA = Path(__file__).resolve().parents[2] / "data" / "coco-sample" / "val" / "000000244592.jpg"


def endpoint_pid(stack_pid: int) -> int:
    """The stack's model-server child process (started by `imagetagger up` itself)."""
    for task in Path(f"/proc/{stack_pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            if b"imagetagger_endpoint.server" in Path(f"/proc/{child}/cmdline").read_bytes():
                return int(child)
    raise AssertionError("the stack has no endpoint process")


def wait_for_status(stack, user: str, image_id: str, wanted: str, timeout_s: float = 120) -> dict:
    deadline = time.monotonic() + timeout_s
    image: dict = {}
    while time.monotonic() < deadline:
        image = requests.get(f"{stack.api_url}/images/{image_id}", headers=stack.auth(user), timeout=30).json()
        if image.get("status") == wanted:
            return image
        time.sleep(0.5)
    raise AssertionError(f"{image_id} not {wanted} within {timeout_s}s: {image}")


def local_sqs(stack):
    return boto3.client(
        "sqs",
        endpoint_url=stack.moto_url,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY_ID,
        aws_secret_access_key=SECRET_ACCESS_KEY,
    )


def dead_letter_depth(stack) -> int:
    sqs = local_sqs(stack)
    url = sqs.get_queue_url(QueueName=f"{STACK_NAME}-UploadDeadLetterQueue")["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs /proc to find the endpoint process")
def test_endpoint_outage_ends_failed_in_the_dlq_and_retry_tags_it_after_a_restart(local_stack):
    user = f"outage-{uuid.uuid4().hex[:8]}"
    # GIVEN the model endpoint is down
    os.kill(endpoint_pid(local_stack.process.pid), signal.SIGKILL)
    try:
        # WHEN a photo is uploaded THEN, after the queue's receives, it is FAILED with a reason that says retry,
        # and its event is in the dead-letter queue
        image_id = local_stack.upload(user, ZEBRA)
        failed = wait_for_status(local_stack, user, image_id, "FAILED")
        assert "retry later" in failed["error"]
        deadline = time.monotonic() + 60
        while dead_letter_depth(local_stack) == 0 and time.monotonic() < deadline:
            time.sleep(0.5)  # moto moves the message on the receive after the last allowed one
        assert dead_letter_depth(local_stack) >= 1
    finally:
        # The endpoint comes back with the stack; the local queues live in memory, so the dead-letter message is gone.
        local_stack.restart()

    # WHEN an operator runs `imagetagger retry --failed` against the stack
    result = subprocess.run(
        [sys.executable, "-m", "imagetagger_cli.main", "retry", "--failed", "--moto-url", local_stack.moto_url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert image_id in json.loads(result.stdout)["image_ids"]

    # THEN the image is tagged and its error is gone
    tagged = wait_for_status(local_stack, user, image_id, "TAGGED")
    assert tagged["error"] is None and "zebra" in [t["name"] for t in tagged["tags"]]
