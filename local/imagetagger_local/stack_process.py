"""`imagetagger up` in a subprocess, on free ports with its own state directory, started and stopped as a user would:
what `imagetagger load --own-stack` and the e2e tests run against."""

from __future__ import annotations

import os
import signal
import subprocess  # nosec B404 - runs our own CLI, no shell, no user input
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from imagetagger_local.config import free_port

STARTUP_TIMEOUT_S = 240  # imports, resource creation and the model load, on a busy 2-core machine
STOP_TIMEOUT_S = 60
SERVICES = ("api", "web", "s3", "endpoint", "moto")


def imagetagger_command() -> list[str]:
    """The installed `imagetagger` script next to this interpreter, else the module."""
    script = Path(sys.executable).with_name("imagetagger")
    return [str(script)] if script.exists() else [sys.executable, "-m", "imagetagger_cli.main"]


@dataclass
class StackProcess:
    state_dir: Path
    ports: dict[str, int] = field(default_factory=lambda: {name: free_port() for name in SERVICES})
    process: subprocess.Popen[bytes] | None = None
    # SIGTERM takes the same path as Ctrl-C in `imagetagger up` (state saved first), and unlike SIGINT it is not
    # ignored when the caller runs in the background of a non-interactive shell.
    stop_signal: int = signal.SIGTERM

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    @property
    def api_url(self) -> str:
        return self.url("api")

    @property
    def log_path(self) -> Path:
        return self.state_dir / "up.log"

    def start(self) -> None:
        """Start `imagetagger up` and return once its API answers /health (the API starts last)."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        command = [*imagetagger_command(), "up", "--state-dir", str(self.state_dir), "--snapshot-interval", "2"]
        for name, port in self.ports.items():
            command += [f"--{name}-port", str(port)]
        with self.log_path.open("ab") as log:
            # Own session: a Ctrl-C in the caller's terminal reaches the caller, which stops the stack in order.
            self.process = subprocess.Popen(  # noqa: S603  # nosec B603
                command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
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
        """Signal the stack to save its state and stop; return its exit status. One that does not stop within
        STOP_TIMEOUT_S is killed, and TimeoutError carries the end of its log (where a hung stop dumps its threads)."""
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process is not None else 0
        self.process.send_signal(self.stop_signal)
        try:
            return self.process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired as exc:
            self.kill()
            message = f"`imagetagger up` did not stop within {STOP_TIMEOUT_S}s:\n{self.log_tail(120)}"
            raise TimeoutError(message) from exc

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)  # the stack and its endpoint subprocess
            self.process.wait()

    def restart(self) -> None:
        # Start again even when the stop failed, so that whoever uses the stack next still has one.
        try:
            status = self.stop()
        finally:
            self.start()
        if status != 0:
            raise RuntimeError(f"`imagetagger up` stopped with status {status}:\n{self.log_tail()}")

    def log_tail(self, lines: int = 60) -> str:
        if not self.log_path.exists():
            return "(no log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
