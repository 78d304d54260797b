"""Reading and writing image files: checked, lossless in bit depth, written atomically.

Reading recognises the format from the file's first bytes (not its name) and
checks the declared size before decoding anything:

- PNG: 8-bit and palette PNGs through Pillow; 16-bit PNGs (gray, gray+alpha,
  RGB, RGBA) through :mod:`nlmeans.png16`, since Pillow truncates 16-bit color.
- TIFF: through tifffile (8/16-bit integers, 32/64-bit floats; LZW, Deflate,
  PackBits, JPEG, zstd... compression through imagecodecs), single images and
  stacks (multi-page, ImageJ hyperstacks, OME-TIFF): :mod:`nlmeans.io.tiff`.
- ``.npy`` arrays (:mod:`nlmeans.io.npy`) and videos (mp4, mkv, avi through
  imageio's pyav plugin, the ``video`` extra: :mod:`nlmeans.io.video`).
- JPEG, BMP and other single images Pillow knows: through Pillow, with the EXIF
  orientation applied, palette and CMYK/YCbCr/LAB/HSV converted to RGB (RGBA
  when a palette has transparency), bilevel to 8-bit gray.

Writing encodes the whole file in memory first, then writes it to a hidden
temporary file in the output's folder, flushes it to disk and renames it into
place: an interrupted or failed run leaves either the old file or the complete
new one, never a partial one.

An array read from a file keeps the file's axis order; :class:`Picture`
names its axes (:mod:`nlmeans.io.axes`: T, Z, Y, X spatial, C channels).
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import stat
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import png16
from ..errors import NLMeansError
from ..memory import check_memory, file_bytes

#: Extensions of single images nlmeans writes (lower case, with the dot).
PICTURE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")

#: Videos (read and written with the video extra, :mod:`nlmeans.io.video`).
VIDEO_EXTENSIONS = (".mp4", ".mkv", ".avi")

#: Extensions nlmeans writes (and ``nlmeans batch`` looks for): images, .npy arrays, videos.
IMAGE_EXTENSIONS = PICTURE_EXTENSIONS + (".npy",) + VIDEO_EXTENSIONS

#: Extensions that can hold a stack (more than two spatial axes).
STACK_EXTENSIONS = (".tif", ".tiff", ".npy")

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
    (b"\x93NUMPY", "NPY"),
    (b"\x1aE\xdf\xa3", "MKV"),  # EBML (Matroska, WebM)
)


def _container_kind(head: bytes) -> str | None:
    """Video containers recognised by their first bytes (MP4/MOV, AVI), else None."""
    if head[4:8] == b"ftyp":
        return "MP4"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "AVI"
    return None


@dataclass
class Picture:
    """A file's content: the ``pixels`` (color or gray), an optional ``alpha`` and the axes.

    Single images: ``pixels`` is (H, W) for gray or (H, W, C) for color,
    ``alpha`` (H, W) or None, ``axes`` None (read as ``YX`` or ``YXC``).
    Stacks and arrays read from TIFF, ``.npy`` or video files keep the file's
    axis order, named by ``axes`` (:mod:`nlmeans.io.axes`, e.g. ``TYX``,
    ``CZYX``); only a ``YXC`` image has its alpha split off. Both keep the
    file's dtype. ``axes_source`` says where the axes came from ("format",
    "metadata", "--axes" or "guessed"); ``meta`` holds what the writer keeps
    (compression, resolution, spacing, frame rate…).
    """

    pixels: np.ndarray
    alpha: np.ndarray | None = None
    axes: str | None = None
    axes_source: str = "format"
    meta: dict = field(default_factory=dict)

    @property
    def layout(self) -> str:
        """The axes of ``pixels``: ``axes``, or ``YX`` / ``YXC`` for a single image."""
        if self.axes is not None:
            return self.axes
        return "YX" if self.pixels.ndim == 2 else "YXC"

    @property
    def spatial(self) -> str:
        """The spatial axes (T, Z, Y, X) in order."""
        return self.layout.replace("C", "")

    @property
    def is_stack(self) -> bool:
        """More than the two axes of an image (Y, X), or channels not last."""
        return self.layout not in ("YX", "YXC")

    @property
    def channel_axis(self) -> int | None:
        layout = self.layout
        return layout.index("C") if "C" in layout else None

    @property
    def channels(self) -> int:
        """Channels of the full image, alpha included."""
        axis = self.channel_axis
        color = 1 if axis is None else self.pixels.shape[axis]
        return color + (self.alpha is not None)

    def with_pixels(self, pixels: np.ndarray) -> np.ndarray:
        """The full array to write: ``pixels`` with this picture's alpha re-attached."""
        if self.alpha is None:
            return pixels
        color = pixels if pixels.ndim == 3 else pixels[..., np.newaxis]
        return np.concatenate([color, self.alpha[..., np.newaxis]], axis=-1)

    def describe_axes(self) -> str:
        """``axes=TYX from the file's metadata``: for the result lines."""
        words = {
            "metadata": "from the file's metadata",
            "--axes": "given by --axes",
            "guessed": "guessed from the shape; set --axes to change",
            "format": "of the format",
        }
        return f"axes={self.layout} {words.get(self.axes_source, self.axes_source)}"


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


def check_picture_format(path: Path, picture: Picture) -> None:
    """Raise ImageFileError unless ``path``'s format can store ``picture`` (as read).

    A stack (more than Y and X, or channels not last) goes to ``.tif`` or
    ``.npy`` (or, an 8-bit RGB ``TYXC`` time stack, to a video); ``.npy``
    stores any array nlmeans reads; single images follow :func:`check_format`.
    Called before denoising.
    """
    path = Path(path)
    check_extension(path)
    suffix = path.suffix.lower()
    dtype = picture.pixels.dtype
    if suffix in VIDEO_EXTENSIONS:
        from .video import check_video_output

        check_video_output(path, picture)
        return
    if suffix == ".npy":
        return
    if picture.is_stack:
        if suffix not in STACK_EXTENSIONS:
            shape = "x".join(map(str, picture.pixels.shape))
            raise ImageFileError(
                path,
                f"{suffix[1:].upper()} stores single images; this is a {picture.layout} stack "
                f"(shape {shape}) — write .tif or .npy instead",
            )
        if dtype not in FORMATS[".tif"][0]:
            raise ImageFileError(path, f"TIFF stacks are written from uint8, uint16, float32 or "
                                 f"float64, not {dtype}")  # fmt: skip
        return
    check_format(path, dtype, picture.channels)


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


def _stat_problem(path, error: OSError) -> str:
    """What an OSError from looking ``path`` up means, in the words the README uses."""
    if error.errno == errno.ELOOP:
        return "is a symbolic link loop (it never reaches a file)"
    if error.errno == errno.ENOENT:
        return "is a broken symbolic link" if os.path.islink(path) else "no such file"
    return f"cannot be read ({error.strerror or error})"


def resolve_path(path) -> Path:
    """``Path(path).resolve()``, with a symbolic link loop refused as ImageFileError.

    (``Path.resolve`` raises RuntimeError for a loop on Python < 3.13.) For the
    CLI's same-file check of input and output, which runs before reading.
    """
    try:
        return Path(path).resolve()
    except (RuntimeError, OSError) as error:
        loop = isinstance(error, RuntimeError) or error.errno == errno.ELOOP
        raise ImageFileError(
            path,
            "is a symbolic link loop (it never reaches a file)"
            if loop
            else f"cannot be resolved ({getattr(error, 'strerror', None) or error})",
        ) from None


def read_image(path, axes: str | None = None) -> Picture:
    """Read an image, stack or array file into a :class:`Picture`.

    Parameters
    ----------
    path : path-like
        PNG, JPEG, BMP, GIF (single images), TIFF (images and stacks),
        ``.npy`` or, with the video extra, mp4/mkv/avi. The format is
        recognised from the first bytes, not the name.
    axes : str, optional
        The file's axes in order (:func:`nlmeans.io.axes.parse_axes`), over
        what its metadata says; needed for stacks without axes metadata and
        ``.npy`` arrays of 4 or more axes. Single-image formats and videos
        have fixed axes (``YX``/``YXC``, ``TYXC``), which it must match.

    Raises
    ------
    ImageFileError
        The file is missing, a folder, empty, not an image, truncated or
        corrupt, an animated GIF/PNG, of an unsupported pixel type, a stack
        whose axes are unknown, or declares a size that would not fit in
        memory (checked before decoding).
    """
    from .axes import parse_axes

    path = Path(path)
    try:
        axes = parse_axes(axes)
    except NLMeansError as error:
        raise ImageFileError(path, str(error)) from None
    try:
        status = os.stat(path)
    except OSError as error:
        raise ImageFileError(path, _stat_problem(path, error)) from None
    if stat.S_ISDIR(status.st_mode):
        raise ImageFileError(path, "is a directory, expected an image file")
    if not stat.S_ISREG(status.st_mode):
        raise ImageFileError(path, "is not a regular file")
    if status.st_size == 0:
        raise ImageFileError(path, "file is empty (0 bytes)")
    try:
        with open(path, "rb") as handle:
            head = handle.read(16)
    except OSError as error:
        raise ImageFileError(path, f"cannot be read ({error.strerror})") from None
    kind = next((name for magic, name in _MAGIC if head.startswith(magic)), None)
    kind = kind or _container_kind(head)
    if kind == "TIFF":
        from .tiff import read_tiff

        return read_tiff(path, axes)
    if kind == "NPY":
        from .npy import read_npy

        return read_npy(path, axes)
    if kind in ("MKV", "MP4", "AVI"):
        from .video import read_video

        return read_video(path, axes)
    depth = _png_checked_depth(path) if kind == "PNG" else None
    array = _read_png16(path) if depth == 16 else _read_pillow(path, kind)
    picture = split_alpha(path, array)
    check_fixed_axes(path, axes, picture.layout, kind or "this format")
    return picture


def check_fixed_axes(path, given: str | None, layout: str, kind: str) -> None:
    """Refuse ``--axes`` that differ from the fixed axes of a format (``kind``)."""
    if given is not None and given != layout:
        raise ImageFileError(
            path, f"{kind} files have axes {layout}; --axes {given} does not apply to them"
        )


def _check_declared(
    path, height: int, width: int, channels: int, itemsize: int, extra: int = 0
) -> None:
    """Refuse, before decoding, a declared size that cannot be decoded and denoised.

    ``extra``: bytes the decoder holds on top of the image (a decoded tile).
    """
    needed = file_bytes(height, width, channels, itemsize) + extra
    try:
        check_memory(
            needed, f"declares {width}x{height} pixels ({channels} channels); denoising it"
        )
    except NLMeansError as error:
        raise ImageFileError(path, str(error)) from None


def check_declared_stack(
    path, shape: tuple[int, ...], axes: str, itemsize: int, extra: int = 0
) -> None:
    """Refuse, before decoding, a stack (or array) of ``shape`` with these ``axes`` that
    cannot be decoded, denoised and written (:func:`nlmeans.memory.stack_file_bytes`).

    The reflection margins are those of the defaults: r_t + f_t = 2 on a T axis,
    the 2-D presets' (:data:`~nlmeans.memory.PRESET_PAD`) on Y and X when they are
    the only other spatial axes, the volume presets' otherwise.
    """
    from ..memory import PRESET_PAD, VOLUME_PAD, stack_file_bytes

    spatial = [n for n, letter in zip(shape, axes, strict=True) if letter != "C"]
    letters = axes.replace("C", "")
    channels = shape[axes.index("C")] if "C" in axes else 1
    others = len(letters.replace("T", ""))
    pads = [2 if a == "T" else PRESET_PAD if others == 2 else VOLUME_PAD for a in letters]
    needed = stack_file_bytes(spatial, channels, itemsize, pads) + extra
    size = "x".join(map(str, shape))
    try:
        check_memory(needed, f"declares a {axes} stack of {size}; denoising it")
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
    if depth != 16:  # Pillow decodes it: check the chunks by the 16-bit decoder's rule first
        try:
            with open(path, "rb") as handle:
                png16.check_image_chunks(handle, png16.max_compressed(width, height, depth, color))
        except png16.PNGError as error:
            raise ImageFileError(path, str(error)) from None
    return depth


def _read_png16(path: Path) -> np.ndarray:
    """Decode a 16-bit PNG in bounded reads, with its eXIf orientation applied (as for
    8-bit PNGs, which Pillow reads)."""
    try:
        with open(path, "rb") as handle:
            return np.ascontiguousarray(png16.decode(handle, oriented=True))
    except png16.PNGError as error:
        raise ImageFileError(path, str(error)) from None
    except OSError as error:
        raise ImageFileError(path, f"cannot be read ({error.strerror or error})") from None


#: Most IFDs (pages) walked in a TIFF before it is refused: a stack of a few hundred
#: thousand planes (a long time-lapse) passes; a longer chain is a corrupt file. The
#: walk also stops at one page per :data:`TIFF_MIN_PAGE_BYTES` of the file.
TIFF_MAX_IFDS = 300_000

#: Bytes a real TIFF page takes at least (an IFD of 4 required tags is 54 bytes, plus
#: its pixels): a chain of more pages than the file has room for is corrupt.
TIFF_MIN_PAGE_BYTES = 32

#: Largest value of one TIFF tag (bytes) read: strip/tile tables of huge images stay
#: far below it; a tag declaring more is corrupt (and tifffile would allocate it).
TIFF_MAX_TAG_BYTES = 64 * 1024**2

# TIFF field type -> bytes per value (TIFF 6.0 and BigTIFF types).
_TIFF_TYPE_SIZES = {
    1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8,
    11: 4, 12: 8, 13: 4, 16: 8, 17: 8, 18: 8,
}  # fmt: skip

#: NewSubfileType (tag 254) bits of a page that is not a main image: bit 0 reduced
#: resolution (thumbnail, pyramid level), bit 2 transparency mask.
_NOT_MAIN = 0b101


@dataclass(frozen=True)
class TiffIFD:
    """One image file directory (page) of a TIFF: where it starts and what kind it is."""

    offset: int
    subfiletype: int

    @property
    def main(self) -> bool:
        """A main image, not a reduced-resolution copy or a transparency mask."""
        return not self.subfiletype & _NOT_MAIN


def walk_tiff_ifds(handle, size: int) -> list[TiffIFD]:
    """The chain of IFDs of a TIFF, checked before tifffile parses anything.

    Follows the next-IFD offsets from the header with a set of visited
    offsets and at most :data:`TIFF_MAX_IFDS` steps (and one per
    :data:`TIFF_MIN_PAGE_BYTES` of the file), and checks that every
    directory and every tag value lies inside the file (``size`` bytes) and is
    at most :data:`TIFF_MAX_TAG_BYTES`. So a chain pointing back to an earlier
    IFD, an offset past the end or a tag declaring billions of values is
    refused with :class:`ValueError` in a few reads, never followed.

    Returns the IFDs in file order with their NewSubfileType (tag 254; the
    old SubfileType tag 255 value 2, reduced resolution, maps to bit 0).
    """
    import struct

    handle.seek(0)
    head = handle.read(16)
    order = {b"II": "<", b"MM": ">"}.get(head[:2])
    if order is None or len(head) < 8:
        raise ValueError("not a TIFF header")
    (version,) = struct.unpack(order + "H", head[2:4])
    if version == 42:
        offset_format, count_format, entry_size, first_at = "I", "H", 12, 4
    elif version == 43 and len(head) >= 16:
        offset_format, count_format, entry_size, first_at = "Q", "Q", 20, 8
    else:
        raise ValueError(f"unknown TIFF version {version}")
    offset_size = struct.calcsize(offset_format)
    count_size = struct.calcsize(count_format)
    (offset,) = struct.unpack_from(order + offset_format, head, first_at)
    ifds: list[TiffIFD] = []
    visited: set[int] = set()
    most = min(TIFF_MAX_IFDS, max(1, size // TIFF_MIN_PAGE_BYTES))
    while offset:
        if offset in visited:
            raise ValueError(f"IFD chain loops back to offset {offset}")
        if len(ifds) >= most:
            room = "" if most == TIFF_MAX_IFDS else f" for a file of {size} bytes"
            raise ValueError(f"more than {most} pages{room} (or a corrupt IFD chain)")
        visited.add(offset)
        if offset + count_size > size:
            raise ValueError(f"IFD offset {offset} is past the end of the file ({size} bytes)")
        handle.seek(offset)
        (count,) = struct.unpack(order + count_format, handle.read(count_size))
        table = count * entry_size
        if count == 0 or offset + count_size + table + offset_size > size:
            raise ValueError(f"IFD at offset {offset} with {count} entries does not fit the file")
        entries = handle.read(table)
        (next_offset,) = struct.unpack(order + offset_format, handle.read(offset_size))
        subfiletype = 0
        for start in range(0, table, entry_size):
            code, kind = struct.unpack_from(order + "HH", entries, start)
            (values,) = struct.unpack_from(order + offset_format, entries, start + 4)
            value_at = start + 4 + offset_size  # the value itself, or where it is
            nbytes = values * _TIFF_TYPE_SIZES.get(kind, 1)
            if nbytes > TIFF_MAX_TAG_BYTES:
                raise ValueError(f"tag {code} declares {values} values")
            if nbytes > offset_size:  # stored elsewhere: the value must lie in the file
                (where,) = struct.unpack_from(order + offset_format, entries, value_at)
                if where + nbytes > size:
                    raise ValueError(f"tag {code} points past the end of the file")
            elif code in (254, 255) and values == 1:
                value_format = {3: "H", 4: "I", 16: "Q"}.get(kind)
                if value_format:
                    (value,) = struct.unpack_from(order + value_format, entries, value_at)
                    subfiletype |= value if code == 254 else (1 if value == 2 else 0)
        ifds.append(TiffIFD(offset, subfiletype))
        offset = next_offset
    if not ifds:
        raise ValueError("no image directory (IFD)")
    return ifds


@contextlib.contextmanager
def _quiet_tifffile():
    """Keep tifffile's log (warnings about odd tags, printed on stderr by logging's
    last-resort handler) out of the output: what matters is raised or read."""
    import logging

    logger = logging.getLogger("tifffile")
    level = logger.level
    logger.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        logger.setLevel(level)


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
    if array.ndim == 3 and array.shape[-1] in (2, 4):
        # Alpha is copied, not computed, but a float alpha must be as finite as the
        # color: the output would otherwise carry NaN or 1e30 opacities.
        alpha = array[..., -1]
        require_finite(path, alpha, "alpha channel ")
        return Picture(array[..., :-1] if array.shape[-1] == 4 else array[..., 0], alpha)
    if array.ndim == 3 and array.shape[-1] == 3:
        return Picture(array)
    raise ImageFileError(path, f"unsupported image layout {array.shape}")


# --------------------------------------------------------------------- writing


def encode_image(
    path: Path, array: np.ndarray, like: Picture | None = None, codec: str | None = None
) -> bytes:
    """The bytes of ``array`` encoded in the format ``path``'s extension names.

    ``like``: the :class:`Picture` the array was computed from (its axes and
    the metadata the format keeps: compression, resolution, spacing, frame
    rate); None for a single image without metadata. ``codec``: videos only
    (:func:`nlmeans.io.video.encode_video`).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if like is None:
        check_format(path, array.dtype, 1 if array.ndim == 2 else array.shape[-1])
    else:
        check_picture_format(path, Picture(array, None, like.layout if like.is_stack else None))
    if suffix == ".npy":
        buffer = io.BytesIO()
        np.save(buffer, array, allow_pickle=False)
        return buffer.getvalue()
    if suffix in VIDEO_EXTENSIONS:
        from .video import encode_video

        return encode_video(path, array, like, codec)
    if suffix in (".tif", ".tiff"):
        from .tiff import encode_tiff

        return encode_tiff(array, like)
    if suffix == ".png" and array.dtype == np.uint16:
        return png16.encode(array)
    from PIL import Image

    buffer = io.BytesIO()
    options = {"quality": JPEG_QUALITY} if suffix in (".jpg", ".jpeg") else {}
    Image.fromarray(np.ascontiguousarray(array)).save(
        buffer, format={".jpg": "JPEG", ".jpeg": "JPEG"}.get(suffix, suffix[1:].upper()), **options
    )
    return buffer.getvalue()


class OutputExistsError(ImageFileError):
    """The output appeared while it was being computed, and may not be replaced."""


def write_image(
    path,
    array: np.ndarray,
    *,
    replace: bool = True,
    like: Picture | None = None,
    codec: str | None = None,
) -> None:
    """Write ``array`` to ``path`` atomically, in the format its extension names.

    ``like`` is the :class:`Picture` the array was computed from: the output
    keeps its axes and the metadata the format carries (:func:`encode_image`);
    ``codec`` chooses a video's codec.

    The file is encoded in memory, written to a hidden temporary file in the
    same folder, flushed to disk and renamed over ``path``; on any failure or
    interruption the temporary file is removed and ``path`` is untouched. A
    replaced file keeps its permission bits; a new one gets the usual ones
    (0o666 minus the umask).

    With ``replace=False`` the file is published only if ``path`` does not
    exist at that very moment (:func:`publish_new`, no check-then-rename race):
    a file another process created meanwhile is kept and
    :class:`OutputExistsError` is raised.
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise ImageFileError(path, f"output folder {path.parent} does not exist")
    try:
        data = encode_image(path, array, like, codec)
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
        if replace:
            os.replace(temp_name, path)
        else:
            publish_new(temp_name, path)
    except BaseException as error:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        if isinstance(error, FileExistsError):
            raise OutputExistsError(
                path, "already exists (it appeared meanwhile); pass --overwrite to replace it"
            ) from None
        if isinstance(error, OSError):
            raise ImageFileError(path, f"cannot write ({error.strerror or error})") from error
        raise
    _sync_folder(path.parent)


_RENAME_NOREPLACE = 1
_renameat2 = None


def _renameat2_function():
    """glibc's ``renameat2`` through ctypes, or None where it is missing (not Linux)."""
    global _renameat2
    if _renameat2 is None:
        _renameat2 = False
        with contextlib.suppress(Exception):
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            function = libc.renameat2
            function.argtypes = [
                ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint
            ]  # fmt: skip
            function.restype = ctypes.c_int
            _renameat2 = function
    return _renameat2 or None


def publish_new(temp, path) -> None:
    """Move ``temp`` to ``path`` only if ``path`` does not exist; FileExistsError if it does.

    Atomic where the system allows: ``renameat2(RENAME_NOREPLACE)`` (Linux),
    else a hard link of the temporary file then its removal (the link fails
    if ``path`` exists), else, on file systems with neither, an existence
    check right before the rename.
    """
    temp, path = os.fsencode(temp), os.fsencode(path)
    renameat2 = _renameat2_function()
    if renameat2 is not None:
        import ctypes

        at_cwd = -100  # AT_FDCWD
        if renameat2(at_cwd, temp, at_cwd, path, _RENAME_NOREPLACE) == 0:
            return
        code = ctypes.get_errno()
        if code == errno.EEXIST:
            raise FileExistsError(code, os.strerror(code), os.fsdecode(path))
        if code not in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EPERM):
            raise OSError(code, os.strerror(code), os.fsdecode(path))
    try:
        os.link(temp, path)  # FileExistsError if path exists
    except FileExistsError:
        raise
    except OSError as error:  # no hard links here (e.g. FAT, some network shares)
        if error.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
            raise
        if os.path.lexists(path):
            raise FileExistsError(
                errno.EEXIST, os.strerror(errno.EEXIST), os.fsdecode(path)
            ) from None
        os.rename(temp, path)
        return
    os.unlink(temp)


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


def require_finite(path, pixels: np.ndarray, what: str = "") -> None:
    """Raise ImageFileError, naming the file, for float values nlmeans cannot compute with.

    Counts the NaN and infinite values, and refuses magnitudes above
    ``MAX_FLOAT_MAGNITUDE`` (float32 squares of them overflow). ``what`` names
    the part of the image, e.g. ``"alpha channel "``. Integer images pass.
    """
    if not np.issubdtype(pixels.dtype, np.floating) or pixels.size == 0:
        return
    from ..arrays import MAX_FLOAT_MAGNITUDE

    bad = int(pixels.size - np.count_nonzero(np.isfinite(pixels)))
    if bad:
        raise ImageFileError(
            path,
            f"{what}has {bad} non-finite (NaN or Inf) values out of {pixels.size}; nlmeans needs "
            "finite values (replace them first, e.g. with numpy.nan_to_num)",
        )
    peak = float(max(-pixels.min(), pixels.max()))
    if peak > MAX_FLOAT_MAGNITUDE:
        raise ImageFileError(
            path,
            f"{what}has values up to {peak:.3g}; nlmeans takes magnitudes up to "
            f"{MAX_FLOAT_MAGNITUDE:.0e} (computed in float32) — scale the image down first",
        )
