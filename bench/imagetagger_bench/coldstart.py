"""Cold start: seconds from spawning the endpoint server process to its first successful answer to a real image."""

from __future__ import annotations

import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import requests

POLL_INTERVAL_S = 0.01


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def time_to_first_answer(model_dir: Path, image: bytes, timeout_s: float = 60.0) -> float:
    port = free_port()
    command = [sys.executable, "-m", "imagetagger_endpoint.server", "--model-dir", str(model_dir)]
    command += ["--port", str(port), "--log-level", "WARNING"]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # noqa: S603
    try:
        while time.perf_counter() - started < timeout_s:
            if process.poll() is not None:
                raise RuntimeError(f"the endpoint exited: {process.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
            try:
                answer = requests.post(
                    f"http://127.0.0.1:{port}/invocations",
                    data=image,
                    headers={"Content-Type": "image/jpeg"},
                    timeout=10,
                )
            except requests.ConnectionError:
                time.sleep(POLL_INTERVAL_S)
                continue
            answer.raise_for_status()
            return time.perf_counter() - started
        raise TimeoutError(f"no answer within {timeout_s} s")
    finally:
        process.terminate()
        process.wait(timeout=10)


def cold_start_s(model_dir: Path, image: bytes, runs: int = 5) -> float:
    """Median over `runs` starts, after one start that is not counted (it fills the OS file cache and OpenVINO's
    compiled-model cache, as a deployed endpoint's earlier starts would have)."""
    time_to_first_answer(model_dir, image)
    return statistics.median(time_to_first_answer(model_dir, image) for _ in range(runs))
