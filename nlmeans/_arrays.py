"""Arrays: checking an input image, moving its channels to the front, padding, dtypes.

Every backend works on a channels-first (C, *S) stack: C channels (C = 1 for
gray) over D = 2, 3 or 4 spatial axes S.
"""

from __future__ import annotations

import numpy as np

from .errors import NLMeansError

#: dtypes the public API accepts; the result always has the input's dtype.
SUPPORTED_DTYPES = (np.uint8, np.uint16, np.float32, np.float64)


def check_image(image) -> np.ndarray:
    """Return ``image`` as an ndarray of a supported dtype, or raise NLMeansError."""
    # A plain ndarray: subclasses such as np.matrix (always 2-D, * is a matrix
    # product) or masked arrays would break the array arithmetic below.
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


def channel_bounds(planes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel (min, max) of (C, *S) ``planes`` (NaN propagates).

    Each channel is reduced whole: for an image whose channels are its last
    axis (a strided view here) that is about 20 times faster than one
    reduction over the spatial axes.
    """
    low = np.array([plane.min() for plane in planes])
    high = np.array([plane.max() for plane in planes])
    return low, high


def float_bounds(planes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel (min, max) of float (C, *S) ``planes``, or NLMeansError.

    Refuses NaN and Inf (with their count) and magnitudes above
    :data:`MAX_FLOAT_MAGNITUDE`, which float32 arithmetic cannot square safely.
    """
    low, high = channel_bounds(planes)  # NaN propagates
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


#: Spatial axes the front door takes (a 1-D signal is not an image).
MIN_SPATIAL_DIMS, MAX_SPATIAL_DIMS = 2, 4


def check_channel_axis_type(value):
    """Return ``value`` if it can name a channel axis (an integer, None or "auto"), else raise."""
    if value is None or (isinstance(value, str) and value == "auto"):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise NLMeansError(f"channel_axis={value!r} is not an integer axis")
    return int(value)


def check_channel_axis(value, ndim: int) -> int | None:
    """Return ``value`` as a channel axis of an ``ndim``-D array, in [0, ndim), or None."""
    value = check_channel_axis_type(value)
    if value is None:
        return None
    if isinstance(value, str):
        raise NLMeansError(f"channel_axis={value!r} is not an integer axis")
    if not -ndim <= value < ndim:
        raise NLMeansError(
            f"channel_axis={value} is out of range; expected {-ndim} <= axis <= {ndim - 1}"
        )
    return value % ndim


def to_channels_first(image: np.ndarray, channel_axis: int | None) -> np.ndarray:
    """View ``image`` as (C, *S): with ``channel_axis`` None every axis is spatial (C = 1).

    2, 3 or 4 spatial axes are accepted; else NLMeansError says what was expected.
    """
    if channel_axis is None:
        if not MIN_SPATIAL_DIMS <= image.ndim <= MAX_SPATIAL_DIMS:
            raise NLMeansError(
                f"image has {image.ndim} dimensions (shape {image.shape}); with channel_axis="
                "None every axis is spatial, and 2, 3 or 4 are supported"
            )
        return image[np.newaxis]
    channel_axis = check_channel_axis(channel_axis, image.ndim)
    if not MIN_SPATIAL_DIMS + 1 <= image.ndim <= MAX_SPATIAL_DIMS + 1:
        raise NLMeansError(
            f"image has {image.ndim} dimensions (shape {image.shape}) but channel_axis="
            f"{channel_axis} needs 3, 4 or 5 (a channel axis and 2, 3 or 4 spatial axes)"
        )
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


def pad_reflect(planes: np.ndarray, pad) -> np.ndarray:
    """float32 mirror extension of (C, *S) ``planes`` by ``pad`` on each side of each axis.

    ``pad`` is one int for every spatial axis or one per axis. The values of
    ``np.pad(planes.astype(np.float32), ((0, 0), (p_1, p_1), …), mode="reflect")``
    (the algorithm's borders, reflection repeated for images smaller than the
    margin), written straight into one float32 buffer: the image is converted
    once, into the middle, and the margins are copied from it axis by axis, so
    no intermediate copy of the image is made.
    """
    spatial = planes.shape[1:]
    pads = (int(pad),) * len(spatial) if np.ndim(pad) == 0 else tuple(int(p) for p in pad)
    padded = np.empty(
        (planes.shape[0], *(n + 2 * p for n, p in zip(spatial, pads, strict=True))),
        dtype=np.float32,
    )
    middle = tuple(slice(p, p + n) for n, p in zip(spatial, pads, strict=True))
    padded[(slice(None), *middle)] = planes
    # Axis by axis: the margins of axis k, over the extent already filled on the
    # axes before it (padded) and the image's extent on the axes after it.
    for k, (n, p) in enumerate(zip(spatial, pads, strict=True)):
        if p == 0:
            continue
        source = p + np.pad(np.arange(n), p, mode="reflect")  # padded index of each margin entry
        lead = (slice(None),) * (k + 1)
        rest = middle[k + 1 :]
        low = lead + (slice(0, p),) + rest
        high = lead + (slice(p + n, n + 2 * p),) + rest
        padded[low] = padded[lead + (source[:p],) + rest]
        padded[high] = padded[lead + (source[p + n :],) + rest]
    return padded
