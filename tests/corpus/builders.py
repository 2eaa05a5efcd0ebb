"""Deterministic builders of hostile and odd files: each returns the exact bytes of one corpus entry.

Everything is drawn from fixed seeds and fixed encoder options, so `generate.py` rebuilds the committed files
byte for byte (with the pinned Pillow). Big files (bombs, oversized uploads) are only ever built at test time.
"""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import Image, PngImagePlugin

SEED = 20261129


def _photo(size: tuple[int, int] = (120, 80), mode: str = "RGB") -> Image.Image:
    """A smooth colour gradient with a square in it: decodes like a photo, compresses small."""
    width, height = size
    y, x = np.mgrid[0:height, 0:width]
    rgb = np.stack([x * 255 // max(width - 1, 1), y * 255 // max(height - 1, 1), (x + y) % 256], axis=-1)
    rgb[height // 4 : height // 2, width // 4 : width // 2] = (250, 30, 30)
    image = Image.fromarray(rgb.astype(np.uint8), "RGB")
    return image if mode == "RGB" else image.convert(mode)


def _save(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def jpeg(size: tuple[int, int] = (120, 80), mode: str = "RGB", **options: object) -> bytes:
    return _save(_photo(size, mode), "JPEG", quality=85, **options)


# --------------------------------------------------------------------------------------------------------- not images
def empty() -> bytes:
    return b""


def text_renamed() -> bytes:
    return b"Dear diary,\nthis is a text file someone renamed to holiday.jpg.\n"


def html_disguised() -> bytes:
    return b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script><img src=x></body></html>\n"


def svg_disguised() -> bytes:
    return (
        b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100">'
        b'<script>alert(1)</script><circle cx="50" cy="50" r="40" fill="red"/></svg>\n'
    )


def pdf_disguised() -> bytes:
    return (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
        b"trailer<</Root 1 0 R>>\n%%EOF\n"
    )


def random_bytes() -> bytes:
    return np.random.default_rng(SEED).integers(0, 256, 4096, dtype=np.uint8).tobytes()


def zip_disguised() -> bytes:
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        info = zipfile.ZipInfo("payload.txt", date_time=(2026, 1, 1, 0, 0, 0))
        archive.writestr(info, "not an image")
    return buffer.getvalue()


def unaccepted_format_tga() -> bytes:
    """A real image in a format Pillow reads but imagetagger does not accept."""
    return _save(_photo(), "TGA")


# --------------------------------------------------------------------------------------------------------- broken
def truncated_jpeg() -> bytes:
    data = jpeg((256, 192))
    return data[: len(data) // 2]


def jpeg_header_only() -> bytes:
    return jpeg()[:20]


def corrupted_jpeg_scan() -> bytes:
    """Bytes flipped in the entropy-coded data: decoders show garbage blocks rather than fail (as browsers do)."""
    data = bytearray(jpeg((256, 192)))
    start = data.rfind(b"\xff\xda") + 20  # inside the scan, past the SOS header
    rng = np.random.default_rng(SEED)
    for offset in rng.integers(start, len(data) - 4, 40):
        data[offset] = 0x5A
    return bytes(data)


def truncated_png() -> bytes:
    data = _save(_photo((128, 128)), "PNG")
    return data[: len(data) * 2 // 3]


def png_bad_crc() -> bytes:
    """A PNG whose IHDR checksum is wrong."""
    data = bytearray(_save(_photo(), "PNG"))
    data[29] ^= 0xFF  # last byte of the IHDR CRC (8 signature + 4 length + 4 type + 13 data)
    return bytes(data)


def png_zero_width() -> bytes:
    return _png_with_header(0, 16, idat=zlib.compress(b""))


def _png_with_header(width: int, height: int, idat: bytes) -> bytes:
    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def png_header_lies_huge() -> bytes:
    """IHDR claims 60000x60000 (3.6 gigapixels) over a few bytes of data."""
    return _png_with_header(60_000, 60_000, idat=zlib.compress(b"\x00" * 1024))


def png_header_lies_small_data() -> bytes:
    """IHDR claims 1000x1000 but the data covers ten rows."""
    return _png_with_header(1000, 1000, idat=zlib.compress(b"\x00" + b"\x80" * 3000) * 1)


def jpeg_header_lies_huge() -> bytes:
    """The SOF0 frame header rewritten to claim 65000x65000 pixels."""
    data = bytearray(jpeg())
    sof = data.find(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", 65000, 65000)
    return bytes(data)


def bmp_header_lies_huge() -> bytes:
    data = bytearray(_save(_photo(), "BMP"))
    data[18:26] = struct.pack("<ii", 40_000, 40_000)
    return bytes(data)


def gif_truncated() -> bytes:
    data = _save(_photo().convert("P"), "GIF")
    return data[:40]


# --------------------------------------------------------------------------------------------------------- odd, valid
def one_by_one() -> bytes:
    return _save(Image.new("RGB", (1, 1), (10, 200, 10)), "PNG")


def extreme_wide() -> bytes:
    return _save(_photo((8000, 2)), "PNG")


def extreme_tall() -> bytes:
    return jpeg((1, 4000))


def grayscale_jpeg() -> bytes:
    return jpeg(mode="L")


def cmyk_jpeg() -> bytes:
    return jpeg(mode="CMYK")


def progressive_jpeg() -> bytes:
    return jpeg((160, 120), progressive=True, optimize=True)


def sixteen_bit_png() -> bytes:
    ramp = (np.arange(80 * 120, dtype=np.uint32).reshape(80, 120) * 7 % 65536).astype(np.uint16)
    return _save(Image.fromarray(ramp), "PNG")  # uint16 -> mode I;16


def float_tiff() -> bytes:
    values = np.linspace(-3.5, 1e6, 80 * 120, dtype=np.float32).reshape(80, 120)
    return _save(Image.fromarray(values, "F"), "TIFF")


def float_tiff_nan() -> bytes:
    values = np.full((96, 96), np.nan, dtype=np.float32)
    values[:, :48] = np.inf
    return _save(Image.fromarray(values, "F"), "TIFF")


def palette_png() -> bytes:
    return _save(_photo().quantize(16), "PNG")


def palette_png_transparent() -> bytes:
    image = _photo().quantize(16)
    return _save(image, "PNG", transparency=0)


def rgba_png() -> bytes:
    image = _photo().convert("RGBA")
    image.putalpha(Image.linear_gradient("L").resize(image.size))
    return _save(image, "PNG")


def la_png() -> bytes:
    return _save(_photo().convert("LA"), "PNG")


def bilevel_png() -> bytes:
    return _save(_photo().convert("1"), "PNG")


def animated_gif() -> bytes:
    frames = [_photo().rotate(angle).convert("P") for angle in (0, 90, 180)]
    return _save(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)


def exif_rotated_jpeg() -> bytes:
    """120x80 pixels stored, EXIF orientation 6: shown (and tagged) as an 80x120 portrait."""
    exif = Image.Exif()
    exif[0x0112] = 6
    return jpeg(exif=exif.tobytes())


def exif_garbage_orientation() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 42  # not one of the eight orientations
    return jpeg(exif=exif.tobytes())


def webp() -> bytes:
    return _save(_photo(), "WEBP", quality=80, method=0)


def webp_alpha() -> bytes:
    image = _photo().convert("RGBA")
    image.putalpha(Image.linear_gradient("L").resize(image.size))
    return _save(image, "WEBP", lossless=True, method=0)


def bmp() -> bytes:
    return _save(_photo(), "BMP")


def tiff() -> bytes:
    return _save(_photo(), "TIFF", compression="tiff_lzw")


def multipage_tiff() -> bytes:
    pages = [_photo(), _photo().rotate(180)]
    return _save(pages[0], "TIFF", save_all=True, append_images=pages[1:])


def png_named_jpg() -> bytes:
    """A PNG uploaded as image/jpeg: decoding sniffs the content, not the name or the declared type."""
    return _save(_photo(), "PNG")


def jpeg_with_trailing_html() -> bytes:
    """A polyglot: a valid JPEG with an HTML page appended. Decoding uses the image; the rest is ignored."""
    return jpeg() + html_disguised()


def huge_jpeg_comment() -> bytes:
    """About 1 MB of metadata (16 maximal COM segments) in front of a tiny image."""
    data = jpeg()
    comment = b"\xff\xfe" + struct.pack(">H", 65535) + b"A" * 65533
    return data[:2] + comment * 16 + data[2:]


def huge_png_text() -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "x" * 500_000)
    return _save(_photo(), "PNG", pnginfo=info)


def png_ztxt_bomb() -> bytes:
    """A compressed text chunk that inflates to 64 MB; Pillow's text-chunk limit refuses it."""
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "\0" * (64 * 1024 * 1024), zip=True)
    return _save(_photo(), "PNG", pnginfo=info)


# ------------------------------------------------------------------------------------------ big: built at test time
def decompression_bomb_png() -> bytes:
    """10000x8000 black PNG: 80 megapixels (240 MB decoded) in a few hundred KB of file.

    Below Pillow's own bomb threshold (89 Mpx), so it is imagetagger's 50 Mpx guard that must refuse it.
    """
    width, height = 10_000, 8_000
    row = b"\x00" + b"\x00" * (width * 3)
    compressor = zlib.compressobj(1)
    idat = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    return _png_with_header(width, height, idat=idat)


def decompression_bomb_gif() -> bytes:
    """A GIF whose logical screen is 65535x65535 over one tiny frame."""
    data = bytearray(_save(Image.new("P", (8, 8)), "GIF"))
    data[6:10] = struct.pack("<HH", 65535, 65535)
    return bytes(data)


def oversized_jpeg(size_bytes: int) -> bytes:
    """A valid JPEG padded with an application segment chain to just over `size_bytes`."""
    data = jpeg()
    segment = b"\xff\xe9" + struct.pack(">H", 65535) + b"\0" * 65533
    count = size_bytes // len(segment) + 1
    return data[:2] + segment * count + data[2:]


def scan_bomb_jpeg(size_bytes: int) -> bytes:
    """A progressive JPEG padded to `size_bytes` with empty scans: thousands of copies of one luminance AC scan header.

    Each scan costs the decoder a pass over every block of the 16-megapixel image (~6 ms here), so the 217 KB file
    (12000 scans) stalled a decoder for over a minute and 4 MB would for about twenty.
    """
    base = _save(Image.new("RGB", (4000, 4000), (120, 130, 140)), "JPEG", quality=50, progressive=True)
    headers = []
    position = base.find(b"\xff\xda")
    while position >= 0:
        (length,) = struct.unpack(">H", base[position + 2 : position + 4])
        headers.append(base[position : position + 2 + length])
        position = base.find(b"\xff\xda", position + 2)
    # Ns = 1, component 1 (Y), spectral start > 0: an AC scan over the full-resolution component.
    luminance_ac = next(h for h in headers if h[4] == 1 and h[5] == 1 and h[7] > 0)
    count = max(1, (size_bytes - len(base)) // len(luminance_ac))
    return base[:-2] + luminance_ac * count + base[-2:]


def large_sixteen_bit_png() -> bytes:
    """7000x7000 16-bit greyscale in ~100 KB: 98 MB decoded; converting it naively peaked at 1.5 GB."""
    ramp = np.tile((np.arange(7000, dtype=np.uint32) * 9 % 65536).astype(np.uint16), (7000, 1))
    return _save(Image.fromarray(ramp), "PNG")


def large_float_tiff() -> bytes:
    """7000x7000 32-bit float in ~300 KB: 196 MB decoded; converting it naively peaked at 1.6 GB."""
    values = np.tile(np.repeat(np.linspace(0.0, 1.0, 70, dtype=np.float32), 100), (7000, 1))  # runs deflate well
    return _save(Image.fromarray(values, "F"), "TIFF", compression="tiff_adobe_deflate")


def large_rgba_png() -> bytes:
    """7000x7000 RGBA: compositing its alpha at full size took four copies of 196 MB."""
    image = Image.new("RGBA", (7000, 7000), (20, 120, 200, 128))
    return _save(image, "PNG")


def too_narrow() -> bytes:
    return _save(_photo((2000, 90)), "PNG")
