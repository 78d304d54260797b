"""Arrays: checking an input image, moving its channels to the front, padding, dtypes.

Every backend works on a (C, H, W) stack of planes; gray images are C = 1.
"""

from __future__ import annotations

import numpy as np

from .errors import NLMeansError

#: dtypes the public API accepts; the result always has the input's dtype.
SUPPORTED_DTYPES = (np.uint8, np.uint16, np.float32, np.float64)


def check_image(image) -> np.ndarray:
    """Return ``image`` as an ndarray of a supported dtype, or raise NLMeansError."""
    if not isinstance(image, np.ndarray):
        image = np.asarray(image)
    if image.dtype not in SUPPORTED_DTYPES:
        names = ", ".join(np.dtype(d).name for d in SUPPORTED_DTYPES)
        raise NLMeansError(
            f"image dtype {image.dtype} is not supported; expected one of {names} "
            "(convert with image.astype(...) first)"
        )
    if image.size == 0:
        raise NLMeansError(f"image has shape {image.shape} with no pixels")
    return image


#: Largest magnitude accepted in float images: the kernels square patch differences in
#: float32, whose sums must stay far below its limit of 3.4e38.
MAX_FLOAT_MAGNITUDE = 1e15


def float_bounds(planes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel (min, max) of float (C, H, W) ``planes``, or NLMeansError.

    Refuses NaN and Inf (with their count) and magnitudes above
    :data:`MAX_FLOAT_MAGNITUDE`, which float32 arithmetic cannot square safely.
    """
    low, high = planes.min(axis=(1, 2)), planes.max(axis=(1, 2))  # NaN propagates
    if not (np.isfinite(low).all() and np.isfinite(high).all()):
        count = int(planes.size - np.count_nonzero(np.isfinite(planes)))
        raise NLMeansError(f"image has {count} non-finite (NaN or Inf) values; expected finite")
    peak = float(max(-low.min(), high.max()))
    if peak > MAX_FLOAT_MAGNITUDE:
        raise NLMeansError(
            f"image values reach {peak:.3g}; expected magnitudes up to {MAX_FLOAT_MAGNITUDE:.0e} "
            "(computed in float32) — divide the image, h and sigma by a common factor first"
        )
    return low, high


def to_channels_first(image: np.ndarray, channel_axis: int | None) -> np.ndarray:
    """View ``image`` as (C, H, W): a gray 2-D image becomes C = 1."""
    if channel_axis is None:
        if image.ndim != 2:
            raise NLMeansError(
                f"image has {image.ndim} dimensions (shape {image.shape}) but channel_axis=None "
                "expects a 2-D gray image; pass channel_axis for a color image"
            )
        return image[np.newaxis]
    if image.ndim != 3:
        raise NLMeansError(
            f"image has {image.ndim} dimensions (shape {image.shape}) but channel_axis="
            f"{channel_axis} expects a 3-D image with one channel axis"
        )
    if isinstance(channel_axis, bool) or not isinstance(channel_axis, (int, np.integer)):
        raise NLMeansError(f"channel_axis={channel_axis!r} is not an integer axis")
    if not -3 <= channel_axis <= 2:
        raise NLMeansError(f"channel_axis={channel_axis} is out of range; expected -3 <= axis <= 2")
    return np.moveaxis(image, channel_axis, 0)


def from_channels_first(planes: np.ndarray, channel_axis: int | None) -> np.ndarray:
    """Inverse of :func:`to_channels_first`."""
    if channel_axis is None:
        return planes[0]
    return np.moveaxis(planes, 0, channel_axis)


def to_dtype(values: np.ndarray, dtype: np.dtype, *, overwrite: bool = False) -> np.ndarray:
    """Cast float results to ``dtype``; integers are rounded and clipped to the dtype's range.

    ``overwrite=True`` rounds and clips ``values`` in place instead of in two
    temporary copies (for a result array nobody else holds).
    """
    dtype = np.dtype(dtype)
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        out = values if overwrite else None
        rounded = np.rint(values, out=out)
        return np.clip(rounded, info.min, info.max, out=rounded).astype(dtype)
    return values.astype(dtype, copy=False)


def pad_reflect(planes: np.ndarray, pad: int) -> np.ndarray:
    """float32 (C, H + 2 pad, W + 2 pad) mirror extension of (C, H, W) ``planes``.

    The values of ``np.pad(planes.astype(np.float32), ((0, 0), (pad, pad),
    (pad, pad)), mode="reflect")`` (the algorithm's borders, reflection repeated
    for images smaller than the margin), written straight into one float32
    buffer: the image is converted once, into the middle, and the margins are
    copied from it, so no intermediate copy of the image is made.
    """
    channels, height, width = planes.shape
    padded = np.empty((channels, height + 2 * pad, width + 2 * pad), dtype=np.float32)
    padded[:, pad : pad + height, pad : pad + width] = planes
    if pad == 0:
        return padded
    # Source row / column (in the padded array) of every margin row / column.
    rows = pad + np.pad(np.arange(height), pad, mode="reflect")
    cols = pad + np.pad(np.arange(width), pad, mode="reflect")
    middle = padded[:, pad : pad + height]
    middle[:, :, :pad] = middle[:, :, cols[:pad]]
    middle[:, :, pad + width :] = middle[:, :, cols[pad + width :]]
    padded[:, :pad] = padded[:, rows[:pad]]
    padded[:, pad + height :] = padded[:, rows[pad + height :]]
    return padded
