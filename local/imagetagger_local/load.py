"""Load test of the local stack: N concurrent uploads through the real API and S3 gateway, timed to TAGGED.

Each upload is POST /uploads then the presigned POST, through the one API client (imagetagger_mobile.api_client) that
`imagetagger import` and the mobile app use; one poller sweeps the user's listing and records when each image reaches
a terminal state. Network errors (the stack being restarted mid-run) are retried until the
deadline, so the report says whether every image still ended TAGGED or FAILED. Loopback only: this is not a tool to
point at someone else's service.
"""

from __future__ import annotations

import contextlib
import ipaddress
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from imagetagger_mobile.api_client import (  # noqa: F401 - the pacing constants are this tool's too
    POLL_INTERVAL_S,
    POLL_MAX_SHARE,
    POLL_MAX_WAIT_S,
    ApiError,
    ImageTaggerClient,
    RejectedFileError,
    next_poll_wait,
)

MAX_CONCURRENCY = 64
MAX_IMAGES = 10_000
TERMINAL = ("TAGGED", "FAILED")


class LoadRefusedError(ValueError):
    """The requested run is outside the bounds this tool allows (remote URL, too many images or threads)."""


@dataclass
class LoadReport:
    images: int
    concurrency: int
    uploaded: int = 0
    tagged: int = 0
    failed: int = 0
    not_terminal: int = 0
    upload_errors: list[str] = field(default_factory=list)
    failure_reasons: dict[str, int] = field(default_factory=dict)
    wall_s: float = 0.0
    throughput_images_per_s: float = 0.0
    # From the start of POST /uploads to the poll that first saw TAGGED (so it includes up to one poll interval).
    time_to_tagged_s: dict[str, float] = field(default_factory=dict)
    longest_poll_interval_s: float = 0.0  # the resolution of time_to_tagged_s at its worst
    restarts: int = 0

    @property
    def every_image_terminal(self) -> bool:
        return self.uploaded == self.images and self.not_terminal == 0

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "every_image_terminal": self.every_image_terminal}


def check_bounds(api_url: str, images: int, concurrency: int) -> None:
    host = urlparse(api_url).hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise LoadRefusedError(f"load runs against the local stack only (127.0.0.1/localhost), not {host!r}")
    if not 1 <= images <= MAX_IMAGES:
        raise LoadRefusedError(f"--images must be between 1 and {MAX_IMAGES}")
    if not 1 <= concurrency <= MAX_CONCURRENCY:
        raise LoadRefusedError(f"--concurrency must be between 1 and {MAX_CONCURRENCY}")


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty sequence."""
    ordered = sorted(values)
    rank = max(1, round(q / 100 * len(ordered) + 0.5 - 1e-9))
    return ordered[min(rank, len(ordered)) - 1]


class LoadRun:
    def __init__(
        self, api_url: str, token: str, photos: Sequence[Path], images: int, concurrency: int, deadline_s: float
    ) -> None:
        check_bounds(api_url, images, concurrency)
        if not photos:
            raise LoadRefusedError("no photos to upload")
        self.api_url = api_url.rstrip("/")
        self.photos = list(photos)
        self.report = LoadReport(images=images, concurrency=concurrency)
        self._deadline = time.monotonic() + deadline_s
        self._token = token
        self._clients = threading.local()
        self._started: dict[str, float] = {}  # image id -> when its upload began
        self._finished: dict[str, tuple[float, str, str | None]] = {}  # image id -> (when, status, error)
        self._lock = threading.Lock()
        self._uploads_done = threading.Event()

    # ------------------------------------------------------------------ uploads
    def _client(self) -> ImageTaggerClient:
        """This thread's client (one connection pool each), riding out a restarting stack until the deadline."""
        client: ImageTaggerClient | None = getattr(self._clients, "client", None)
        if client is None:
            client = self._clients.client = ImageTaggerClient(self.api_url, self._token, timeout_s=60)
        client.retry_for_s = max(0.0, self._deadline - time.monotonic())
        return client

    def _upload(self, index: int) -> None:
        photo = self.photos[index % len(self.photos)]
        data = photo.read_bytes()
        began = time.monotonic()
        try:
            image_id = self._client().upload(photo.name, data)
        except (ApiError, RejectedFileError) as exc:
            with self._lock:
                self.report.upload_errors.append(f"image {index}: {exc}")
            return
        with self._lock:
            self._started[image_id] = began
            self.report.uploaded += 1

    # ------------------------------------------------------------------ polling
    def _poll_once(self) -> None:
        with self._lock:
            awaited = {image_id for image_id in self._started if image_id not in self._finished}
        finished, _ = self._client().finished_images(awaited)
        now = time.monotonic()
        with self._lock:
            for image_id, record in finished.items():
                self._finished.setdefault(image_id, (now, record.status, record.error))

    def _all_terminal(self) -> bool:
        with self._lock:
            return self._uploads_done.is_set() and set(self._started) <= set(self._finished)

    def _poll_until_done(self) -> None:
        while not self._all_terminal() and time.monotonic() < self._deadline:
            started = time.monotonic()
            wait = POLL_INTERVAL_S
            with contextlib.suppress(ApiError, ValueError):  # a stopped stack: try again on the next round
                self._poll_once()
                # Stretched only after a listing that worked: one that waited out a restart says nothing of its cost.
                wait = next_poll_wait(time.monotonic() - started)
            took = time.monotonic() - started
            self.report.longest_poll_interval_s = round(max(self.report.longest_poll_interval_s, took + wait), 3)
            time.sleep(wait)

    # ------------------------------------------------------------------ run
    def run(self, restart_after: int | None = None, restart: Callable[[], None] | None = None) -> LoadReport:
        """Upload and wait; with `restart`, call it once `restart_after` uploads are done (uploads keep going)."""
        start = time.monotonic()
        poller = threading.Thread(target=self._poll_until_done, name="load-poller", daemon=True)
        poller.start()
        with ThreadPoolExecutor(max_workers=self.report.concurrency, thread_name_prefix="load") as pool:
            futures = [pool.submit(self._upload, index) for index in range(self.report.images)]
            if restart is not None and restart_after is not None:
                while self.report.uploaded + len(self.report.upload_errors) < restart_after:
                    time.sleep(0.05)
                restart()
                self.report.restarts += 1
            for future in futures:
                future.result()
        self._uploads_done.set()
        poller.join()
        return self._summarise(time.monotonic() - start)

    def _summarise(self, wall_s: float) -> LoadReport:
        report = self.report
        report.wall_s = round(wall_s, 3)
        durations = []
        for image_id, began in self._started.items():
            if image_id not in self._finished:
                report.not_terminal += 1
                continue
            when, status, error = self._finished[image_id]
            if status == "TAGGED":
                report.tagged += 1
                durations.append(when - began)
            else:
                report.failed += 1
                reason = (error or "unknown")[:80]
                report.failure_reasons[reason] = report.failure_reasons.get(reason, 0) + 1
        report.throughput_images_per_s = round((report.tagged + report.failed) / wall_s, 3)
        if durations:
            report.time_to_tagged_s = {
                "p50": round(percentile(durations, 50), 3),
                "p99": round(percentile(durations, 99), 3),
                "max": round(max(durations), 3),
            }
        return report
