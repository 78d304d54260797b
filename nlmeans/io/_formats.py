"""The formats nlmeans writes, and the checks made before denoising.

The extensions nlmeans writes and what each format stores (dtypes, channel
counts), checked against an image or stack before it is denoised, so that a
result is never computed for minutes and then refused by the writer; and the
check that the output's folder is writable.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from ._picture import ImageFileError, Picture

#: Extensions of single images nlmeans writes (lower case, with the dot).
PICTURE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")

#: Videos (read and written with the video extra, :mod:`nlmeans.io._video`).
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


def check_extension(path: Path) -> None:
    """Raise ImageFileError unless ``path`` has an extension nlmeans can write.

    Parameters
    ----------
    path : Path
        The output path.
    """
    if path.suffix.lower() not in IMAGE_EXTENSIONS:
        allowed = ", ".join(IMAGE_EXTENSIONS)
        raise ImageFileError(
            path, f"cannot write extension {path.suffix or '(none)'!r}; use one of {allowed}"
        )


def check_format(path: Path, dtype, channels: int) -> None:
    """Raise ImageFileError unless ``path``'s format can store this pixel type losslessly.

    Called before denoising, so that a float TIFF is not computed for minutes
    and then refused by a PNG writer.

    Parameters
    ----------
    path : Path
        The output path.
    dtype : dtype
        The pixel type to store.
    channels : int
        Channels per pixel.
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

    Parameters
    ----------
    path : Path
        The output path.
    picture : Picture
        What was read.
    """
    path = Path(path)
    check_extension(path)
    suffix = path.suffix.lower()
    dtype = picture.pixels.dtype
    if suffix in VIDEO_EXTENSIONS:
        from ._video import check_video_output

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

    Parameters
    ----------
    path : Path
        The output path.
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
