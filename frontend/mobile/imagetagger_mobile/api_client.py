"""The client of the imagetagger HTTP API: the mobile app's, and the one upload flow of `imagetagger import` and
`imagetagger load` (it lives here because `flet build` packages frontend/mobile alone, and needs only requests).

It speaks the same routes as the web page: presigned-POST uploads straight to S3, waiting until images are tagged
(one image by its id, many by sweeping the user's listing), search, tag counts, delete, and the synchronous quick path
`POST /tag`. Errors carry the API's own message so the app can show it as is. `retry_for_s` makes every request ride
out network errors and 5xx answers for that long (a local stack restarting under a bulk import or a load test).
"""

from __future__ import annotations

import io
import mimetypes
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

ACCEPTED_TYPES = ("image/jpeg", "image/png", "image/webp", "image/gif", "image/bmp", "image/tiff")
DEFAULT_MAX_UPLOAD_BYTES = 10 * 1024 * 1024
QUICK_TAG_MAX_BYTES = 5 * 1024 * 1024  # POST /tag's own limit (issue 2)
# In AWS the POST /tag body travels base64-encoded inside Lambda's 6 MB payload, so larger photos are sent as a
# downscaled JPEG (the model looks at 224 px). The same rule as imagetagger.quicktag, which this package cannot import:
# `flet build` packages frontend/mobile alone.
SHRINK_ABOVE_BYTES = 1_000_000
QUICK_TAG_MAX_EDGE = 1024
FINAL_STATUSES = ("TAGGED", "FAILED")
RETRY_PAUSE_S = 0.5
LISTING_PAGE = 100
POLL_INTERVAL_S = 0.5
# Listing a user's images costs the stack about a millisecond of CPU per image (DynamoDB query, serialisation, a
# thumbnail URL each; measured: a sweep of 79 images, 97 ms of CPU over moto and the API function for 96 ms of wall
# time), and a bulk client shares the service with everyone: its sweeps take at most this share of the time, but wait
# no longer than POLL_MAX_WAIT_S, which bounds how late a tagged image is seen. At a fifth, a bulk import's sweeps
# alone kept a fifth of a core busy; the last sweeps of an import list few images, so they still come often
# (next_sweep_wait).
POLL_MAX_SHARE = 0.1
POLL_MAX_WAIT_S = 5.0


# A bulk wait's sweeps come at least this far apart, however cheap the next one is expected to be.
SWEEP_MIN_WAIT_S = 0.2


def next_poll_wait(last_poll_s: float) -> float:
    """Seconds until the next sweep: POLL_INTERVAL_S, stretched so polling stays within POLL_MAX_SHARE."""
    return min(POLL_MAX_WAIT_S, max(POLL_INTERVAL_S, _within_share(last_poll_s)))


def next_sweep_wait(last_sweep_s: float, swept: int, still_awaited: int) -> float:
    """Seconds until the next sweep of a bulk wait. A sweep lists the awaited images, so the next one is expected to
    cost `last_sweep_s` (the time for `swept` images) in proportion to the images still awaited, and polling stays
    within POLL_MAX_SHARE of that: sweeps are far apart while many images are awaited and close together (down to
    SWEEP_MIN_WAIT_S) when few are, so the end of an import is seen soon after it happens, not a long interval after
    an expensive early sweep."""
    expected_sweep_s = last_sweep_s * still_awaited / max(swept, 1)
    return min(POLL_MAX_WAIT_S, max(SWEEP_MIN_WAIT_S, _within_share(expected_sweep_s)))


def _within_share(sweep_s: float) -> float:
    return sweep_s * (1 - POLL_MAX_SHARE) / POLL_MAX_SHARE


class ApiError(Exception):
    """The API (or S3) refused a request or could not be reached; `status` is 0 for network trouble."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    @property
    def retriable(self) -> bool:
        return self.status == 0 or self.status == 429 or self.status >= 500


class RejectedFileError(ValueError):
    """The file cannot be sent at all (type or size); the message says why, before any upload."""


@dataclass(frozen=True)
class Instance:
    """Where one object of a tag is: box (x, y, width, height) as fractions of the upright photo, x, y its top-left
    corner; and how confident that detection is."""

    box: tuple[float, float, float, float]
    confidence: float


@dataclass(frozen=True)
class Tag:
    name: str
    confidence: float
    parents: list[str] = field(default_factory=list)
    instances: list[Instance] = field(default_factory=list)  # [] when nothing located it (or an older record)
    # Where it comes from: "model" (the default model), "custom" (the classifier of one of the user's own labels) or
    # "user" (added by hand). Records from before custom labels have no source: those are the model's.
    source: str = "model"

    @property
    def parent(self) -> str | None:
        return self.parents[0] if self.parents else None

    @property
    def is_users_own(self) -> bool:
        """One of the user's own labels, not a COCO tag of the model."""
        return self.source in ("custom", "user")


@dataclass(frozen=True)
class ImageRecord:
    image_id: str
    status: str
    filename: str = ""
    tags: list[Tag] = field(default_factory=list)
    error: str | None = None
    model_version: str | None = None
    created_at: str | None = None

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> ImageRecord:
        return cls(
            image_id=body["image_id"],
            status=body.get("status", "PENDING"),
            filename=body.get("filename") or "",
            tags=tags_from_json(body.get("tags") or []),
            error=body.get("error"),
            model_version=body.get("model_version"),
            created_at=body.get("created_at"),
        )


@dataclass(frozen=True)
class TagCount:
    name: str
    count: int


@dataclass(frozen=True)
class QuickTagResult:
    tags: list[Tag]
    model_version: str | None


def tags_from_json(items: list[dict[str, Any]]) -> list[Tag]:
    return [
        Tag(
            name=t["name"],
            confidence=float(t["confidence"]),
            parents=list(t.get("parents") or []),
            instances=[_instance(i) for i in t.get("instances") or []],
            source=t.get("source") or "model",
        )
        for t in items
    ]


def _instance(raw: dict[str, Any]) -> Instance:
    x, y, w, h = (float(value) for value in raw["box"])
    return Instance(box=(x, y, w, h), confidence=float(raw["confidence"]))


def content_type_for(filename: str) -> str:
    """The MIME type the upload will declare, from the file name (what a browser does too)."""
    guessed, _ = mimetypes.guess_type(filename)
    return guessed or "application/octet-stream"


def check_file(filename: str, size: int, max_bytes: int = DEFAULT_MAX_UPLOAD_BYTES) -> str:
    """Returns the content type to declare, or raises RejectedFileError explaining why the file cannot go."""
    content_type = content_type_for(filename)
    if content_type not in ACCEPTED_TYPES:
        raise RejectedFileError(
            f"{filename}: {content_type} files are not accepted; use JPEG, PNG, WebP, GIF, BMP or TIFF"
        )
    if size == 0:
        raise RejectedFileError(f"{filename}: the file is empty")
    if size > max_bytes:
        raise RejectedFileError(f"{filename}: the file is {size / 1e6:.1f} MB; the limit is {max_bytes / 1e6:.1f} MB")
    return content_type


def shrink_for_quick_tag(data: bytes, content_type: str) -> tuple[bytes, str]:
    """A JPEG at most QUICK_TAG_MAX_EDGE px on its longest side when the file is larger than SHRINK_ABOVE_BYTES, else
    the file unchanged; a file Pillow cannot read is sent unchanged, so the API explains what is wrong with it."""
    if len(data) <= SHRINK_ABOVE_BYTES:
        return data, content_type
    from PIL import Image, ImageOps  # only needed on this path; keeps the app's start-up light

    try:
        with Image.open(io.BytesIO(data)) as opened:
            opened.draft("RGB", (QUICK_TAG_MAX_EDGE, QUICK_TAG_MAX_EDGE))  # JPEG: decode at a reduced scale
            image = ImageOps.exif_transpose(opened).convert("RGB")
    except (OSError, ValueError, Image.DecompressionBombError):
        return data, content_type
    image.thumbnail((QUICK_TAG_MAX_EDGE, QUICK_TAG_MAX_EDGE))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue(), "image/jpeg"


def error_message(response: requests.Response) -> str:
    """The explanation in an error response: the API's JSON `message`, validation details, or S3's XML <Message>."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        if body.get("message"):
            return str(body["message"])
        if isinstance(body.get("detail"), list):
            return "; ".join(f"{'.'.join(map(str, d.get('loc', [])[1:]))}: {d.get('msg')}" for d in body["detail"])
    text = response.text or ""
    if "<Message>" in text:
        return text.split("<Message>", 1)[1].split("</Message>", 1)[0]
    return text.strip() or f"HTTP {response.status_code}"


class ImageTaggerClient:
    def __init__(
        self, base_url: str, token: str | None = None, timeout_s: float = 30.0, retry_for_s: float = 0.0
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout_s = timeout_s
        self.retry_for_s = retry_for_s
        self.session = requests.Session()

    # --- sign-in -------------------------------------------------------------------------------------------------
    def sign_in_local(self, user: str) -> str:
        """Gets a development token from the local stack (the route exists only there) and keeps it."""
        body = self._send("GET", "/local/token", params={"user": user}, authorized=False)
        self.token = body["token"] if isinstance(body, dict) else str(body)
        return self.token

    def health(self) -> dict[str, Any]:
        return self._send("GET", "/health", authorized=False)

    # --- uploads -------------------------------------------------------------------------------------------------
    def upload(self, filename: str, data: bytes, max_bytes: int = DEFAULT_MAX_UPLOAD_BYTES) -> str:
        """Presigned POST straight to S3; returns the image id to poll. Raises RejectedFileError before sending."""
        content_type = check_file(filename, len(data), max_bytes)
        created = self._send(
            "POST", "/uploads", json={"filename": filename, "content_type": content_type, "size": len(data)}
        )
        presigned = created["upload"]
        try:
            response = self._retrying(
                lambda: self.session.post(
                    presigned["url"],
                    data=presigned["fields"],
                    files={"file": (filename, data, content_type)},  # requests puts files after the fields, as S3 needs
                    timeout=self.timeout_s,
                )
            )
        except requests.RequestException as exc:
            raise ApiError(0, f"the upload to storage failed: {exc}") from exc
        if not response.ok:
            raise ApiError(response.status_code, f"storage refused the upload: {error_message(response)}")
        return str(created["image_id"])

    def finished_images(self, awaited: set[str]) -> tuple[dict[str, ImageRecord], set[str]]:
        """One sweep of the user's listing for the `awaited` ids: (those TAGGED or FAILED now, those that no longer
        exist). Listings are newest first and ids sort by creation time, so the sweep stops at the page that reaches
        past the oldest awaited id: a few requests for any number of images, instead of one GET per image."""
        finished: dict[str, ImageRecord] = {}
        seen: set[str] = set()
        oldest = min(awaited, default=None)
        token: str | None = None
        while oldest is not None:
            items, token = self.list_images(limit=LISTING_PAGE, next_token=token)
            for record in items:
                if record.image_id in awaited:
                    seen.add(record.image_id)
                    if record.status in FINAL_STATUSES:
                        finished[record.image_id] = record
            if not token or any(record.image_id < oldest for record in items):
                break
        return finished, awaited - seen

    def wait_for_tags(
        self, image_id: str, timeout_s: float = 300.0, first_delay_s: float = 0.5, max_delay_s: float = 3.0
    ) -> ImageRecord:
        """Polls until the image is TAGGED or FAILED (or returns the PENDING record when `timeout_s` runs out)."""
        deadline = time.monotonic() + timeout_s
        delay = first_delay_s
        while True:
            record = self.get_image(image_id)
            if record.status in FINAL_STATUSES or time.monotonic() >= deadline:
                return record
            time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
            delay = min(delay * 1.5, max_delay_s)

    def quick_tag(self, filename: str, data: bytes) -> QuickTagResult:
        """Tags the bytes synchronously (POST /tag), downscaled when large; nothing is stored."""
        content_type = check_file(filename, len(data))
        data, content_type = shrink_for_quick_tag(data, content_type)
        check_file(filename, len(data), max_bytes=QUICK_TAG_MAX_BYTES)
        body = self._send("POST", "/tag", data=data, headers={"Content-Type": content_type})
        return QuickTagResult(tags=tags_from_json(body.get("tags") or []), model_version=body.get("model_version"))

    # --- reading, searching, deleting ----------------------------------------------------------------------------
    def get_image(self, image_id: str) -> ImageRecord:
        return ImageRecord.from_json(self._send("GET", f"/images/{image_id}"))

    def list_images(
        self,
        tag: str | None = None,
        min_confidence: float | None = None,
        limit: int | None = None,
        next_token: str | None = None,
    ) -> tuple[list[ImageRecord], str | None]:
        params = {
            "tag": tag,
            "min_confidence": min_confidence if tag else None,
            "limit": limit,
            "next_token": next_token,
        }
        body = self._send("GET", "/images", params={k: v for k, v in params.items() if v is not None})
        return [ImageRecord.from_json(item) for item in body.get("items", [])], body.get("next_token")

    def list_tags(self) -> list[TagCount]:
        body = self._send("GET", "/tags")
        return [TagCount(name=t["name"], count=int(t["count"])) for t in body.get("tags", [])]

    def delete_image(self, image_id: str) -> None:
        self._send("DELETE", f"/images/{image_id}")

    # --- transport -----------------------------------------------------------------------------------------------
    def _send(self, method: str, path: str, authorized: bool = True, **kwargs: Any) -> Any:
        headers = dict(kwargs.pop("headers", {}))
        if authorized:
            if not self.token:
                raise ApiError(401, "not signed in")
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            response = self._retrying(
                lambda: self.session.request(
                    method, f"{self.base_url}{path}", headers=headers, timeout=self.timeout_s, **kwargs
                )
            )
        except requests.RequestException as exc:
            raise ApiError(0, f"the API at {self.base_url} did not answer: {exc}") from exc
        if not response.ok:
            raise ApiError(response.status_code, error_message(response))
        if response.status_code == 204 or not response.content:
            return None
        content_type = response.headers.get("Content-Type", "")
        return response.json() if "json" in content_type else response.text

    def _retrying(self, call: Callable[[], requests.Response]) -> requests.Response:
        """`call` again after a network error or a 5xx until `retry_for_s` has passed; then its last outcome."""
        deadline = time.monotonic() + self.retry_for_s
        while True:
            try:
                response = call()
                if response.status_code < 500 or time.monotonic() >= deadline:
                    return response
            except requests.RequestException:
                if time.monotonic() >= deadline:
                    raise
            time.sleep(RETRY_PAUSE_S)
