"""Numba CPU backend: pixelwise NLM with per-shift box sums (Darbon et al. 2008).

For each shift t of the search window the squared differences
D_t(p) = Σ_c (u_c(p) − u_c(p + t))² are box-summed over the (2f+1)² patch with
running sums, so the cost is O(pixels × (2r+1)²) whatever the patch size.
Threads work on bands of rows; each band keeps its own small buffers, so the
working memory is the output plus O(band) per thread.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import njit, prange

from .params import Params

#: Output rows per band: one thread's unit of work.
BAND_ROWS = 32


@njit(parallel=True, cache=True, nogil=True)
def _pixelwise_kernel(padded, f, r, scale, offset, out):
    """Pixelwise NLM estimate of ``padded`` (C, H+2(r+f), W+2(r+f)) into ``out`` (C, H, W).

    ``scale`` = 1 / (C (2f+1)² h²) turns a patch sum of squared differences into
    d²/h², and ``offset`` = 2σ²/h², so w = exp(-max(sum·scale − offset, 0)).
    """
    n_channels, height, width = out.shape
    pad = r + f
    side = 2 * f + 1
    n_bands = (height + BAND_ROWS - 1) // BAND_ROWS
    for band in prange(n_bands):
        y0 = band * BAND_ROWS
        rows = min(BAND_ROWS, height - y0)
        # Squared channel differences for the band's rows plus the patch halo.
        diff = np.empty((rows + 2 * f, width + 2 * f), dtype=np.float32)
        column_sum = np.empty(width + 2 * f, dtype=np.float32)
        patch_sum = np.empty(width, dtype=np.float32)
        numerator = np.zeros((n_channels, rows, width), dtype=np.float32)
        denominator = np.zeros((rows, width), dtype=np.float32)
        for ty in range(-r, r + 1):
            for tx in range(-r, r + 1):
                # D_t(p) = Σ_c (u_c(p) − u_c(p + t))² over the band and its halo.
                for i in range(rows + 2 * f):
                    row = y0 + r + i
                    for j in range(width + 2 * f):
                        diff[i, j] = 0.0
                    for c in range(n_channels):
                        for j in range(width + 2 * f):
                            d = padded[c, row, r + j] - padded[c, row + ty, r + j + tx]
                            diff[i, j] += d * d
                # Vertical running sum over the patch's 2f+1 rows.
                for j in range(width + 2 * f):
                    acc = np.float32(0.0)
                    for k in range(side):
                        acc += diff[k, j]
                    column_sum[j] = acc
                for y in range(rows):
                    if y > 0:
                        for j in range(width + 2 * f):
                            column_sum[j] += diff[y + 2 * f, j] - diff[y - 1, j]
                    # Horizontal running sum: Σ_j over B(0, f) of D_t(p + j).
                    acc = np.float32(0.0)
                    for k in range(side):
                        acc += column_sum[k]
                    patch_sum[0] = acc
                    for x in range(1, width):
                        acc += column_sum[x + 2 * f] - column_sum[x - 1]
                        patch_sum[x] = acc
                    # w(p, p+t) = exp(-max(d² − 2σ², 0) / h²); accumulate Σ w u(q) and Σ w.
                    src = y0 + y + pad + ty
                    for x in range(width):
                        w = math.exp(-max(patch_sum[x] * scale - offset, np.float32(0.0)))
                        denominator[y, x] += w
                        for c in range(n_channels):
                            numerator[c, y, x] += w * padded[c, src, x + pad + tx]
        # The centre weight is exp(0) = 1, so the denominator is at least 1.
        for c in range(n_channels):
            for y in range(rows):
                for x in range(width):
                    out[c, y0 + y, x] = numerator[c, y, x] / denominator[y, x]


def kernel_constants(params: Params, n_channels: int) -> tuple[np.float32, np.float32]:
    """(scale, offset) with d²/h² = patch_sum · scale and offset = 2σ²/h² (DESIGN.md §1)."""
    h2 = params.h * params.h
    scale = 1.0 / (n_channels * (2 * params.f + 1) ** 2 * h2)
    offset = 2.0 * params.sigma * params.sigma / h2
    return np.float32(scale), np.float32(offset)


def denoise_padded(padded: np.ndarray, params: Params) -> np.ndarray:
    """Pixelwise NLM of a float32 (C, H+2(r+f), W+2(r+f)) stack; returns (C, H, W) float32."""
    pad = params.r + params.f
    n_channels = padded.shape[0]
    out = np.empty(
        (n_channels, padded.shape[1] - 2 * pad, padded.shape[2] - 2 * pad), dtype=np.float32
    )
    scale, offset = kernel_constants(params, n_channels)
    _pixelwise_kernel(padded, params.f, params.r, scale, offset, out)
    return out


def warm_up() -> None:
    """Compile (or load from the cache) the kernel on a tiny image."""
    tiny = np.zeros((1, 3, 3), dtype=np.float32)
    denoise_padded(tiny, Params(f=1, r=0, h=1.0, sigma=0.0))


def set_threads(n: int) -> None:
    """Limit the Numba threads used by the CPU backend."""
    numba.set_num_threads(n)
