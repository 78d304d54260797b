"""Reading a file: its format recognised from its first bytes, then the format's reader.

:func:`read_image` checks the path (missing, folder, empty, link loop), reads
the first bytes and hands the file to the reader of its format: single images
(:mod:`nlmeans.io._images`), TIFF (:mod:`nlmeans.io._tiff`), ``.npy``
(:mod:`nlmeans.io._npy`) or video (:mod:`nlmeans.io._video`).
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from ..errors import NLMeansError
from ._checks import check_fixed_axes, split_alpha
from ._images import png_checked_depth, read_pillow, read_png16
from ._picture import ImageFileError, Picture

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


def _stat_problem(path, error: OSError) -> str:
    """Say what an OSError from looking ``path`` up means, in the words the README uses."""
    if error.errno == errno.ELOOP:
        return "is a symbolic link loop (it never reaches a file)"
    if error.errno == errno.ENOENT:
        return "is a broken symbolic link" if os.path.islink(path) else "no such file"
    return f"cannot be read ({error.strerror or error})"


def resolve_path(path) -> Path:
    """``Path(path).resolve()``, with a symbolic link loop refused as ImageFileError.

    (``Path.resolve`` raises RuntimeError for a loop on Python < 3.13.) For the
    CLI's same-file check of input and output, which runs before reading.

    Parameters
    ----------
    path : path-like
        The path to resolve.

    Returns
    -------
    Path
        The absolute path, links followed.
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
        The file's axes in order (:func:`nlmeans.io._axes.parse_axes`), over
        what its metadata says; needed for stacks without axes metadata and
        ``.npy`` arrays of 4 or more axes. Single-image formats and videos
        have fixed axes (``YX``/``YXC``, ``TYXC``), which it must match.

    Returns
    -------
    Picture
        The pixels (the file's own axis order), alpha, axes and metadata.

    Raises
    ------
    ImageFileError
        The file is missing, a folder, empty, not an image, truncated or
        corrupt, an animated GIF/PNG, of an unsupported pixel type, a stack
        whose axes are unknown, or declares a size that would not fit in
        memory (checked before decoding).
    """
    from ._axes import parse_axes

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
        from ._tiff import read_tiff

        return read_tiff(path, axes)
    if kind == "NPY":
        from ._npy import read_npy

        return read_npy(path, axes)
    if kind in ("MKV", "MP4", "AVI"):
        from ._video import read_video

        return read_video(path, axes)
    depth = png_checked_depth(path) if kind == "PNG" else None
    array = read_png16(path) if depth == 16 else read_pillow(path, kind)
    picture = split_alpha(path, array)
    check_fixed_axes(path, axes, picture.layout, kind or "this format")
    return picture
