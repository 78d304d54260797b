"""What every reader checks: declared sizes, fixed axes, pixel types, finite values.

Shared by the readers of single images, TIFFs, ``.npy`` arrays and videos:
a declared size is checked against memory before anything is decoded
(:func:`nlmeans._memory.check_memory`), ``--axes`` against the fixed axes of a
format, and a decoded array's pixel type, layout and float values before it
becomes a :class:`~nlmeans.io.Picture` (with its alpha channel split off).
"""

from __future__ import annotations

import numpy as np

from .._memory import check_memory, file_bytes
from ..errors import NLMeansError
from ._picture import ImageFileError, Picture


def check_fixed_axes(path, given: str | None, layout: str, kind: str) -> None:
    """Refuse ``--axes`` that differ from the fixed axes of a format (``kind``).

    Parameters
    ----------
    path : path-like
        The file, named in the error.
    given : str or None
        The ``--axes`` given (None: nothing to check).
    layout : str
        The format's fixed axes.
    kind : str
        The format, named in the error.
    """
    if given is not None and given != layout:
        raise ImageFileError(
            path, f"{kind} files have axes {layout}; --axes {given} does not apply to them"
        )


def check_declared(
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
    """Refuse, before decoding, a stack that memory cannot hold.

    A stack (or array) of ``shape`` with these ``axes`` must be decoded,
    denoised and written (:func:`nlmeans._memory.stack_file_bytes`).

    The reflection margins are those of the defaults: r_t + f_t = 2 on a T axis,
    the 2-D presets' (:data:`~nlmeans._memory.PRESET_PAD`) on Y and X when they are
    the only other spatial axes, the volume presets' otherwise.

    Parameters
    ----------
    path : path-like
        The file, named in the error.
    shape : tuple of int
        The declared array shape.
    axes : str
        Its axes (T, Z, Y, X, C).
    itemsize : int
        Bytes per sample.
    extra : int
        Further bytes the reader needs.

    Raises
    ------
    NLMeansError
        When the estimate exceeds the memory available.
    """
    from .._memory import default_pads, stack_file_bytes

    spatial = [n for n, letter in zip(shape, axes, strict=True) if letter != "C"]
    channels = shape[axes.index("C")] if "C" in axes else 1
    needed = stack_file_bytes(spatial, channels, itemsize, default_pads(axes)) + extra
    size = "x".join(map(str, shape))
    try:
        check_memory(needed, f"declares a {axes} stack of {size}; denoising it")
    except NLMeansError as error:
        raise ImageFileError(path, str(error)) from None


def split_alpha(path, array: np.ndarray) -> Picture:
    """Separate the alpha channel of a gray+alpha or RGBA array.

    Parameters
    ----------
    path : path-like
        The file, named in errors.
    array : ndarray
        (H, W, 2) gray+alpha or (H, W, 4) RGBA.

    Returns
    -------
    Picture
        The colour channels, the alpha kept apart.
    """
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


def require_finite(path, pixels: np.ndarray, what: str = "") -> None:
    """Raise ImageFileError, naming the file, for float values nlmeans cannot compute with.

    Counts the NaN and infinite values, and refuses magnitudes above
    ``MAX_FLOAT_MAGNITUDE`` (float32 squares of them overflow). ``what`` names
    the part of the image, e.g. ``"alpha channel "``. Integer images pass.

    Parameters
    ----------
    path : path-like
        The file, named in the error.
    pixels : ndarray
        The values read.
    what : str
        The part of the image, in the message.
    """
    if not np.issubdtype(pixels.dtype, np.floating) or pixels.size == 0:
        return
    from .._arrays import MAX_FLOAT_MAGNITUDE

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
