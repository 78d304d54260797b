"""The bookkeeping of one tile of the N-D CPU kernels.

Its extent and work arrays, the t = 0 term of its sums, the folding of a row
of shifts' partial sums into the totals, and the estimates written out. Numba
functions inlined into the kernels of :mod:`~nlmeans.backends.cpu._ndim_symmetric`,
:mod:`~nlmeans.backends.cpu._ndim_aggregation` and
:mod:`~nlmeans.backends.cpu._ndim_mapped`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..._kernel_cache import ensure_kernel_cache
from ._ndim_sums import AXES, ONE, ZERO, u64

ensure_kernel_cache(__file__)  # before the first cached kernel is defined


@njit(cache=True)
def centre_terms(src, pad, o, n, num, den):
    """Set the t = 0 term of the tile at ``o`` (``n`` pixels per axis).

    w(p, p) = 1 (times M(p, p) = 1 for the mapped method), so num_c = src_c(p)
    (``src`` padded by ``pad``) and den = 1, for each of the K strengths.
    """
    n_h, n_channels = num.shape[0], num.shape[1]
    at = 0
    for m0 in range(n[0]):
        for m1 in range(n[1]):
            for m2 in range(n[2]):
                for m3 in range(n[3]):
                    for k in range(n_h):
                        den[k, at] = ONE
                        for c in range(n_channels):
                            num[k, c, at] = src[
                                c,
                                pad[0] + o[0] + m0,
                                pad[1] + o[1] + m1,
                                pad[2] + o[2] + m2,
                                pad[3] + o[3] + m3,
                            ]
                    at += 1


@njit(cache=True)
def fold(total, partial):
    """Add partial to total, then zero partial (C-contiguous arrays of one shape)."""
    total = total.reshape(-1)
    partial = partial.reshape(-1)
    for k in range(u64(total.size)):
        total[k] += partial[k]
        partial[k] = ZERO


@njit(cache=True)
def tile_extent(shape, tile, origin):
    """Pixels of the tile at ``origin`` along each axis (clipped to ``shape``)."""
    return (
        min(tile[0], shape[0] - origin[0]),
        min(tile[1], shape[1] - origin[1]),
        min(tile[2], shape[2] - origin[2]),
        min(tile[3], shape[3] - origin[3]),
    )


@njit(cache=True)
def capacity(tile, r, f, extra):
    """Largest flat block: the tile plus r_k + extra · f_k per axis."""
    total = 1
    for k in range(AXES):
        total *= tile[k] + r[k] + extra * f[k]
    return total


@njit(cache=True)
def pixel_buffers(src, pad, o, n, tile, r, f, n_h, n_channels):
    """Work arrays of the tile at ``o`` (``n`` pixels per axis) of the pixelwise kernels.

    (buf_a, buf_b, weights) hold a shift's block (:func:`capacity` with two f per
    axis), ``line`` one line of it; (num, den) the sums Σ w v_c and Σ w of the
    tile's pixels, set to their t = 0 term from ``src`` (:func:`centre_terms`),
    and (part_num, part_den) those of the current row of shifts, zero.
    """
    size = capacity(tile, r, f, 2)
    n_tile = n[0] * n[1] * n[2] * n[3]
    buf_a = np.empty(size, dtype=np.float32)
    buf_b = np.empty(size, dtype=np.float32)
    weights = np.empty(size, dtype=np.float32)
    line = np.empty(tile[3] + r[3] + 2 * f[3], dtype=np.float32)
    num = np.empty((n_h, n_channels, n_tile), dtype=np.float32)
    den = np.empty((n_h, n_tile), dtype=np.float32)
    centre_terms(src, pad, o, n, num, den)
    part_num = np.zeros((n_h, n_channels, n_tile), dtype=np.float32)
    part_den = np.zeros((n_h, n_tile), dtype=np.float32)
    return buf_a, buf_b, weights, line, num, den, part_num, part_den


@njit(cache=True)
def write_ratios(num, den, o, n, out, reciprocal):
    """out[k, c, o + m] = num[k, c, m] / den[k, m] for the tile's pixels m (flat, C order).

    With ``reciprocal``, out[k, 0, o + m] = 1 / den[k, m] first (the denominator
    alone, where ``num`` has no channels). Σ w ≥ w(p, p) = 1: no division by 0.
    """
    n_h, n_channels = den.shape[0], num.shape[1]
    at = 0
    for m0 in range(n[0]):
        for m1 in range(n[1]):
            for m2 in range(n[2]):
                for m3 in range(n[3]):
                    y0, y1, y2, y3 = o[0] + m0, o[1] + m1, o[2] + m2, o[3] + m3
                    for k in range(n_h):
                        if reciprocal:
                            out[k, 0, y0, y1, y2, y3] = ONE / den[k, at]
                        for c in range(n_channels):
                            out[k, c, y0, y1, y2, y3] = num[k, c, at] / den[k, at]
                    at += 1
