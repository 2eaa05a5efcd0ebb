"""The hostile user's probes that did not hold (issue 12), against the local stack as `make up` runs it.

A scan-bomb JPEG (217 KB of thousands of empty scans, and a 4 MB variant) stalled POST /tag for 56 s, another user's
GET /images for 53 s, and on the upload path kept the next photo PENDING for over a minute. A token whose subject is
"." stored a file that stayed PENDING for ever. Each must now be answered at once, with a 4xx or a FAILED reason.
"""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path

import jwt
import pytest
import requests
from corpus.manifest import BY_NAME

from imagetagger_local.config import JWT_AUDIENCE, JWT_ISSUER

pytestmark = pytest.mark.e2e

ANSWER_WITHIN_S = 5.0
PHOTO = Path(__file__).resolve().parents[2] / "data" / "coco-sample" / "val" / "000000244592.jpg"


class Prober(threading.Thread):
    """Another user reading their gallery the whole time: every answer and how long it took."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        super().__init__(daemon=True)
        self.url, self.headers = url, headers
        self.answers: list[tuple[int, float]] = []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            started = time.monotonic()
            status = requests.get(self.url, headers=self.headers, timeout=120).status_code
            self.answers.append((status, time.monotonic() - started))
            time.sleep(0.1)


@pytest.mark.parametrize("name", ["scan_bomb_jpeg", "scan_bomb_jpeg_4mb"])
def test_a_scan_bomb_is_a_fast_400_while_another_user_keeps_being_answered(local_stack, name):
    bomb = BY_NAME[name].data()
    prober = Prober(f"{local_stack.api_url}/images", local_stack.auth(f"bystander-{uuid.uuid4().hex[:8]}"))
    prober.start()
    try:
        started = time.monotonic()
        response = requests.post(
            f"{local_stack.api_url}/tag",
            data=bomb,
            headers={**local_stack.auth(f"bomber-{uuid.uuid4().hex[:8]}"), "Content-Type": "image/jpeg"},
            timeout=120,
        )
        elapsed = time.monotonic() - started
        time.sleep(0.5)  # the bystander's requests around the bomb
    finally:
        prober.done.set()
        prober.join(timeout=120)
    assert response.status_code == 400 and "scans" in response.json()["message"], response.text
    assert elapsed < ANSWER_WITHIN_S, f"{name}: answered after {elapsed:.1f} s"
    assert prober.answers and all(status == 200 for status, _ in prober.answers)
    assert max(seconds for _, seconds in prober.answers) < ANSWER_WITHIN_S, prober.answers


def test_an_uploaded_scan_bomb_fails_at_once_and_the_next_photo_is_tagged(local_stack):
    user = f"bomber-{uuid.uuid4().hex[:8]}"
    headers = local_stack.auth(user)
    bomb = BY_NAME["scan_bomb_jpeg"].data()
    created = requests.post(
        f"{local_stack.api_url}/uploads",
        json={"filename": "bomb.jpg", "content_type": "image/jpeg", "size": len(bomb)},
        headers=headers,
        timeout=30,
    ).json()
    form = created["upload"]
    posted = requests.post(form["url"], data=form["fields"], files={"file": ("bomb.jpg", bomb)}, timeout=60)
    assert posted.status_code == 204, posted.text
    photo_id = local_stack.upload(user, PHOTO)

    def status(image_id: str) -> dict:
        return requests.get(f"{local_stack.api_url}/images/{image_id}", headers=headers, timeout=30).json()

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and "PENDING" in {
        status(created["image_id"])["status"],
        status(photo_id)["status"],
    }:
        time.sleep(0.5)
    failed, tagged = status(created["image_id"]), status(photo_id)
    assert failed["status"] == "FAILED" and "scans" in failed["error"] and failed["retriable"] is False, failed
    assert tagged["status"] == "TAGGED", tagged


def test_a_validly_signed_token_whose_subject_is_dot_is_refused_with_the_reason(local_stack):
    # Only the stack's key can sign it (the hostile user had it); before, the file was stored and stayed PENDING.
    now = int(time.time())
    claims = {"iss": JWT_ISSUER, "aud": JWT_AUDIENCE, "sub": ".", "iat": now, "exp": now + 600, "token_use": "id"}
    key = (local_stack.state_dir / "jwt" / "private.pem").read_bytes()
    token = jwt.encode(claims, key, algorithm="RS256", headers={"kid": "imagetagger-local-1"})
    response = requests.post(
        f"{local_stack.api_url}/uploads",
        json={"filename": "a.jpg", "content_type": "image/jpeg", "size": 100},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert response.status_code == 401
    assert "not a valid user id" in response.json()["message"]
