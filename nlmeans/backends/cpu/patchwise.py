"""Numba CPU backend for patchwise NLM (Buades, Coll & Morel, IPOL 2011, "patchwise").

Every patch B(p, f) gets the weighted mean of its candidate patches, normalised
by its own C(p) = Σ_t w(p, p+t), and every pixel x averages the estimates of
the N = (2f+1)² patches that contain it. Writing V_t(p) = w(p, p+t) / C(p),

    û_c(x) = 1/N Σ_j Σ_t V_t(x − j) u_c(x + t) = 1/N Σ_t u_c(x + t) · (Σ_{j ∈ B(0,f)} V_t(x − j)),

so for each shift t the weights only need a box sum over the patch. C(p) must be
known before V_t, hence two passes over the shifts:

1. ``C(p)`` for every patch centre p of the image plus an f margin;
2. for each shift, ``V_t``, its (2f+1)² box sum and the accumulation of û.

Patch distances are box sums of squared differences with running sums (Darbon
et al. 2008), so the cost is O(pixels × (2r+1)²) whatever f, about twice the
pixelwise filter. The kernels take a vector of strengths h (K of them) and
return K estimates: one h for ``denoise``, several at once for SURE tuning
(the distances are computed once per shift and shared).
"""

from __future__ import annotations

import numba
import numpy as np
from numba import njit, prange

from ..contract import weight_constants
from .fastexp import EXP_ARG_MAX, exp_minus

_ZERO = np.float32(0.0)

#: Most output rows per band (one thread's unit of work); see :func:`band_rows`.
BAND_ROWS = 32


# Inner loops run over contiguous rows with unsigned (uint64) indices, so that
# Numba drops the negative-index wrap-around and LLVM vectorises them; exp is
# the CPU backend's vectorisable float32 exp(−x) for x in [0, EXP_ARG_MAX].


@njit(cache=True)
def band_patch_sums(padded, top, left, n_rows, n_cols, f, ty, tx, diff, column_sum, out):
    """Patch sums of squared differences for a band of patch centres and one shift t.

    ``out[i, j] = Σ_c Σ_{a, b ∈ [0, 2f]} (u_c(top + i + a, left + j + b) − u_c(… + t))²``:
    the un-normalised d²(p, p + t) for the centre p = (top + f + i, left + f + j) of
    ``padded``, for i < n_rows, j < n_cols. ``diff`` holds at least
    (n_rows + 2f, n_cols + 2f) values, ``column_sum`` n_cols + 2f.
    """
    side = 2 * f + 1
    n_channels = padded.shape[0]
    wide = np.uint64(n_cols + 2 * f)
    narrow = np.uint64(n_cols)
    col = np.uint64(left)
    shifted_col = np.uint64(left + tx)
    zero = np.uint64(0)
    # D_t(y, x) = Σ_c (u_c(y, x) − u_c(y + ty, x + tx))² over the band and its halo.
    for i in range(np.uint64(n_rows + 2 * f)):
        row = np.uint64(top) + i
        shifted_row = np.uint64(top + ty) + i
        for j in range(wide):
            d = padded[zero, row, col + j] - padded[zero, shifted_row, shifted_col + j]
            diff[i, j] = d * d
        for c in range(np.uint64(1), np.uint64(n_channels)):
            for j in range(wide):
                d = padded[c, row, col + j] - padded[c, shifted_row, shifted_col + j]
                diff[i, j] += d * d
    # Vertical running sum over the patch's 2f+1 rows, then the horizontal sum
    # of 2f+1 neighbouring columns.
    for j in range(wide):
        column_sum[j] = diff[zero, j]
    for a in range(np.uint64(1), np.uint64(side)):
        for j in range(wide):
            column_sum[j] += diff[a, j]
    for i in range(np.uint64(n_rows)):
        if i > 0:
            for j in range(wide):
                column_sum[j] += diff[i + np.uint64(2 * f), j] - diff[i - np.uint64(1), j]
        for j in range(narrow):
            out[i, j] = column_sum[j]
        for b in range(np.uint64(1), np.uint64(side)):
            for j in range(narrow):
                out[i, j] += column_sum[b + j]


@njit(parallel=True, cache=True, nogil=True)
def _normalisation_kernel(padded, f, r, scales, offsets, band, inv_norm):
    """Pass 1: ``inv_norm[k, i, j] = 1 / C_k(p)``, ``C_k(p) = Σ_t w_k(p, p + t)``.

    Centre (i, j) is padded pixel (r + f + i, r + f + j): the image plus an f
    margin when ``padded`` carries r + 2f of padding. ``scales[k]`` = 1/(C N h_k²)
    turns a patch sum into d²/h_k², ``offsets[k]`` = 2σ²/h_k². Threads take bands
    of ``band`` rows.
    """
    n_h, centre_h, centre_w = inv_norm.shape
    n_bands = (centre_h + band - 1) // band
    for band_index in prange(n_bands):
        i0 = band_index * band
        rows = min(band, centre_h - i0)
        diff = np.empty((rows + 2 * f, centre_w + 2 * f), dtype=np.float32)
        column_sum = np.empty(centre_w + 2 * f, dtype=np.float32)
        sums = np.empty((rows, centre_w), dtype=np.float32)
        acc = np.zeros((n_h, rows, centre_w), dtype=np.float32)
        for ty in range(-r, r + 1):
            for tx in range(-r, r + 1):
                band_patch_sums(
                    padded, r + i0, r, rows, centre_w, f, ty, tx, diff, column_sum, sums
                )
                # C_k(p) += w_k(p, p + t) = exp(−max(d² − 2σ², 0) / h_k²)
                for k in range(n_h):
                    scale, offset = scales[k], offsets[k]
                    for i in range(np.uint64(rows)):
                        for j in range(np.uint64(centre_w)):
                            arg = min(max(sums[i, j] * scale - offset, _ZERO), EXP_ARG_MAX)
                            acc[k, i, j] += exp_minus(arg)
        # C_k(p) ≥ w_k(p, p) = 1: the inverse is finite.
        for k in range(n_h):
            for i in range(rows):
                for j in range(centre_w):
                    inv_norm[k, i0 + i, j] = np.float32(1.0) / acc[k, i, j]


@njit(parallel=True, cache=True, nogil=True)
def _aggregation_kernel(padded, f, r, scales, offsets, inv_norm, band, out):
    """Pass 2: ``out[k, c, y, x] = 1/N Σ_t u_c(x + t) Σ_j V_t(x − j)`` with V_t = w_k / C_k.

    ``out`` is (K, C, H, W); image pixel (y, x) is padded pixel (y + r + 2f, x + r + 2f)
    and its patch centres x − j are centre indices (y + a, x + b), a, b ∈ [0, 2f].
    """
    n_h, n_channels, height, width = out.shape
    pad = r + 2 * f
    side = 2 * f + 1
    centre_w = width + 2 * f
    inv_n = np.float32(1.0 / (side * side))
    n_bands = (height + band - 1) // band
    for band_index in prange(n_bands):
        y0 = band_index * band
        rows = min(band, height - y0)
        centre_rows = rows + 2 * f
        diff = np.empty((centre_rows + 2 * f, centre_w + 2 * f), dtype=np.float32)
        column_sum = np.empty(centre_w + 2 * f, dtype=np.float32)
        sums = np.empty((centre_rows, centre_w), dtype=np.float32)
        share = np.empty((centre_rows, centre_w), dtype=np.float32)
        share_column = np.empty(centre_w, dtype=np.float32)
        box = np.empty(width, dtype=np.float32)
        acc = np.zeros((n_h, n_channels, rows, width), dtype=np.float32)
        for ty in range(-r, r + 1):
            for tx in range(-r, r + 1):
                band_patch_sums(
                    padded, r + y0, r, centre_rows, centre_w, f, ty, tx, diff, column_sum, sums
                )
                src_col = np.uint64(pad + tx)
                for k in range(n_h):
                    scale, offset = scales[k], offsets[k]
                    # V_t(p) = w_k(p, p + t) / C_k(p) for the band's patch centres.
                    for i in range(np.uint64(centre_rows)):
                        norm_row = np.uint64(y0) + i
                        for j in range(np.uint64(centre_w)):
                            arg = min(max(sums[i, j] * scale - offset, _ZERO), EXP_ARG_MAX)
                            share[i, j] = exp_minus(arg) * inv_norm[k, norm_row, j]
                    # Σ_{j ∈ B(0,f)} V_t(x − j): running vertical sum, then 2f+1 columns.
                    for j in range(np.uint64(centre_w)):
                        share_column[j] = share[0, j]
                    for a in range(1, side):
                        for j in range(np.uint64(centre_w)):
                            share_column[j] += share[a, j]
                    for y in range(rows):
                        if y > 0:
                            for j in range(np.uint64(centre_w)):
                                share_column[j] += share[y + 2 * f, j] - share[y - 1, j]
                        for x in range(np.uint64(width)):
                            box[x] = share_column[x]
                        for b in range(np.uint64(1), np.uint64(side)):
                            for x in range(np.uint64(width)):
                                box[x] += share_column[b + x]
                        # û_c(x) accumulates u_c(x + t) · Σ_j V_t(x − j).
                        src_row = np.uint64(y0 + y + pad + ty)
                        for c in range(n_channels):
                            for x in range(np.uint64(width)):
                                acc[k, c, y, x] += box[x] * padded[c, src_row, src_col + x]
        # û_c(x) = 1/N Σ_t (…): the patch estimates are averaged over the N patches.
        for k in range(n_h):
            for c in range(n_channels):
                for y in range(rows):
                    for x in range(width):
                        out[k, c, y0 + y, x] = acc[k, c, y, x] * inv_n


def band_rows(height: int) -> int:
    """Rows per band: at most BAND_ROWS, and a band count that is a multiple of the threads."""
    threads = numba.get_num_threads()
    n_bands = threads * -(-height // (threads * BAND_ROWS))
    return max(1, -(-height // n_bands))


def patchwise_sweep(padded: np.ndarray, f: int, r: int, sigma: float, hs) -> np.ndarray:
    """Patchwise NLM for every h in ``hs`` at once.

    ``padded`` is float32 (C, H + 2(r+2f), W + 2(r+2f)), reflect-padded; returns
    float32 (K, C, H, W), one estimate per h.
    """
    padded = np.ascontiguousarray(padded, dtype=np.float32)
    pad = r + 2 * f
    n_channels = padded.shape[0]
    height, width = padded.shape[1] - 2 * pad, padded.shape[2] - 2 * pad
    scales, offsets = weight_constants(hs, sigma, (f, f), n_channels)
    inv_norm = np.empty((len(scales), height + 2 * f, width + 2 * f), dtype=np.float32)
    _normalisation_kernel(padded, f, r, scales, offsets, band_rows(height + 2 * f), inv_norm)
    out = np.empty((len(scales), n_channels, height, width), dtype=np.float32)
    _aggregation_kernel(padded, f, r, scales, offsets, inv_norm, band_rows(height), out)
    return out
