"""Reading and writing image files: checked, lossless in bit depth, written atomically.

Reading recognises the format from the file's first bytes (not its name) and
checks the declared size before decoding anything:

- PNG: 8-bit and palette PNGs through Pillow; 16-bit PNGs (gray, gray+alpha,
  RGB, RGBA) through :mod:`nlmeans.png16`, since Pillow truncates 16-bit color.
- TIFF: through tifffile (8/16-bit integers, 32/64-bit floats).
- JPEG, BMP and other single images Pillow knows: through Pillow, with the EXIF
  orientation applied, palette and CMYK/YCbCr/LAB/HSV converted to RGB (RGBA
  when a palette has transparency), bilevel to 8-bit gray.

Writing encodes the whole file in memory first, then writes it to a hidden
temporary file in the output's folder, flushes it to disk and renames it into
place: an interrupted or failed run leaves either the old file or the complete
new one, never a partial one.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import png16
from .errors import NLMeansError
from .memory import check_memory, denoise_bytes

#: Extensions nlmeans writes (lower case, with the dot).
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")

#: Output extension -> (dtypes it stores, channel counts it stores, what to say otherwise).
FORMATS = {
    ".png": ((np.uint8, np.uint16), (1, 2, 3, 4), "PNG stores 8- or 16-bit integers"),
    ".jpg": ((np.uint8,), (1, 3), "JPEG stores 8-bit gray or RGB without alpha"),
    ".jpeg": ((np.uint8,), (1, 3), "JPEG stores 8-bit gray or RGB without alpha"),
    ".bmp": ((np.uint8,), (1, 3), "BMP stores 8-bit gray or RGB"),
    ".tif": ((np.uint8, np.uint16, np.float32, np.float64), (1, 2, 3, 4), ""),
    ".tiff": ((np.uint8, np.uint16, np.float32, np.float64), (1, 2, 3, 4), ""),
}

#: JPEG quality used when writing (Pillow's default of 75 visibly degrades a denoised image).
JPEG_QUALITY = 95

# Pillow modes converted on reading: everything else that is not listed in
# _NATIVE_MODES becomes RGB.
_NATIVE_MODES = {"L", "LA", "RGB", "RGBA", "I;16", "I;16B", "I;16L", "F"}
_CONVERT_MODES = {"1": "L", "PA": "RGBA", "RGBa": "RGBA", "La": "LA", "RGBX": "RGB"}

_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"II+\x00", "TIFF"),
    (b"MM\x00+", "TIFF"),
    (b"BM", "BMP"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
)


@dataclass
class Picture:
    """An image file's content: the color or gray ``pixels`` and an optional ``alpha``.

    ``pixels`` is (H, W) for gray or (H, W, C) for color; ``alpha`` is (H, W)
    or None. Both keep the file's dtype.
    """

    pixels: np.ndarray
    alpha: np.ndarray | None = None

    @property
    def channel_axis(self) -> int | None:
        return None if self.pixels.ndim == 2 else -1

    @property
    def channels(self) -> int:
        """Channels of the full image, alpha included."""
        color = 1 if self.pixels.ndim == 2 else self.pixels.shape[-1]
        return color + (self.alpha is not None)

    def with_pixels(self, pixels: np.ndarray) -> np.ndarray:
        """The full array to write: ``pixels`` with this picture's alpha re-attached."""
        if self.alpha is None:
            return pixels
        color = pixels if pixels.ndim == 3 else pixels[..., np.newaxis]
        return np.concatenate([color, self.alpha[..., np.newaxis]], axis=-1)


class ImageFileError(NLMeansError):
    """A file that cannot be read or written; the message starts with its path."""

    def __init__(self, path, problem: str):
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


def check_extension(path: Path) -> None:
    """Raise ImageFileError unless ``path`` has an extension nlmeans can write."""
    if path.suffix.lower() not in IMAGE_EXTENSIONS:
        allowed = ", ".join(IMAGE_EXTENSIONS)
        raise ImageFileError(
            path, f"cannot write extension {path.suffix or '(none)'!r}; use one of {allowed}"
        )


def check_format(path: Path, dtype, channels: int) -> None:
    """Raise ImageFileError unless ``path``'s format can store this pixel type losslessly.

    Called before denoising, so that a float TIFF is not computed for minutes
    and then refused by a PNG writer.
    """
    path = Path(path)
    check_extension(path)
    dtypes, counts, rule = FORMATS[path.suffix.lower()]
    dtype = np.dtype(dtype)
    if dtype not in dtypes or channels not in counts:
        kind = {1: "gray", 2: "gray+alpha", 3: "RGB", 4: "RGBA"}.get(
            channels, f"{channels}-channel"
        )
        fits = [
            e
            for e in (".png", ".tif", ".jpg", ".bmp")
            if dtype in FORMATS[e][0] and channels in FORMATS[e][1]
        ]
        instead = f"write it as {' or '.join(fits)} instead" if fits else "it cannot be written"
        raise ImageFileError(path, f"{rule}; this image is {kind} {dtype.name} — {instead}")


def check_folder_writable(path: Path) -> None:
    """Raise ImageFileError unless a file can be created in ``path``'s folder.

    Probes by creating and deleting a hidden temporary file, which also
    catches read-only mounts and is right for the root user.
    """
    folder = path.parent
    if not folder.exists():
        raise ImageFileError(path, f"output folder {folder} does not exist")
    if not folder.is_dir():
        raise ImageFileError(path, f"output folder {folder} is not a folder")
    try:
        handle, probe = tempfile.mkstemp(dir=folder, prefix=".nlmeans-probe-")
    except OSError as error:
        raise ImageFileError(
            path, f"output folder {folder} is not writable ({error.strerror})"
        ) from None
    os.close(handle)
    os.unlink(probe)


# --------------------------------------------------------------------- reading


def read_image(path) -> Picture:
    """Read an image file into a :class:`Picture` (gray, gray+alpha, RGB or RGBA).

    Raises
    ------
    ImageFileError
        The file is missing, a folder, empty, not an image, truncated or
        corrupt, a multi-frame image, of an unsupported pixel type, or declares
        a size that would not fit in memory (checked before decoding).
    """
    path = Path(path)
    if not path.exists():
        raise ImageFileError(path, "no such file")
    if path.is_dir():
        raise ImageFileError(path, "is a directory, expected an image file")
    if not path.is_file():
        raise ImageFileError(path, "is not a regular file")
    if path.stat().st_size == 0:
        raise ImageFileError(path, "file is empty (0 bytes)")
    try:
        with open(path, "rb") as handle:
            head = handle.read(16)
    except OSError as error:
        raise ImageFileError(path, f"cannot be read ({error.strerror})") from None
    kind = next((name for magic, name in _MAGIC if head.startswith(magic)), None)
    if kind == "PNG" and _png_checked_depth(path) == 16:
        array = _read_png16(path)
    elif kind == "TIFF":
        array = _read_tiff(path)
    else:
        array = _read_pillow(path, kind)
    return split_alpha(path, array)


def _check_declared(path, height: int, width: int, channels: int, itemsize: int) -> None:
    """Refuse, before decoding, a declared size that cannot be decoded and denoised."""
    needed = height * width * channels * itemsize + denoise_bytes(height, width, channels, itemsize)
    try:
        check_memory(
            needed, f"declares {width}x{height} pixels ({channels} channels); denoising it"
        )
    except NLMeansError as error:
        raise ImageFileError(path, str(error)) from None


def _png_checked_depth(path: Path) -> int:
    """A PNG's bit depth, after checking its declared size (palette counts as RGB)."""
    with open(path, "rb") as handle:
        head = handle.read(33)
    try:
        width, height, depth, color, _ = png16.read_header(head)
    except png16.PNGError as error:
        raise ImageFileError(path, str(error)) from None
    channels = {0: 1, 2: 3, 3: 4, 4: 2, 6: 4}.get(color, 4)
    _check_declared(path, height, width, channels, 2 if depth == 16 else 1)
    return depth


def _read_png16(path: Path) -> np.ndarray:
    data = path.read_bytes()
    try:
        return png16.decode(data)
    except png16.PNGError as error:
        raise ImageFileError(path, str(error)) from None


def _read_tiff(path: Path) -> np.ndarray:
    import tifffile

    try:
        with tifffile.TiffFile(path) as tiff:
            full = [page for page in tiff.pages if not page.subfiletype & 1]  # not thumbnails
            series = tiff.series[0]
            extra = set(series.get_axes(squeeze=True)) - set("YXS")
            if len(full) > 1 or extra:
                raise ImageFileError(
                    path,
                    f"is a multi-page TIFF ({max(len(full), 2)} pages, shape {series.shape}); "
                    "nlmeans denoises single images — save the pages as separate files",
                )
            photometric = tiff.pages[0].photometric.name
            if photometric not in ("MINISBLACK", "RGB"):
                raise ImageFileError(
                    path, f"TIFF with {photometric} color is not supported; save it as gray or RGB"
                )
            shape, axes = series.shape, series.axes
            channels = shape[axes.index("S")] if "S" in axes else 1
            height, width = shape[axes.index("Y")], shape[axes.index("X")]
            _check_declared(path, height, width, channels, series.dtype.itemsize)
            array = series.asarray()
    except ImageFileError:
        raise
    except Exception as error:  # tifffile raises many types for corrupt files
        raise ImageFileError(path, f"is not a readable TIFF ({_reason(error)})") from None
    if "S" in axes and axes.index("S") < axes.index("Y"):
        array = np.moveaxis(array, axes.index("S"), -1)  # planar RGB -> (H, W, C)
    return array


def _read_pillow(path: Path, kind: str | None) -> np.ndarray:
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
            _check_declared(path, height, width, max(bands, 3 if mode == "P" else 1), itemsize)
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
        raise ImageFileError(path, f"is truncated or corrupt ({_reason(error)})") from None


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


def _reason(error: Exception) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0]


def split_alpha(path, array: np.ndarray) -> Picture:
    """Separate the alpha channel of a gray+alpha or RGBA array."""
    if array.dtype not in (np.uint8, np.uint16, np.float32, np.float64):
        raise ImageFileError(
            path,
            f"unsupported pixel type {array.dtype}; expected uint8, uint16, float32 or float64",
        )
    if array.ndim == 2:
        return Picture(array)
    if array.ndim == 3 and array.shape[-1] == 1:
        return Picture(array[..., 0])
    if array.ndim == 3 and array.shape[-1] == 2:
        return Picture(array[..., 0], array[..., 1])
    if array.ndim == 3 and array.shape[-1] == 3:
        return Picture(array)
    if array.ndim == 3 and array.shape[-1] == 4:
        return Picture(array[..., :3], array[..., 3])
    raise ImageFileError(path, f"unsupported image layout {array.shape}")


# --------------------------------------------------------------------- writing


def encode_image(path: Path, array: np.ndarray) -> bytes:
    """The bytes of ``array`` encoded in the format ``path``'s extension names."""
    path = Path(path)
    check_format(path, array.dtype, 1 if array.ndim == 2 else array.shape[-1])
    suffix = path.suffix.lower()
    if suffix in (".tif", ".tiff"):
        import tifffile

        buffer = io.BytesIO()
        channels = 1 if array.ndim == 2 else array.shape[-1]
        options = {"photometric": "rgb" if channels >= 3 else "minisblack"}
        if channels in (2, 4):
            options.update(planarconfig="contig", extrasamples=["unassalpha"])
        tifffile.imwrite(buffer, array, compression="zlib", **options)
        return buffer.getvalue()
    if suffix == ".png" and array.dtype == np.uint16:
        return png16.encode(array)
    from PIL import Image

    buffer = io.BytesIO()
    options = {"quality": JPEG_QUALITY} if suffix in (".jpg", ".jpeg") else {}
    Image.fromarray(np.ascontiguousarray(array)).save(
        buffer, format={".jpg": "JPEG", ".jpeg": "JPEG"}.get(suffix, suffix[1:].upper()), **options
    )
    return buffer.getvalue()


def write_image(path, array: np.ndarray) -> None:
    """Write ``array`` to ``path`` atomically.

    The file is encoded in memory, written to a hidden temporary file in the
    same folder, flushed to disk and renamed over ``path``; on any failure or
    interruption the temporary file is removed and ``path`` is untouched. A
    replaced file keeps its permission bits; a new one gets the usual ones
    (0o666 minus the umask).
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise ImageFileError(path, f"output folder {path.parent} does not exist")
    try:
        data = encode_image(path, array)
    except NLMeansError:
        raise
    except Exception as error:
        raise ImageFileError(path, f"cannot encode ({_reason(error)})") from error
    mode = _new_file_mode(path)
    handle, temp_name = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}"
    )
    try:
        with os.fdopen(handle, "wb") as temp:
            temp.write(data)
            temp.flush()
            os.fsync(temp.fileno())
        os.chmod(temp_name, mode)
        os.replace(temp_name, path)
    except BaseException as error:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        if isinstance(error, OSError):
            raise ImageFileError(path, f"cannot write ({error.strerror or error})") from error
        raise
    _sync_folder(path.parent)


def _new_file_mode(path: Path) -> int:
    if path.exists():
        return path.stat().st_mode & 0o7777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _sync_folder(folder: Path) -> None:
    """Flush the rename to disk where the platform allows opening a folder."""
    with contextlib.suppress(OSError, AttributeError):
        handle = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(handle)
        finally:
            os.close(handle)


def require_finite(path, pixels: np.ndarray) -> None:
    """Raise ImageFileError naming how many values are NaN or infinite (float images)."""
    if np.issubdtype(pixels.dtype, np.floating):
        bad = int(pixels.size - np.count_nonzero(np.isfinite(pixels)))
        if bad:
            raise ImageFileError(
                path,
                f"has {bad} non-finite (NaN or Inf) values out of {pixels.size}; nlmeans needs "
                "finite values (replace them first, e.g. with numpy.nan_to_num)",
            )
