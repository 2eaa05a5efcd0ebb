"""The image formats imagetagger tags, by MIME type: the one definition read by uploads (the presigned form pins one
of them), the decoder (as Pillow format names) and the endpoint (one encoded image per request).

The mobile app and the web page cannot import this package; tests/unit/test_facts_once.py checks their copies."""

from __future__ import annotations

# MIME type -> Pillow format. Everything else (SVG, PDF, HTML, ...) is refused before decoding.
MEDIA_TYPES: dict[str, str] = {
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/webp": "WEBP",
    "image/gif": "GIF",
    "image/bmp": "BMP",
    "image/tiff": "TIFF",
}
ACCEPTED_MEDIA_TYPES = frozenset(MEDIA_TYPES)
ACCEPTED_FORMATS = frozenset(MEDIA_TYPES.values())
# Names browsers and old clients send for the same formats.
MEDIA_TYPE_ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg", "image/x-ms-bmp": "image/bmp"}


def parse_media_type(content_type: str | None) -> str:
    """'image/JPEG; charset=x' -> 'image/jpeg' (parameters dropped, lower case; no aliasing)."""
    return (content_type or "").split(";", 1)[0].strip().lower()
