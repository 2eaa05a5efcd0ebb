"""What a JPEG will cost to decode, read from its markers before any pixel is decoded.

libjpeg decodes every scan of a progressive JPEG over the whole image, and Pillow exposes no scan limit (libjpeg-turbo
has one, TJPARAM_SCANLIMIT, only in its TurboJPEG API). A file of a few hundred KB can hold thousands of empty scans
and keep a decoder busy for minutes, so the scans are counted here. Progressive decoding also keeps every DCT
coefficient of the full-size image in memory whatever draft size is asked for; that size comes from the frame header.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass

# Start-of-frame markers (C4 DHT, C8 JPG and CC DAC are not frames); the progressive ones among them.
_FRAME_MARKERS = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
_PROGRESSIVE_MARKERS = frozenset({0xC2, 0xC6, 0xCA, 0xCE})
_STANDALONE_MARKERS = frozenset({0x01, *range(0xD0, 0xD8)})  # TEM, RST0-7: no length field
_SOS, _EOI = 0xDA, 0xD9
_BYTES_PER_COEFFICIENT = 2  # libjpeg's JCOEF


@dataclass(frozen=True)
class JpegStructure:
    scans: int  # counted up to the caller's limit + 1 (counting stops there)
    progressive: bool
    coefficient_bytes: int  # the whole-image coefficient buffer a progressive decode allocates (0 if no frame seen)


def read_structure(data: bytes, stop_after_scans: int) -> JpegStructure:
    """Walk the markers of `data` (a JPEG). Malformed structure just ends the walk: the decoder judges validity."""
    scans, progressive, coefficient_bytes = 0, False, 0
    position = 2  # after SOI
    while position + 4 <= len(data) and scans <= stop_after_scans:
        if data[position] != 0xFF:
            break
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte before a marker
            position += 1
            continue
        if marker in _STANDALONE_MARKERS:
            position += 2
            continue
        if marker == _EOI:
            break
        (length,) = struct.unpack_from(">H", data, position + 2)
        segment = data[position + 4 : position + 2 + length]
        position += 2 + length
        if marker in _FRAME_MARKERS and coefficient_bytes == 0:
            progressive = marker in _PROGRESSIVE_MARKERS
            coefficient_bytes = _coefficient_bytes(segment)
        elif marker == _SOS:
            scans += 1
            position = _end_of_entropy_coded_data(data, position)
    return JpegStructure(scans=scans, progressive=progressive, coefficient_bytes=coefficient_bytes)


def _coefficient_bytes(frame: bytes) -> int:
    """Size of libjpeg's full-image coefficient arrays: each component padded to whole MCUs."""
    if len(frame) < 6:
        return 0
    _, height, width, count = struct.unpack_from(">BHHB", frame)
    components = [
        (frame[6 + 3 * i + 1] >> 4, frame[6 + 3 * i + 1] & 0x0F) for i in range(count) if 8 + 3 * i < len(frame)
    ]
    if not components or any(h == 0 or v == 0 for h, v in components):
        return 0
    h_max, v_max = max(h for h, _ in components), max(v for _, v in components)
    mcus_wide, mcus_high = math.ceil(width / (8 * h_max)), math.ceil(height / (8 * v_max))
    blocks = sum(mcus_wide * h * mcus_high * v for h, v in components)
    return blocks * 64 * _BYTES_PER_COEFFICIENT


def _end_of_entropy_coded_data(data: bytes, position: int) -> int:
    """Index of the next marker after a scan's entropy-coded data (0xFF00 is a stuffed byte, 0xFFD0-D7 a restart)."""
    while True:
        position = data.find(b"\xff", position)
        if position < 0 or position + 1 >= len(data):
            return len(data)
        following = data[position + 1]
        if following == 0x00 or 0xD0 <= following <= 0xD7:
            position += 2
        elif following == 0xFF:
            position += 1
        else:
            return position
