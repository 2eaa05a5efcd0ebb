"""The hostile-file corpus: every kind of odd upload and what imagetagger must do with it.

One row per file. `reason=None` means the file is an image we accept and must be tagged; otherwise `reason` is a
substring of the message the user sees: the 4xx body of POST /tag and the `error` of the FAILED image on the upload
path. Nothing in this table may ever produce a 500, a crash, a hang or an image left PENDING.

Accepted formats (decided here, enforced by imagetagger.media.ACCEPTED_FORMATS): JPEG, PNG, WebP, GIF (first
frame), BMP and TIFF (first page), in any Pillow mode (greyscale, palette, alpha, CMYK, 16-bit, float), up to 50
megapixels and MAX_UPLOAD_BYTES (POST /tag: 5 MB). The content decides, not the name or the declared type.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from corpus import builders

FILES_DIR = Path(__file__).resolve().parent / "files"
# The template's default MaxUploadBytes and the POST /tag cap (imagetagger.settings.TAG_NOW_MAX_BYTES).
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
TAG_NOW_MAX_BYTES = 5 * 1024 * 1024

NOT_SUPPORTED = "not a supported image"
NOT_DECODED = "could not be decoded"
TOO_MANY_PIXELS = "pixels"
TOO_LARGE = "at most"
TOO_SMALL = "too small to tag"
TOO_MANY_SCANS = "scans"


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[], bytes]
    probes: str
    reason: str | None = None  # None: tagged
    content_type: str = "image/jpeg"  # what the client declares (uploads are often mislabelled)
    tag_status: int | None = None  # POST /tag status; default 200 when tagged, else 400
    upload_status: int = 201  # POST /uploads status when the real size is declared
    committed: bool = True  # small enough to live in tests/corpus/files/; else built at test time

    @property
    def tagged(self) -> bool:
        return self.reason is None

    @property
    def expected_tag_status(self) -> int:
        return self.tag_status or (200 if self.tagged else 400)

    @property
    def filename(self) -> str:
        return f"{self.name}.bin"

    def data(self) -> bytes:
        path = FILES_DIR / self.filename
        return path.read_bytes() if self.committed else _built(self.build)


@functools.cache
def _built(build: Callable[[], bytes]) -> bytes:
    """Big entries take seconds to build and several tests send them: build each once per test process."""
    return build()


def _oversized() -> bytes:
    return builders.oversized_jpeg(MAX_UPLOAD_BYTES)


def _too_big_for_tag_now() -> bytes:
    return builders.oversized_jpeg(TAG_NOW_MAX_BYTES + 512 * 1024)


CASES: tuple[Case, ...] = (
    # ---- not images at all
    Case("empty", builders.empty, "zero bytes", "the file is empty"),
    Case("text_renamed", builders.text_renamed, "a text file renamed .jpg", NOT_SUPPORTED),
    Case("html_disguised", builders.html_disguised, "HTML with a script, sent as image/jpeg", NOT_SUPPORTED),
    Case(
        "svg_disguised",
        builders.svg_disguised,
        "SVG (XML, scriptable) declared as image/png",
        NOT_SUPPORTED,
        "image/png",
    ),
    Case("pdf_disguised", builders.pdf_disguised, "a PDF declared as image/jpeg", NOT_SUPPORTED),
    Case("zip_disguised", builders.zip_disguised, "a ZIP archive declared as image/jpeg", NOT_SUPPORTED),
    Case("random_bytes", builders.random_bytes, "4 KB of noise", NOT_SUPPORTED),
    Case("tga_unaccepted", builders.unaccepted_format_tga, "a real image in a format we do not accept", NOT_SUPPORTED),
    # ---- broken images
    Case("truncated_jpeg", builders.truncated_jpeg, "a JPEG cut in half (interrupted upload)", NOT_DECODED),
    Case("jpeg_header_only", builders.jpeg_header_only, "the first 20 bytes of a JPEG", NOT_SUPPORTED),
    Case("truncated_png", builders.truncated_png, "a PNG cut at two thirds", NOT_DECODED, "image/png"),
    Case("png_bad_crc", builders.png_bad_crc, "a PNG whose header checksum is wrong", NOT_SUPPORTED, "image/png"),
    Case("png_zero_width", builders.png_zero_width, "a PNG header claiming width 0", NOT_SUPPORTED, "image/png"),
    Case("gif_truncated", builders.gif_truncated, "a GIF cut inside its header", NOT_SUPPORTED, "image/gif"),
    Case(
        "corrupted_jpeg_scan",
        builders.corrupted_jpeg_scan,
        "bytes flipped in the compressed data: decodes with garbage blocks, as browsers show it",
    ),
    Case(
        "png_short_data",
        builders.png_header_lies_small_data,
        "a PNG header claiming 1000x1000 over one row of data: the rest is black",
        content_type="image/png",
    ),
    # ---- headers that lie, bombs
    Case("png_header_huge", builders.png_header_lies_huge, "IHDR claims 60000x60000", TOO_MANY_PIXELS, "image/png"),
    Case("jpeg_header_huge", builders.jpeg_header_lies_huge, "SOF claims 65000x65000", TOO_MANY_PIXELS),
    Case(
        "bmp_header_huge", builders.bmp_header_lies_huge, "BMP header claims 40000x40000", TOO_MANY_PIXELS, "image/bmp"
    ),
    Case("gif_screen_huge", builders.decompression_bomb_gif, "GIF screen of 65535x65535", TOO_MANY_PIXELS, "image/gif"),
    Case(
        "png_decompression_bomb",
        builders.decompression_bomb_png,
        "80 megapixels in 1 MB: under Pillow's own guard, over ours",
        TOO_MANY_PIXELS,
        "image/png",
        committed=False,
    ),
    Case("png_ztxt_bomb", builders.png_ztxt_bomb, "a text chunk inflating to 64 MB", NOT_DECODED, "image/png"),
    # ---- size limits
    Case(
        "oversized",
        _oversized,
        "a valid JPEG just over MAX_UPLOAD_BYTES",
        TOO_LARGE,
        tag_status=413,
        upload_status=413,
        committed=False,
    ),
    Case(
        "over_tag_now_limit",
        _too_big_for_tag_now,
        "5.5 MB: too big for POST /tag (413), fine as an upload",
        tag_status=413,
        committed=False,
    ),
    # ---- too small or narrow to tag (Rekognition refuses under 80 px a side; a 1x1 was "tagged" bottle 0.20)
    Case("one_by_one", builders.one_by_one, "a single pixel", TOO_SMALL, "image/png"),
    Case("extreme_wide", builders.extreme_wide, "8000x2 pixels", TOO_SMALL, "image/png"),
    Case("extreme_tall", builders.extreme_tall, "1x4000 pixels", TOO_SMALL),
    Case("too_narrow", builders.too_narrow, "2000x90: a 22:1 strip", "too narrow", "image/png"),
    # ---- cheap to send, expensive to decode (bounded before decoding starts)
    Case(
        "scan_bomb_jpeg",
        lambda: builders.scan_bomb_jpeg(217 * 1024),
        "217 KB progressive JPEG of ~20000 empty scans (stalled the service ~1 min)",
        TOO_MANY_SCANS,
        committed=False,
    ),
    Case(
        "scan_bomb_jpeg_4mb",
        lambda: builders.scan_bomb_jpeg(4 * 1024 * 1024),
        "4 MB of empty scans (~20 minutes of decoding)",
        TOO_MANY_SCANS,
        committed=False,
    ),
    Case(
        "large_sixteen_bit_png",
        builders.large_sixteen_bit_png,
        "7000x7000 16-bit PNG in 100 KB (peaked at 1.5 GB)",
        content_type="image/png",
        committed=False,
    ),
    Case(
        "large_float_tiff",
        builders.large_float_tiff,
        "7000x7000 float TIFF in 300 KB (peaked at 1.6 GB)",
        content_type="image/tiff",
        committed=False,
    ),
    Case("large_rgba_png", builders.large_rgba_png, "7000x7000 RGBA PNG", content_type="image/png", committed=False),
    # ---- odd but valid
    Case("grayscale_jpeg", builders.grayscale_jpeg, "8-bit greyscale"),
    Case("cmyk_jpeg", builders.cmyk_jpeg, "CMYK (print) JPEG"),
    Case("progressive_jpeg", builders.progressive_jpeg, "progressive JPEG"),
    Case("sixteen_bit_png", builders.sixteen_bit_png, "16-bit greyscale PNG", content_type="image/png"),
    Case("float_tiff", builders.float_tiff, "32-bit float TIFF (range -3.5..1e6)", content_type="image/tiff"),
    Case("float_tiff_nan", builders.float_tiff_nan, "float TIFF of NaN and +inf", content_type="image/tiff"),
    Case("palette_png", builders.palette_png, "16-colour palette PNG", content_type="image/png"),
    Case(
        "palette_png_transparent",
        builders.palette_png_transparent,
        "palette with a transparent colour",
        None,
        "image/png",
    ),
    Case("rgba_png", builders.rgba_png, "RGBA with an alpha gradient", content_type="image/png"),
    Case("la_png", builders.la_png, "greyscale with alpha", content_type="image/png"),
    Case("bilevel_png", builders.bilevel_png, "1-bit black and white", content_type="image/png"),
    Case("animated_gif", builders.animated_gif, "3-frame animated GIF (first frame tagged)", content_type="image/gif"),
    Case("exif_rotated_jpeg", builders.exif_rotated_jpeg, "EXIF orientation 6 (phone held upright)"),
    Case("exif_bad_orientation", builders.exif_garbage_orientation, "EXIF orientation 42 (invalid): ignored"),
    Case("webp", builders.webp, "lossy WebP", content_type="image/webp"),
    Case("webp_alpha", builders.webp_alpha, "lossless WebP with alpha", content_type="image/webp"),
    Case("bmp", builders.bmp, "24-bit BMP", content_type="image/bmp"),
    Case("tiff_lzw", builders.tiff, "LZW-compressed TIFF", content_type="image/tiff"),
    Case("multipage_tiff", builders.multipage_tiff, "2-page TIFF (first page tagged)", content_type="image/tiff"),
    Case("png_named_jpg", builders.png_named_jpg, "a PNG declared as image/jpeg"),
    Case("jpeg_polyglot_html", builders.jpeg_with_trailing_html, "a JPEG with an HTML page appended"),
    Case("huge_jpeg_comment", builders.huge_jpeg_comment, "1 MB of COM metadata before a tiny image", committed=False),
    Case("huge_png_text", builders.huge_png_text, "a 500 KB tEXt chunk", content_type="image/png", committed=False),
)

BY_NAME = {case.name: case for case in CASES}
