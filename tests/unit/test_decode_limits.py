"""Decoding untrusted files is bounded in work and memory before it starts (issue 12, D4-D6 and tiny images).

Peak memory is measured in a fresh process per file from /proc/self/status VmHWM (peak resident memory): Pillow
and libjpeg allocate outside Python's allocator, so tracemalloc would not see them. The figures printed with `-s`
are those in docs/reliability.md:

    .venv/bin/python -m pytest tests/unit/test_decode_limits.py -s -q
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from corpus import builders
from corpus.manifest import BY_NAME, CASES
from PIL import Image

from imagetagger.errors import InvalidImageError
from imagetagger.jpeg_structure import read_structure
from imagetagger.modelspec import SERVING_INPUT_SIZE
from imagetagger.preprocessing import MAX_JPEG_SCANS, decode_image, prepare_upload

PEAK_MEMORY_LIMIT_MB = 512
SCAN_BOMB_ANSWER_S = 5.0

# The accepted files that are expensive to decode: big corpus entries, and files at the limits we accept.
_MEASURE = """
import re, sys, time
from PIL import Image
from imagetagger.preprocessing import prepare_upload
# Pillow imports its format plugins on the first open: a once-per-process cost (more where the set-up left no
# bytecode to compile), not a decode's, so it happens before the baseline.
Image.init()
def peak_kb():  # VmHWM: this process's peak resident memory (ru_maxrss would start at the forking parent's)
    return int(re.search(r"VmHWM:\\s+(\\d+) kB", open("/proc/self/status").read()).group(1))
data = open(sys.argv[1], "rb").read()
before = peak_kb()
started = time.perf_counter()
prepare_upload(data)
elapsed = time.perf_counter() - started
print((peak_kb() - before) / 1024, elapsed)
"""


def _progressive_jpeg_at_the_pixel_limit() -> bytes:
    """7071x7071 (50 Mpx) progressive 4:2:0: libjpeg holds all 150 MB of its coefficients whatever the draft size."""
    buffer = io.BytesIO()
    Image.new("RGB", (7071, 7071), (90, 140, 60)).save(buffer, "JPEG", quality=50, progressive=True)
    return buffer.getvalue()


def _rgb_png_at_the_pixel_limit() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (7071, 7071), (90, 140, 60)).save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


LARGE_ACCEPTED = {
    **{case.name: case.data for case in CASES if case.tagged and not case.committed},
    "progressive_jpeg_50mpx": _progressive_jpeg_at_the_pixel_limit,
    "rgb_png_50mpx": _rgb_png_at_the_pixel_limit,
}


@pytest.mark.parametrize("name", sorted(LARGE_ACCEPTED))
def test_peak_memory_while_decoding_an_accepted_file_stays_under_512_mb(name, tmp_path: Path):
    path = tmp_path / name
    path.write_bytes(LARGE_ACCEPTED[name]())
    result = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(path)], capture_output=True, text=True, timeout=300, check=True
    )
    peak_mb, seconds = (float(value) for value in result.stdout.split())
    print(f"\n{name}: {path.stat().st_size} bytes, decode peak +{peak_mb:.0f} MB, {seconds:.2f} s")
    assert peak_mb < PEAK_MEMORY_LIMIT_MB


@pytest.mark.parametrize("name", ["scan_bomb_jpeg", "scan_bomb_jpeg_4mb"])
def test_scan_bombs_are_refused_before_decoding(name):
    data = BY_NAME[name].data()
    started = time.perf_counter()
    with pytest.raises(InvalidImageError, match="scans"):
        prepare_upload(data)
    elapsed = time.perf_counter() - started
    print(f"\n{name}: {len(data)} bytes refused in {elapsed * 1000:.1f} ms")
    assert elapsed < SCAN_BOMB_ANSWER_S / 10


def test_scans_are_counted_from_markers_not_from_bytes_that_look_like_them():
    # Pillow's progressive script has 10 scans, a baseline JPEG one; "\xff\xda" inside a comment segment is no scan.
    buffer = io.BytesIO()
    Image.new("RGB", (160, 120), "teal").save(buffer, "JPEG", progressive=True)
    progressive = buffer.getvalue()
    comment = b"\xff\xfe" + (2 + 4000).to_bytes(2, "big") + b"\xff\xda" * 2000
    assert read_structure(progressive, MAX_JPEG_SCANS).scans == 10
    assert read_structure(progressive[:2] + comment + progressive[2:], MAX_JPEG_SCANS).scans == 10
    assert read_structure(builders.jpeg(), MAX_JPEG_SCANS).scans == 1
    assert read_structure(BY_NAME["scan_bomb_jpeg"].data(), MAX_JPEG_SCANS).scans == MAX_JPEG_SCANS + 1  # stops


def test_a_progressive_jpeg_just_under_the_scan_limit_is_tagged():
    data = builders.scan_bomb_jpeg(0)  # the base image plus one repeated scan: 11 scans
    assert read_structure(data, MAX_JPEG_SCANS).scans == 11
    assert prepare_upload(data).shape == (SERVING_INPUT_SIZE, SERVING_INPUT_SIZE, 3)


def test_a_progressive_jpeg_whose_coefficients_exceed_the_budget_is_refused_unread():
    # 7000x7000 4:4:4: 294 MB of coefficients (baseline JPEGs of that size decode in draft mode and are accepted).
    buffer = io.BytesIO()
    Image.new("RGB", (7000, 7000), "navy").save(buffer, "JPEG", quality=50, progressive=True, subsampling=0)
    with pytest.raises(InvalidImageError, match="progressive JPEG is too large"):
        decode_image(buffer.getvalue())


@pytest.mark.parametrize("size", [(79, 200), (200, 79), (1, 1), (8000, 2)])
def test_images_too_small_to_tag_are_refused_with_the_minimum(size):
    buffer = io.BytesIO()
    Image.new("RGB", size, "white").save(buffer, "PNG")
    with pytest.raises(InvalidImageError, match="too small to tag \\(at least 80 px on each side\\)"):
        prepare_upload(buffer.getvalue())


def test_the_smallest_taggable_image_is_tagged_and_training_may_decode_smaller_ones():
    buffer = io.BytesIO()
    Image.new("RGB", (80, 80), "white").save(buffer, "PNG")
    assert prepare_upload(buffer.getvalue()).shape == (SERVING_INPUT_SIZE, SERVING_INPUT_SIZE, 3)
    small = io.BytesIO()
    Image.new("RGB", (40, 30), "white").save(small, "PNG")
    assert decode_image(small.getvalue()).size == (40, 30)  # a small COCO photo is still a training example


def test_a_file_that_decodes_slower_than_the_budget_is_a_bad_file(monkeypatch):
    from imagetagger import preprocessing

    monkeypatch.setattr(preprocessing, "DECODE_BUDGET_S", 0.0)
    with pytest.raises(InvalidImageError, match="to decode; at most 0 s are allowed"):
        prepare_upload(builders.jpeg())


def test_large_images_are_reduced_before_conversion_and_keep_their_content():
    # A 16-bit ramp reduced in bands must still span black to white, left to right, without seams between bands.
    image = decode_image(BY_NAME["large_sixteen_bit_png"].data())
    assert image.mode == "RGB" and max(image.size) >= 2048
    row = [image.getpixel((x, image.height // 2))[0] for x in range(0, image.width, image.width // 8)]
    column = {image.getpixel((image.width // 3, y))[0] for y in range(0, image.height, 97)}
    assert min(row) < 30 and max(row) > 200 and len(column) == 1
    print(json.dumps({"reduced_to": image.size}))


_MEASURE_CONCURRENT = """
import re, sys
from concurrent.futures import ThreadPoolExecutor
from PIL import Image
from imagetagger.preprocessing import prepare_upload
Image.init()  # as above: the plugins' imports are not the decodes' memory
def peak_kb():
    return int(re.search(r"VmHWM:\\s+(\\d+) kB", open("/proc/self/status").read()).group(1))
files = [open(path, "rb").read() for path in sys.argv[1:]]
before = peak_kb()
with ThreadPoolExecutor(len(files)) as pool:  # as the processing function decodes a batch
    list(pool.map(prepare_upload, files))
print((peak_kb() - before) / 1024)
"""


def test_large_files_decoded_on_several_threads_take_turns_so_memory_stays_bounded(tmp_path: Path):
    names = ["large_sixteen_bit_png", "large_float_tiff", "large_rgba_png"]
    paths = []
    for name in names:
        paths.append(tmp_path / name)
        paths[-1].write_bytes(BY_NAME[name].data())
    result = subprocess.run(
        [sys.executable, "-c", _MEASURE_CONCURRENT, *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    peak_mb = float(result.stdout)
    print(f"\nthree large files on three threads: decode peak +{peak_mb:.0f} MB")
    assert peak_mb < PEAK_MEMORY_LIMIT_MB
