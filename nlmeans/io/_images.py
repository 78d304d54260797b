"""Single images: PNG (8- and 16-bit), JPEG, BMP, GIF and others Pillow reads.

16-bit PNGs are decoded by :mod:`nlmeans.io._png16` (Pillow truncates 16-bit
color), everything else by Pillow, with the EXIF orientation applied,
palette and CMYK/YCbCr/LAB/HSV converted to RGB (RGBA when a palette has
transparency), bilevel to 8-bit gray. The declared size is checked against
memory before decoding.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from ..errors import NLMeansError
from ._checks import check_declared
from ._picture import ImageFileError, error_reason
from ._png16 import decode as decode_png16
from ._png_chunks import PNGError, check_image_chunks, max_compressed, read_header

# Pillow modes converted on reading: everything else that is not listed in
# _NATIVE_MODES becomes RGB.
_NATIVE_MODES = {"L", "LA", "RGB", "RGBA", "I;16", "I;16B", "I;16L", "F"}
_CONVERT_MODES = {"1": "L", "PA": "RGBA", "RGBa": "RGBA", "La": "LA", "RGBX": "RGB"}


def png_checked_depth(path: Path) -> int:
    """Return a PNG's bit depth, after checking its declared size (palette counts as RGB)."""
    with open(path, "rb") as handle:
        head = handle.read(33)
    try:
        width, height, depth, color, _ = read_header(head)
    except PNGError as error:
        raise ImageFileError(path, str(error)) from None
    channels = {0: 1, 2: 3, 3: 4, 4: 2, 6: 4}.get(color, 4)
    check_declared(path, height, width, channels, 2 if depth == 16 else 1)
    if depth != 16:  # Pillow decodes it: check the chunks by the 16-bit decoder's rule first
        try:
            with open(path, "rb") as handle:
                check_image_chunks(handle, max_compressed(width, height, depth, color))
        except PNGError as error:
            raise ImageFileError(path, str(error)) from None
    return depth


def read_png16(path: Path) -> np.ndarray:
    """Decode a 16-bit PNG in bounded reads, with its eXIf orientation applied.

    As for 8-bit PNGs, which Pillow reads.
    """
    try:
        with open(path, "rb") as handle:
            return np.ascontiguousarray(decode_png16(handle, oriented=True))
    except PNGError as error:
        raise ImageFileError(path, str(error)) from None
    except OSError as error:
        raise ImageFileError(path, f"cannot be read ({error.strerror or error})") from None


def read_pillow(path: Path, kind: str | None) -> np.ndarray:
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            # Sizes between Pillow's warning and error limits are checked against memory below.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(path)  # reads the header only
        with image:
            width, height = image.size
            mode = image.mode
            bands = len(image.getbands())
            itemsize = 4 if mode in ("F", "I", "I;32") else 2 if mode.startswith("I;16") else 1
            check_declared(path, height, width, max(bands, 3 if mode == "P" else 1), itemsize)
            frames = getattr(image, "n_frames", 1)
            if frames > 1 and image.format != "MPO":  # MPO: camera JPEG + preview, take the first
                raise ImageFileError(
                    path,
                    f"is an animated/multi-frame {image.format} ({frames} frames); "
                    "nlmeans denoises single images — extract a frame first",
                )
            image.load()
            oriented = ImageOps.exif_transpose(image)
            return np.asarray(_to_supported_mode(oriented))
    except ImageFileError:
        raise
    except Image.DecompressionBombError as error:
        raise ImageFileError(path, f"refused before decoding: {error}") from None
    except UnidentifiedImageError:
        expected = "PNG, JPEG, TIFF, BMP or another format Pillow reads"
        what = f"a readable {kind} (truncated or corrupt)" if kind else f"an image ({expected})"
        raise ImageFileError(path, f"is not {what}") from None
    except Exception as error:  # Pillow raises OSError, SyntaxError, ValueError...
        raise ImageFileError(path, f"is truncated or corrupt ({error_reason(error)})") from None


def _to_supported_mode(image):
    """Convert a Pillow image to one of the modes read as-is (see the module docstring)."""
    mode = image.mode
    if mode in _NATIVE_MODES:
        return image
    if mode == "P":
        return image.convert("RGBA" if "transparency" in image.info else "RGB")
    if mode in _CONVERT_MODES:
        return image.convert(_CONVERT_MODES[mode])
    if mode in ("I", "I;32"):
        raise NLMeansError(f"32-bit integer images (Pillow mode {mode}) are not supported")
    return image.convert("RGB")  # CMYK, YCbCr, LAB, HSV
