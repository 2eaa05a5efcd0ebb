"""The one preprocessing definition shared by training, the Lambda and the endpoint.

Decoding is defensive because uploads are untrusted; the geometric transform squashes the whole image to a square
because multi-label tagging must not crop objects at the edges away.
"""

from __future__ import annotations

import io
import time
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from PIL import Image, UnidentifiedImageError

from imagetagger.errors import InvalidImageError
from imagetagger.jpeg_structure import read_structure
from imagetagger.media import ACCEPTED_FORMATS
from imagetagger.modelspec import SERVING_INPUT_SIZE

# Decompression-bomb guard: 50 megapixels is far above any phone camera's output.
MAX_PIXELS = 50_000_000
# What a decoder may hold at once: 50 megapixels at Pillow's 4 bytes a pixel (RGB is stored as RGBX), and the
# whole-image coefficient buffer of a progressive JPEG (2 bytes per coefficient, 64 per 8x8 block and component).
MAX_DECODED_BYTES = 200 * 1024 * 1024
# A progressive JPEG has about 10 scans (libjpeg's default script); each costs a pass over the whole image.
MAX_JPEG_SCANS = 100
# Rekognition refuses images under 80 px on a side; squashed to the model's square they carry no usable detail.
MIN_SIDE_PX = 80
# Wider than a 20:1 strip, squashing to a square leaves nothing recognisable.
MAX_ASPECT_RATIO = 20
# Larger images are reduced (box filter, in bands) to at least this long side before any conversion, so that no
# conversion copies a 50-megapixel image; the model looks at 224-280 px and prepare() reduces further anyway.
WORK_EDGE_PX = 2048
_BAND_ROWS = 512
# Large decodes run one at a time, on one thread: the processing function decodes a batch's images on several
# threads, and three of 300 MB at once would not fit the template's 1024 MB function. One thread, not a lock: malloc
# keeps a thread's freed memory in that thread's arena, so large decodes on many threads would hold 300 MB each.
LARGE_DECODE_BYTES = 64 * 1024 * 1024
_LARGE_DECODER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="large-decode")
# Decoding any accepted file takes a few seconds at most (docs/reliability.md); longer means a file built to be slow.
DECODE_BUDGET_S = 10.0
# Bytes per pixel of Pillow's storage, by mode; every other mode takes 4.
_STORAGE_BYTES = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16L": 2, "I;16B": 2, "I;16N": 2}


def decode_image(
    data: bytes, max_pixels: int = MAX_PIXELS, *, taggable_only: bool = False, budget_s: float | None = None
) -> Image.Image:
    """Decode untrusted bytes into an EXIF-oriented RGB image, or raise InvalidImageError with a reason.

    Work and memory are bounded before decoding starts (pixels, bytes the decoder will hold, JPEG scans), and images
    larger than WORK_EDGE_PX are reduced before conversion. `taggable_only` also refuses images too small or too
    narrow to tag (a user's photo; a small training example is still a labelled example). `budget_s`: the most CPU
    time decoding may take (the decoding thread's own time, so neither a busy machine nor waiting counts)."""
    if not data:
        raise InvalidImageError("the file is empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image: Image.Image = Image.open(io.BytesIO(data), formats=sorted(ACCEPTED_FORMATS))
            _check_size(image, max_pixels)
            if taggable_only:
                _check_taggable(*image.size)
            coefficient_bytes = 0
            if image.format == "JPEG":
                coefficient_bytes = _check_jpeg(data)
                # decode near the target size (DCT scaling)
                image.draft("RGB", (SERVING_INPUT_SIZE * 2, SERVING_INPUT_SIZE * 2))
            if max(coefficient_bytes, _storage_bytes(image)) > LARGE_DECODE_BYTES:
                return _LARGE_DECODER.submit(_load_to_rgb, image, budget_s).result()
            return _load_to_rgb(image, budget_s)
    except InvalidImageError:
        raise
    except UnidentifiedImageError as exc:
        raise InvalidImageError("the file is not a supported image (JPEG, PNG, WebP, GIF, BMP or TIFF)") from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InvalidImageError("the image has too many pixels (decompression bomb guard)") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise InvalidImageError(f"the image could not be decoded: {exc}") from exc


def _load_to_rgb(image: Image.Image, budget_s: float | None) -> Image.Image:
    started = time.thread_time()
    image.load()
    orientation = image.getexif().get(_ORIENTATION_TAG)
    rgb = _apply_orientation(_to_rgb(_reduce(image, max(image.size) // WORK_EDGE_PX)), orientation)
    spent = time.thread_time() - started
    if budget_s is not None and spent > budget_s:
        raise InvalidImageError(f"the image took {spent:.0f} s to decode; at most {budget_s:.0f} s are allowed")
    return rgb


def _storage_bytes(image: Image.Image) -> int:
    return image.width * image.height * _STORAGE_BYTES.get(image.mode, 4)


def _check_size(image: Image.Image, max_pixels: int) -> None:
    width, height = image.size
    if width * height > max_pixels:
        raise InvalidImageError(f"the image is {width}x{height} pixels; at most {max_pixels} pixels are accepted")
    if _storage_bytes(image) > MAX_DECODED_BYTES:
        raise InvalidImageError(f"the image is {width}x{height} pixels of mode {image.mode}: too large to decode")


def _check_taggable(width: int, height: int) -> None:
    if min(width, height) < MIN_SIDE_PX:
        raise InvalidImageError(
            f"the image is {width}x{height} pixels: too small to tag (at least {MIN_SIDE_PX} px on each side)"
        )
    if max(width, height) > MAX_ASPECT_RATIO * max(min(width, height), 1):
        raise InvalidImageError(
            f"the image is {width}x{height} pixels: too narrow to tag (at most {MAX_ASPECT_RATIO}:1)"
        )


def _check_jpeg(data: bytes) -> int:
    """The bytes of coefficients a progressive decode will hold (0 for a baseline JPEG), once the file passes."""
    structure = read_structure(data, stop_after_scans=MAX_JPEG_SCANS)
    if structure.scans > MAX_JPEG_SCANS:
        raise InvalidImageError(
            f"the JPEG has more than {MAX_JPEG_SCANS} scans (a normal photo has at most a few dozen); "
            "it would take too long to decode"
        )
    if structure.progressive and structure.coefficient_bytes > MAX_DECODED_BYTES:
        raise InvalidImageError("the progressive JPEG is too large to decode (save it as a baseline JPEG)")
    return structure.coefficient_bytes if structure.progressive else 0


def _reduce(image: Image.Image, factor: int) -> Image.Image:
    """`image` reduced by an integer factor (box filter), band by band so no full-size converted copy exists."""
    if factor <= 1:
        return image
    width, height = image.size
    band_rows = factor * max(1, _BAND_ROWS // factor)  # every band but the last a whole number of boxes
    bands = [
        _reducible(image.crop((0, top, width, min(top + band_rows, height)))).reduce(factor)
        for top in range(0, height, band_rows)
    ]
    reduced = Image.new(bands[0].mode, (bands[0].width, sum(band.height for band in bands)))
    top = 0
    for band in bands:
        reduced.paste(band, (0, top))
        top += band.height
    if "transparency" in image.info and reduced.mode == image.mode:
        reduced.info["transparency"] = image.info["transparency"]
    return reduced


def _reducible(band: Image.Image) -> Image.Image:
    """The band in a mode Image.reduce supports (not 1, P or the 16-bit modes), losing nothing _to_rgb needs."""
    if band.mode.startswith("I;16"):
        return band.convert("I")
    if band.mode == "P":
        return band.convert("RGBA" if "transparency" in band.info else "RGB")
    if band.mode == "1":
        return band.convert("L")
    return band


def _apply_orientation(image: Image.Image, orientation: object) -> Image.Image:
    method = _TRANSPOSE_FOR_ORIENTATION.get(orientation) if isinstance(orientation, int) else None
    return image if method is None else image.transpose(method)


_ORIENTATION_TAG = 0x0112
# EXIF orientation -> the transpose that shows the photo upright (as ImageOps.exif_transpose; others are ignored).
_TRANSPOSE_FOR_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode == "RGB":
        return image
    if image.mode.startswith("I;16") or image.mode in ("I", "F"):
        # 16-bit and float greyscale: rescale to 8 bits by the image's own range instead of clipping. The image is
        # at most WORK_EDGE_PX here, so the float copy is small.
        array = np.asarray(image, dtype=np.float64)
        # NaN/inf pixels (float TIFFs) would poison the range; scale by the finite ones and clamp the rest.
        finite = array[np.isfinite(array)]
        low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
        array = np.nan_to_num(array, nan=low, posinf=high, neginf=low)
        scaled = np.zeros_like(array) if high <= low else (array - low) / (high - low) * 255.0
        # Rounding can leave a hair outside [0, 255]; a cast of such a value is undefined (numpy warns).
        return Image.fromarray(np.clip(scaled, 0, 255).astype(np.uint8), "L").convert("RGB")
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        # Composite transparency onto white, as a viewer would show it.
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def prepare(image: Image.Image, size: int = SERVING_INPUT_SIZE) -> np.ndarray:
    """Squash an RGB image to `size`x`size`; returns uint8 [size, size, 3], the model's input layout."""
    if image.mode != "RGB":
        image = _to_rgb(image)
    resized = image.resize((size, size), Image.Resampling.BILINEAR, reducing_gap=3.0)
    return np.asarray(resized, dtype=np.uint8)


def prepare_bytes(data: bytes, size: int = SERVING_INPUT_SIZE) -> np.ndarray:
    """decode_image + prepare: untrusted bytes to one model input."""
    return prepare(decode_image(data), size)


def prepare_upload(data: bytes, size: int = SERVING_INPUT_SIZE) -> np.ndarray:
    """A user's photo to one model input, refusing (InvalidImageError) what cannot be tagged: POST /tag and uploads.

    The limits above bound decoding to a few seconds; a file that still costs more than DECODE_BUDGET_S is refused
    as a bad file, not retried: decoding it again would cost as much (the model's own time budget is separate)."""
    return prepare(decode_image(data, taggable_only=True, budget_s=DECODE_BUDGET_S), size)
