"""The one preprocessing definition shared by training, the Lambda and the endpoint.

Decoding is defensive because uploads are untrusted; the geometric transform squashes the whole image to a square
because multi-label tagging must not crop objects at the edges away.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from imagetagger.errors import InvalidImageError

DEFAULT_SIZE = 224
# Formats Pillow may open. Everything else (SVG, PDF, HTML, ...) is rejected before decoding.
ACCEPTED_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF"})
# Decompression-bomb guard: 50 megapixels is far above any phone camera's output.
MAX_PIXELS = 50_000_000


def decode_image(data: bytes, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Decode untrusted bytes into an EXIF-oriented RGB image, or raise InvalidImageError with a reason."""
    if not data:
        raise InvalidImageError("the file is empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image: Image.Image = Image.open(io.BytesIO(data), formats=sorted(ACCEPTED_FORMATS))
            if image.width * image.height > max_pixels:
                raise InvalidImageError(
                    f"the image is {image.width}x{image.height} pixels; at most {max_pixels} pixels are accepted"
                )
            image.draft("RGB", (DEFAULT_SIZE * 2, DEFAULT_SIZE * 2))  # JPEG only: decode near the target size
            image.load()
            image = ImageOps.exif_transpose(image)
            return _to_rgb(image)
    except InvalidImageError:
        raise
    except UnidentifiedImageError as exc:
        raise InvalidImageError("the file is not a supported image (JPEG, PNG, WebP, GIF, BMP or TIFF)") from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InvalidImageError("the image has too many pixels (decompression bomb guard)") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise InvalidImageError(f"the image could not be decoded: {exc}") from exc


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode == "RGB":
        return image
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        # 16-bit and float greyscale: rescale to 8 bits by the image's own range instead of clipping.
        array = np.asarray(image, dtype=np.float64)
        # NaN/inf pixels (float TIFFs) would poison the range; scale by the finite ones and clamp the rest.
        finite = array[np.isfinite(array)]
        low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
        array = np.nan_to_num(array, nan=low, posinf=high, neginf=low)
        scaled = np.zeros_like(array) if high <= low else (array - low) * (255.0 / (high - low))
        return Image.fromarray(scaled.astype(np.uint8), "L").convert("RGB")
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        # Composite transparency onto white, as a viewer would show it.
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def prepare(image: Image.Image, size: int = DEFAULT_SIZE) -> np.ndarray:
    """Squash an RGB image to `size`x`size`; returns uint8 [size, size, 3], the model's input layout."""
    if image.mode != "RGB":
        image = _to_rgb(image)
    resized = image.resize((size, size), Image.Resampling.BILINEAR, reducing_gap=3.0)
    return np.asarray(resized, dtype=np.uint8)


def prepare_bytes(data: bytes, size: int = DEFAULT_SIZE) -> np.ndarray:
    """decode_image + prepare: untrusted bytes to one model input."""
    return prepare(decode_image(data), size)
