"""``.npy`` arrays: NumPy's own format, read without pickles and written keeping dtype and shape.

Reading maps the file (``np.load(mmap_mode="r", allow_pickle=False)``), so its
shape and dtype are known, and checked against memory, before any data is
read; object (pickled) arrays are refused. The axes are guessed from the shape
unless ``--axes`` names them: 2-D ``YX``; 3-D ``YXC`` when the last axis has
3 or 4 entries, else ``ZYX``; 4-D and more need ``--axes``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import NLMeansError
from ._axes import AXES_EXAMPLES, check_axes_count
from ._checks import check_declared, check_declared_stack, split_alpha
from ._picture import ImageFileError, Picture, error_reason

_SUPPORTED = (np.uint8, np.uint16, np.float32, np.float64)


def guess_axes(shape: tuple[int, ...]) -> str | None:
    """Guess the axes of an array of ``shape`` without ``--axes``; None for 4-D and more."""
    if len(shape) == 2:
        return "YX"
    if len(shape) == 3:
        return "YXC" if shape[-1] in (3, 4) else "ZYX"
    return None


def read_npy(path: Path, axes: str | None = None) -> Picture:
    """Read a ``.npy`` array into a :class:`~nlmeans.io.Picture` (``axes`` validated)."""
    try:
        mapped = np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError as error:
        text = str(error)
        if "object" in text.lower() or "pickle" in text.lower():
            raise ImageFileError(
                path, "holds Python objects (a pickled array); nlmeans reads numeric .npy "
                "arrays only (uint8, uint16, float32, float64)",
            ) from None  # fmt: skip
        reason = error_reason(error)
        raise ImageFileError(path, f"is truncated or corrupt (.npy: {reason})") from None
    except OSError as error:
        raise ImageFileError(path, f"cannot be read ({error.strerror or error})") from None
    except Exception as error:  # a malformed header (NumPy's parser raises many types)
        raise ImageFileError(
            path, f"is truncated or corrupt (.npy header: {error_reason(error)})"
        ) from None
    try:
        return _picture(path, mapped, axes)
    finally:
        del mapped


def _picture(path, mapped, given):
    shape, dtype = tuple(mapped.shape), mapped.dtype
    if dtype not in _SUPPORTED:
        raise ImageFileError(
            path, f"unsupported pixel type {dtype}; expected uint8, uint16, float32 or float64"
        )
    if len(shape) < 2 or 0 in shape:
        size = "x".join(map(str, shape)) or "a scalar"
        raise ImageFileError(path, f"is an array of shape {size}; nlmeans needs at least "
                                  "two non-empty axes (Y, X)")  # fmt: skip
    if given is not None:
        try:
            check_axes_count(given, shape, "the array")
        except NLMeansError as error:
            raise ImageFileError(path, str(error)) from None
        axes, source = given, "--axes"
    else:
        axes, source = guess_axes(shape), "guessed"
        if axes is None:
            size = "x".join(map(str, shape))
            raise ImageFileError(
                path,
                f"is a {len(shape)}-D array (shape {size}); name its axes with --axes, "
                f"e.g. {AXES_EXAMPLES}",
            )
    if len(axes.replace("C", "")) > 4:
        raise ImageFileError(path, "has more than 4 spatial axes")
    if axes in ("YX", "YXC"):
        height, width = shape[0], shape[1]
        channels = shape[2] if len(shape) == 3 else 1
        check_declared(path, height, width, channels, dtype.itemsize)
    else:
        check_declared_stack(path, shape, axes, dtype.itemsize)
    try:
        array = np.array(mapped, order="C")  # reads the data (a truncated file fails here)
    except (OSError, ValueError) as error:
        raise ImageFileError(path, f"cannot be read ({error_reason(error)})") from None
    meta = {"format": "npy"}
    if axes in ("YX", "YXC") and shape[-1] != 1:
        picture = split_alpha(path, array)
        picture.axes_source, picture.meta = source, meta
        return picture
    return Picture(array, None, axes, source, meta)
