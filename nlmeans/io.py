"""Reading and writing image files (imageio), with alpha split off and atomic writes."""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .params import NLMeansError

#: Extensions nlmeans reads and writes (lower case, with the dot).
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")


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


def read_image(path) -> Picture:
    """Read an image file into a :class:`Picture` (gray, gray+alpha, RGB or RGBA)."""
    import imageio.v3 as iio

    path = Path(path)
    if not path.exists():
        raise ImageFileError(path, "no such file")
    if path.is_dir():
        raise ImageFileError(path, "is a directory, expected an image file")
    if path.stat().st_size == 0:
        raise ImageFileError(path, "file is empty (0 bytes)")
    try:
        array = iio.imread(path)
    except Exception as error:  # imageio raises many types for undecodable files
        raise ImageFileError(path, f"cannot decode as an image ({error})") from error
    return split_alpha(path, np.asarray(array))


def split_alpha(path, array: np.ndarray) -> Picture:
    """Separate the alpha channel of a gray+alpha or RGBA array."""
    if array.dtype not in (np.uint8, np.uint16, np.float32, np.float64):
        raise ImageFileError(path, f"unsupported pixel type {array.dtype}")
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


def write_image(path, array: np.ndarray) -> None:
    """Write ``array`` to ``path`` atomically: a temporary file in the same folder,
    renamed into place only once complete."""
    import imageio.v3 as iio

    path = Path(path)
    check_extension(path)
    if not path.parent.is_dir():
        raise ImageFileError(path, f"output folder {path.parent} does not exist")
    handle, temp_name = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}"
    )
    os.close(handle)
    try:
        iio.imwrite(temp_name, array, extension=path.suffix.lower())
        os.replace(temp_name, path)
    except BaseException as error:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        if isinstance(error, Exception) and not isinstance(error, NLMeansError):
            raise ImageFileError(path, f"cannot write ({error})") from error
        raise
