"""Load test of the local stack: N concurrent uploads through the real API and S3 gateway, timed to TAGGED.

Each upload is POST /uploads then the presigned POST, as the web page does; one poller lists the user's images and
records when each reaches a terminal state. Network errors (the stack being restarted mid-run) are retried until the
deadline, so the report says whether every image still ended TAGGED or FAILED. Loopback only: this is not a tool to
point at someone else's service.
"""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import requests

MAX_CONCURRENCY = 64
MAX_IMAGES = 10_000
TERMINAL = ("TAGGED", "FAILED")
RETRY_PAUSE_S = 0.5
POLL_INTERVAL_S = 0.5
# Listing a user's images costs the stack about a millisecond per image (DynamoDB query, serialisation, a thumbnail URL
# each), and the poller shares the machine with the stack it measures: it takes at most this share of the time, but
# waits no longer than POLL_MAX_WAIT_S, which bounds the error of time to TAGGED.
POLL_MAX_SHARE = 0.2
POLL_MAX_WAIT_S = 5.0


def next_poll_wait(last_poll_s: float) -> float:
    """Seconds until the next listing: POLL_INTERVAL_S, stretched so polling stays within POLL_MAX_SHARE."""
    return min(POLL_MAX_WAIT_S, max(POLL_INTERVAL_S, last_poll_s * (1 - POLL_MAX_SHARE) / POLL_MAX_SHARE))


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
        self._headers = {"Authorization": f"Bearer {token}"}
        self._started: dict[str, float] = {}  # image id -> when its upload began
        self._finished: dict[str, tuple[float, str, str | None]] = {}  # image id -> (when, status, error)
        self._lock = threading.Lock()
        self._uploads_done = threading.Event()

    # ------------------------------------------------------------------ uploads
    def _retrying(self, call: Callable[[], requests.Response]) -> requests.Response:
        """`call` until it gets an HTTP answer other than a 5xx; the stack may be restarting."""
        while True:
            try:
                response = call()
                if response.status_code < 500:
                    return response
            except requests.RequestException:
                pass
            if time.monotonic() > self._deadline:
                raise TimeoutError("the stack did not answer before the deadline")
            time.sleep(RETRY_PAUSE_S)

    def _upload(self, index: int) -> None:
        photo = self.photos[index % len(self.photos)]
        data = photo.read_bytes()
        began = time.monotonic()
        try:
            created = self._retrying(
                lambda: requests.post(
                    f"{self.api_url}/uploads",
                    json={"filename": photo.name, "content_type": "image/jpeg", "size": len(data)},
                    headers=self._headers,
                    timeout=30,
                )
            )
            if created.status_code != 201:
                raise RuntimeError(f"POST /uploads answered {created.status_code}: {created.text[:200]}")
            ticket = created.json()
            form = ticket["upload"]
            posted = self._retrying(
                lambda: requests.post(form["url"], data=form["fields"], files={"file": (photo.name, data)}, timeout=60)
            )
            if posted.status_code not in (200, 204):
                raise RuntimeError(f"the presigned POST answered {posted.status_code}: {posted.text[:200]}")
        except (RuntimeError, TimeoutError, KeyError, ValueError) as exc:
            with self._lock:
                self.report.upload_errors.append(f"image {index}: {exc}")
            return
        with self._lock:
            self._started[ticket["image_id"]] = began
            self.report.uploaded += 1

    # ------------------------------------------------------------------ polling
    def _poll_once(self) -> None:
        with self._lock:
            oldest_awaited = min((i for i in self._started if i not in self._finished), default=None)
        token: str | None = None
        while True:
            params: dict[str, Any] = {"limit": 100, **({"next_token": token} if token else {})}
            listing = functools.partial(
                requests.get, f"{self.api_url}/images", params=params, headers=self._headers, timeout=30
            )
            page = self._retrying(listing).json()
            now = time.monotonic()
            with self._lock:
                for item in page.get("items", []):
                    if item["status"] in TERMINAL and item["image_id"] not in self._finished:
                        self._finished[item["image_id"]] = (now, item["status"], item.get("error"))
            token = page.get("next_token")
            if not token or self._rest_is_finished(page.get("items", []), oldest_awaited):
                return

    @staticmethod
    def _rest_is_finished(items: list[dict[str, Any]], oldest_awaited: str | None) -> bool:
        """Listings are newest first and image ids sort by creation time, so once a page reaches past the oldest
        image still awaited, the later pages hold only images already seen finished (uploads still in flight are
        newer still, on the first page). Saves the stack listing 1000 images on every round."""
        return oldest_awaited is None or any(item["image_id"] < oldest_awaited for item in items)

    def _all_terminal(self) -> bool:
        with self._lock:
            return self._uploads_done.is_set() and set(self._started) <= set(self._finished)

    def _poll_until_done(self) -> None:
        while not self._all_terminal() and time.monotonic() < self._deadline:
            started = time.monotonic()
            wait = POLL_INTERVAL_S
            with contextlib.suppress(TimeoutError, ValueError):  # a stopped stack: try again on the next round
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
