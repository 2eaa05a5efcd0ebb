"""Bulk import of a folder through the public API with the one API client: POST /uploads, the presigned POST, then
wait until tagged.

Resumable and duplicate-free by content: a journal (JSON, one entry per SHA-256 of a file's bytes) records every file
whose upload completed, with its image id. A second run, or a run after an interruption, uploads only what the journal
lacks; the same photo twice in the folder is uploaded once. The journal is written after every upload, atomically, so a
crash loses at most the uploads in flight (whose PENDING records expire by themselves).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from imagetagger_mobile.api_client import (
    DEFAULT_MAX_UPLOAD_BYTES,
    ApiError,
    ImageTaggerClient,
    RejectedFileError,
    next_sweep_wait,
)

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff"}
FINISHED = ("TAGGED", "FAILED")


class ImportFailedError(RuntimeError):
    """The API refused or did not answer; the message is for the user."""


@dataclass
class Journal:
    """sha256 -> {"image_id", "file", "status"}; persisted at `path`."""

    path: Path
    entries: dict[str, dict[str, str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def load(cls, path: Path) -> Journal:
        entries = json.loads(path.read_text()) if path.exists() else {}
        return cls(path, entries)

    def record(self, digest: str, entry: dict[str, str]) -> None:
        with self.lock:
            self.entries[digest] = entry
            self.path.parent.mkdir(parents=True, exist_ok=True)
            partial = self.path.with_suffix(".partial")
            partial.write_text(json.dumps(self.entries, indent=1, sort_keys=True))
            os.replace(partial, self.path)  # never a half-written journal


@dataclass
class ImportPlan:
    to_upload: dict[str, Path]  # digest -> first file with that content
    already_uploaded: int
    duplicates_in_folder: int


def image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def plan_import(files: Iterable[Path], journal: Journal) -> ImportPlan:
    to_upload: dict[str, Path] = {}
    already = duplicates = 0
    for path in files:
        digest = sha256_of(path)
        if digest in journal.entries:
            already += 1
        elif digest in to_upload:
            duplicates += 1
        else:
            to_upload[digest] = path
    return ImportPlan(to_upload, already, duplicates)


class ImportClient:
    """The upload flow of the one API client (imagetagger_mobile.api_client), with its errors as ImportFailedError."""

    def __init__(self, api_url: str, token: str, max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES) -> None:
        self.api = ImageTaggerClient(api_url, token, timeout_s=120)
        self.max_upload_bytes = max_upload_bytes

    def upload(self, path: Path) -> str:
        """Create the upload and send the file; returns the image id."""
        try:
            return self.api.upload(path.name, path.read_bytes(), self.max_upload_bytes)
        except (ApiError, RejectedFileError) as exc:
            raise ImportFailedError(f"{path.name}: {exc}") from exc

    def finished_images(self, awaited: set[str]) -> tuple[dict[str, str], set[str]]:
        """{image id: TAGGED or FAILED} of the awaited ones finished now, and the ids that no longer exist."""
        try:
            finished, missing = self.api.finished_images(awaited)
        except ApiError as exc:
            raise ImportFailedError(f"the API at {self.api.base_url}: {exc}") from exc
        return {image_id: record.status for image_id, record in finished.items()}, missing


@dataclass
class ImportResult:
    uploaded: int = 0
    already_uploaded: int = 0
    duplicates_in_folder: int = 0
    tagged: int = 0
    failed_tagging: int = 0
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dict(vars(self))


def upload_all(
    client: ImportClient,
    plan: ImportPlan,
    journal: Journal,
    workers: int = 4,
    on_done: Callable[[], None] = lambda: None,
) -> ImportResult:
    result = ImportResult(already_uploaded=plan.already_uploaded, duplicates_in_folder=plan.duplicates_in_folder)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(client.upload, path): (digest, path) for digest, path in plan.to_upload.items()}
        for future in as_completed(futures):
            digest, path = futures[future]
            try:
                image_id = future.result()
            except (ImportFailedError, OSError) as exc:
                result.errors.append(str(exc))
            else:
                journal.record(digest, {"image_id": image_id, "file": str(path), "status": "UPLOADED"})
                result.uploaded += 1
            on_done()
    return result


def wait_for_tags(
    client: ImportClient,
    journal: Journal,
    result: ImportResult,
    timeout_s: float = 600,
    on_finished: Callable[[int], None] = lambda n: None,
) -> None:
    """Poll every unfinished journal entry until TAGGED or FAILED (or the timeout); the journal keeps the status.
    Each round is one sweep of the user's listing, not one request per image: polling must not slow the tagging."""
    pending = {e["image_id"]: d for d, e in journal.entries.items() if e.get("status") not in FINISHED}
    finished = {d: e["status"] for d, e in journal.entries.items() if e.get("status") in FINISHED}
    deadline = time.monotonic() + timeout_s
    while pending and time.monotonic() < deadline:
        started = time.monotonic()
        swept = len(pending)
        statuses, missing = client.finished_images(set(pending))
        sweep_s = time.monotonic() - started
        for image_id, status in statuses.items():
            digest = pending.pop(image_id)
            journal.record(digest, {**journal.entries[digest], "status": status})
            finished[digest] = status
        for image_id in missing:
            digest = pending.pop(image_id)
            result.errors.append(f"{journal.entries[digest]['file']}: the image was deleted before it was tagged")
        on_finished(len(statuses))
        if pending:
            time.sleep(next_sweep_wait(sweep_s, swept, len(pending)))
    result.tagged = sum(status == "TAGGED" for status in finished.values())
    result.failed_tagging = sum(status == "FAILED" for status in finished.values())
    if pending:
        result.errors.append(f"{len(pending)} image(s) still not tagged after {timeout_s:.0f} s; run the import again")


def import_folder(
    api_url: str, token: str, folder: Path, journal_path: Path, workers: int = 4, timeout_s: float = 600
) -> ImportResult:
    """Upload the images of `folder` the journal lacks, then wait for the tags (what `imagetagger import` does)."""
    client = ImportClient(api_url, token)
    journal = Journal.load(journal_path)
    result = upload_all(client, plan_import(image_files(folder), journal), journal, workers=workers)
    wait_for_tags(client, journal, result, timeout_s)
    return result
