"""Start the local stack as a user would (`imagetagger up`), on free ports with a throw-away state directory.

`local_stack` is shared by the whole session (starting it loads the model); tests that need a clean slate use their
own user names. `LocalStackProcess` can also be started directly, e.g. to test a restart.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from imagetagger_local.stack_process import StackProcess
from imagetagger_local.tokens import issue_token

CHROMIUM = Path("/usr/bin/chromium")  # Debian's Chromium: Playwright's own browser download cannot work offline
# Running as root with no network: these flags keep Chromium from trying to reach Google's services at every start.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]


@dataclass
class LocalStackProcess(StackProcess):
    """The stack as the tests use it: stopped with Ctrl-C as a user stops `make up`, plus client helpers."""

    stop_signal: int = signal.SIGINT

    @property
    def web_url(self) -> str:
        return self.url("web")

    @property
    def s3_url(self) -> str:
        return self.url("s3")

    @property
    def endpoint_url(self) -> str:
        return self.url("endpoint")

    @property
    def moto_url(self) -> str:
        return self.url("moto")

    def token(self, user: str) -> str:
        return issue_token(self.state_dir / "jwt", user)

    def auth(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(user)}"}

    def upload(self, user: str, photo: Path) -> str:
        """POST /uploads, then the presigned POST of `photo` to the S3 gateway, as a client does; returns the id."""
        created = requests.post(
            f"{self.api_url}/uploads",
            json={"filename": photo.name, "content_type": "image/jpeg", "size": photo.stat().st_size},
            headers=self.auth(user),
            timeout=30,
        ).json()
        form = created["upload"]
        posted = requests.post(
            form["url"], data=form["fields"], files={"file": (photo.name, photo.read_bytes())}, timeout=30
        )
        assert posted.status_code == 204, posted.text
        return created["image_id"]


@contextmanager
def running_stack(state_dir: Path) -> Iterator[LocalStackProcess]:
    stack = LocalStackProcess(state_dir)
    stack.start()
    try:
        yield stack
    finally:
        if stack.process is not None and stack.process.poll() is None:
            try:
                stack.stop()
            finally:
                stack.kill()


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStackProcess]:
    with running_stack(tmp_path_factory.mktemp("local-stack")) as stack:
        yield stack


@pytest.fixture
def own_stack(tmp_path: Path) -> Iterator[LocalStackProcess]:
    """A stack of the test's own, holding only what the test puts in it (the session's holds every e2e file's data)."""
    with running_stack(tmp_path / "own-stack") as stack:
        yield stack


@pytest.fixture(scope="session")
def chromium_launch_options() -> dict:
    """Keyword arguments for Playwright's `chromium.launch`, shared by the web page and mobile app tests."""
    assert CHROMIUM.exists(), "Chromium is missing: run `make browser-deps`"
    return {"executable_path": str(CHROMIUM), "args": CHROMIUM_ARGS}
