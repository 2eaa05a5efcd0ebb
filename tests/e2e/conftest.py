"""Start the local stack as a user would (`imagetagger up`), on free ports with a throw-away state directory.

`local_stack` is shared by the whole session (starting it loads the model); tests that need a clean slate use their
own user names. `LocalStackProcess` can also be started directly, e.g. to test a restart.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from imagetagger_local.config import free_port
from imagetagger_local.tokens import issue_token

STARTUP_TIMEOUT_S = 240  # imports, resource creation and the model load, on a busy 2-core machine
STOP_TIMEOUT_S = 60
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


def _imagetagger_command() -> list[str]:
    script = Path(sys.executable).with_name("imagetagger")
    return [str(script)] if script.exists() else [sys.executable, "-m", "imagetagger_cli.main"]


@dataclass
class LocalStackProcess:
    state_dir: Path
    ports: dict[str, int] = field(
        default_factory=lambda: {n: free_port() for n in ("api", "web", "s3", "endpoint", "moto")}
    )
    process: subprocess.Popen | None = None

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    @property
    def api_url(self) -> str:
        return self.url("api")

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

    @property
    def log_path(self) -> Path:
        return self.state_dir / "up.log"

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

    def start(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        command = [*_imagetagger_command(), "up", "--state-dir", str(self.state_dir), "--snapshot-interval", "2"]
        for name, port in self.ports.items():
            command += [f"--{name}-port", str(port)]
        log = self.log_path.open("ab")
        # Own session: a Ctrl-C in the developer's terminal reaches pytest, which stops the stack in order.
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"`imagetagger up` exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                if requests.get(f"{self.api_url}/health", timeout=2).ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.5)
        self.kill()
        raise TimeoutError(f"the local stack was not healthy within {STARTUP_TIMEOUT_S}s:\n{self.log_tail()}")

    def stop(self) -> int:
        """Ctrl-C, as a user stops `make up`; return the exit status."""
        assert self.process is not None
        self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired as exc:
            self.kill()
            raise TimeoutError(
                f"`imagetagger up` did not stop within {STOP_TIMEOUT_S}s:\n{self.log_tail(120)}"
            ) from exc

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)  # the stack and its endpoint subprocess
            self.process.wait()

    def restart(self) -> None:
        # Start again even when the stop failed, so one failed restart test does not take the shared stack down with it.
        try:
            status = self.stop()
        finally:
            self.start()
        assert status == 0, self.log_tail()

    def log_tail(self, lines: int = 60) -> str:
        if not self.log_path.exists():
            return "(no log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStackProcess]:
    stack = LocalStackProcess(tmp_path_factory.mktemp("local-stack"))
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
def chromium_launch_options() -> dict:
    """Keyword arguments for Playwright's `chromium.launch`, shared by the web page and mobile app tests."""
    assert CHROMIUM.exists(), "Chromium is missing: run `make browser-deps`"
    return {"executable_path": str(CHROMIUM), "args": CHROMIUM_ARGS}
