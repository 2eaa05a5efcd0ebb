"""Bulk import of a folder through the public API: POST /uploads, the presigned POST, then poll until tagged.

Resumable and duplicate-free by content: a journal (JSON, one entry per SHA-256 of a file's bytes) records every file
whose upload completed, with its image id. A second run, or a run after an interruption, uploads only what the journal
lacks; the same photo twice in the folder is uploaded once. The journal is written after every upload, atomically, so a
crash loses at most the uploads in flight (whose PENDING records expire by themselves).
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
import os
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

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


@dataclass
class ApiClient:
    api_url: str
    session: requests.Session

    def upload(self, path: Path) -> str:
        """Create the upload and send the file; returns the image id."""
        data = path.read_bytes()
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        ticket = self._call(
            "post", "/uploads", json={"filename": path.name, "content_type": content_type, "size": len(data)}
        )
        form = ticket["upload"]
        try:
            posted = requests.post(form["url"], data=form["fields"], files={"file": (path.name, data)}, timeout=120)
        except requests.RequestException as exc:
            raise ImportFailedError(f"{path.name}: the upload did not complete ({type(exc).__name__})") from exc
        if posted.status_code not in (200, 201, 204):
            detail = f"HTTP {posted.status_code} {posted.text[:200]}"
            raise ImportFailedError(f"{path.name}: storage refused the file: {detail}")
        return str(ticket["image_id"])

    def status(self, image_id: str) -> str:
        return str(self._call("get", f"/images/{image_id}")["status"])

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = getattr(self.session, method)(f"{self.api_url}{path}", timeout=60, **kwargs)
        except requests.RequestException as exc:
            raise ImportFailedError(f"the API at {self.api_url} did not answer ({type(exc).__name__})") from exc
        if not response.ok:
            try:
                message = response.json().get("message", response.text)
            except ValueError:
                message = response.text
            raise ImportFailedError(f"{method.upper()} {path}: HTTP {response.status_code}: {str(message)[:300]}")
        return response.json()


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
    client: ApiClient,
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
    client: ApiClient,
    journal: Journal,
    result: ImportResult,
    timeout_s: float = 600,
    on_finished: Callable[[int], None] = lambda n: None,
) -> None:
    """Poll every unfinished journal entry until TAGGED or FAILED (or the timeout); the journal keeps the status."""
    pending = {d: e for d, e in journal.entries.items() if e.get("status") not in FINISHED}
    finished = {d: e["status"] for d, e in journal.entries.items() if e.get("status") in FINISHED}
    deadline = time.monotonic() + timeout_s
    while pending and time.monotonic() < deadline:
        for digest, entry in list(pending.items()):
            status = client.status(entry["image_id"])
            if status in FINISHED:
                journal.record(digest, {**entry, "status": status})
                finished[digest] = status
                del pending[digest]
                on_finished(1)
        if pending:
            time.sleep(0.5)
    result.tagged = sum(status == "TAGGED" for status in finished.values())
    result.failed_tagging = sum(status == "FAILED" for status in finished.values())
    if pending:
        result.errors.append(f"{len(pending)} image(s) still not tagged after {timeout_s:.0f} s; run the import again")
