"""Numba CPU kernel: pixelwise NLM estimates and their exact divergence, K strengths, 2-D tiles.

For the pixelwise estimate û_c(p) = Σ_q w(p, q) u_c(q) / Σ_q w(p, q) with
w(p, q) = exp(−max(d²(p, q) − 2σ², 0) / h²) and the patch distance
d²(p, q) = 1/(C N) Σ_c Σ_j (u_c(p+j) − u_c(q+j))², the derivative of û_c(p)
with respect to the sample u_c(p) of the padded stack is

    ∂û_c(p)/∂u_c(p) = [1 − κ Σ_q a(p, q) e_c(p, q) (u_c(q) − û_c(p))] / Σ_q w(p, q)

with κ = 2 / (C N h²), a(p, q) = w(p, q) where d²(p, q) > 2σ² (else 0: the
weight is flat there), and e_c(p, q) = ½ C N ∂d²(p, q)/∂u_c(p):

    e_c(p, q) = (u_c(p) − u_c(q)) + [q − p ∈ B(0, f)] (u_c(p) − u_c(2p − q))

(u_c(p) sits at offset 0 of p's patch and, when the shift t = q − p is within
the patch box, at offset −t of q's patch). The "1" is w(p, p), whose distance
is 0 for every u. The statement and its NumPy transcription are in
:mod:`nlmeans.sure._exact`; this kernel computes the same sums per shift:

    Σ w,  Σ w u_c(q),  Σ a e_c (u_c(q) − u_c(p)),  Σ a e_c

(the third centred on u_c(p) so that float32 keeps its digits), and then
û and the divergence. The patch sums of each shift are box sums of the squared
differences (vertical, then horizontal), as in the denoising kernels.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import njit, prange

from ..._kernel_cache import ensure_kernel_cache
from ._fastexp import EXP2_ARG_MIN, FMA, LOG2_E, exp2

ensure_kernel_cache(__file__)  # before the first cached kernel is defined

_ZERO = np.float32(0.0)
_ONE = np.float32(1.0)
_LN2 = np.float32(1.0 / LOG2_E)


@njit(cache=True, fastmath=FMA)
def _sure_band(
    windows, tile, top, n_rows, f, r, two_sigma2, rates, wanted, inv_n, estimates, divergence
):
    """Estimates and divergences of rows [top, top + n_rows) of tile ``tile``, all strengths.

    ``rates[k]`` is log2(e) / h_k², so that w = 2^(−max(d² − 2σ², 0) · rates[k]);
    only the (strength, channel) pairs with ``wanted[k, c]`` are computed (NaN elsewhere).
    Every hot loop runs over a contiguous row with unsigned indices (no slices,
    so no reference counting and nothing stopping LLVM from vectorising it).
    """
    channels = windows.shape[1]
    n_h = rates.shape[0]
    pad = r + f
    cols = windows.shape[3] - 2 * pad
    span = cols + 2 * f
    side = 2 * f + 1
    tile = np.uint64(tile)
    ncols = np.uint64(cols)
    nspan = np.uint64(span)
    den = np.zeros((n_h, n_rows, cols), np.float32)
    num = np.zeros((n_h, channels, n_rows, cols), np.float32)
    acc_a = np.zeros((n_h, channels, n_rows, cols), np.float32)
    acc_b = np.zeros((n_h, channels, n_rows, cols), np.float32)
    diff = np.empty((n_rows + 2 * f, span), np.float32)
    vertical = np.empty(span, np.float32)
    excess = np.empty(cols, np.float32)
    w = np.empty((n_h, cols), np.float32)
    above = np.empty(cols, np.float32)
    e = np.empty(cols, np.float32)
    g = np.empty(cols, np.float32)
    for ty in range(-r, r + 1):
        for tx in range(-r, r + 1):
            # D_t(x) = Σ_c (u_c(x) − u_c(x + t))² on the patches' span around the band.
            col0 = np.uint64(r)
            col1 = np.uint64(r + tx)
            for y in range(n_rows + 2 * f):
                row0 = np.uint64(r + top + y)
                row1 = np.uint64(r + top + y + ty)
                yy = np.uint64(y)
                for x in range(nspan):
                    diff[yy, x] = _ZERO
                for c in range(np.uint64(channels)):
                    for x in range(nspan):
                        d = windows[tile, c, row0, col0 + x] - windows[tile, c, row1, col1 + x]
                        diff[yy, x] += d * d
            mirror = _ONE if (abs(ty) <= f and abs(tx) <= f) else _ZERO
            # Σ over the patch's rows, slid down the band (running sum per column).
            for x in range(nspan):
                vertical[x] = _ZERO
            for k in range(np.uint64(side)):
                for x in range(nspan):
                    vertical[x] += diff[k, x]
            for y in range(n_rows):
                yy = np.uint64(y)
                if y > 0:
                    enter = np.uint64(y + side - 1)
                    leave = np.uint64(y - 1)
                    for x in range(nspan):
                        vertical[x] += diff[enter, x] - diff[leave, x]
                # d²(p, p + t) − 2σ² along the row (the patch's columns summed).
                for x in range(ncols):
                    excess[x] = vertical[x]
                for k in range(np.uint64(1), np.uint64(side)):
                    for x in range(ncols):
                        excess[x] += vertical[k + x]
                for x in range(ncols):
                    value = excess[x] * inv_n - two_sigma2
                    excess[x] = max(value, _ZERO)
                    above[x] = _ONE if value > _ZERO else _ZERO  # a = w · above
                for k in range(np.uint64(n_h)):
                    # w = exp(−max(d² − 2σ², 0)/h²) (as 2^y).
                    rate = rates[k]
                    for x in range(ncols):
                        weight = exp2(max(-excess[x] * rate, EXP2_ARG_MIN))
                        w[k, x] = weight
                        den[k, yy, x] += weight
                py = np.uint64(pad + top + y)
                fy = np.uint64(pad + top + y + ty)
                by = np.uint64(pad + top + y - ty)
                px = np.uint64(pad)
                fx = np.uint64(pad + tx)
                bx = np.uint64(pad - tx)
                for c in range(np.uint64(channels)):
                    # e_c(p, q) = (u(p) − u(q)) + [t ∈ B(0,f)] (u(p) − u(p − t)), and
                    # g = e_c(p, q) (u(q) − u(p)), q = p + t; both where d² > 2σ² only.
                    for x in range(ncols):
                        here = windows[tile, c, py, px + x]
                        there = windows[tile, c, fy, fx + x]
                        value = (here - there) + mirror * (here - windows[tile, c, by, bx + x])
                        value *= above[x]
                        e[x] = value
                        g[x] = value * (there - here)
                    for k in range(np.uint64(n_h)):
                        if not wanted[k, c]:
                            continue
                        # Σ w u(q), Σ a e (u(q) − u(p)), Σ a e with a = w · above.
                        for x in range(ncols):
                            weight = w[k, x]
                            num[k, c, yy, x] += weight * windows[tile, c, fy, fx + x]
                            acc_a[k, c, yy, x] += weight * g[x]
                            acc_b[k, c, yy, x] += weight * e[x]
    for k in range(n_h):
        # κ = 2/(C N h²); rates carry log2(e).
        kappa = np.float32(2.0) * inv_n * rates[k] * _LN2
        for c in range(channels):
            if not wanted[k, c]:
                for y in range(n_rows):
                    for x in range(cols):
                        estimates[tile, k, c, top + y, x] = np.nan
                        divergence[tile, k, c, top + y, x] = np.nan
                continue
            for y in range(n_rows):
                for x in range(cols):
                    here = windows[tile, c, pad + top + y, pad + x]
                    total = den[k, y, x]
                    value = num[k, c, y, x] / total
                    estimates[tile, k, c, top + y, x] = value
                    # Σ a e (u(q) − û) = Σ a e (u(q) − u(p)) − (û − u(p)) Σ a e
                    spread = acc_a[k, c, y, x] - (value - here) * acc_b[k, c, y, x]
                    divergence[tile, k, c, top + y, x] = (_ONE - kappa * spread) / total


@njit(cache=True, parallel=True)
def _sure_tiles(windows, f, r, two_sigma2, rates, wanted, band, estimates, divergence):
    """Estimates and divergences of the tiles ``windows``, (T, C, rows + 2P, cols + 2P), P = r + f.

    ``rates`` holds log2(e)/h² per strength; ``estimates`` and ``divergence`` are
    float32 (T, K, C, rows, cols) outputs. One thread per band of ``band`` rows of a tile.
    """
    n_tiles, channels, padded_rows, _ = windows.shape
    rows = padded_rows - 2 * (r + f)
    side = 2 * f + 1
    inv_n = np.float32(1.0 / (channels * side * side))
    n_bands = (rows + band - 1) // band
    for job in prange(n_tiles * n_bands):
        tile = job // n_bands
        top = (job % n_bands) * band  # first row of the band in the tile
        _sure_band(
            windows, tile, top, min(band, rows - top), f, r, two_sigma2, rates, wanted, inv_n,
            estimates, divergence,
        )  # fmt: skip


def sure_tiles(windows: np.ndarray, f: int, r: int, sigma: float, hs, wanted=None):
    """(estimates, divergence), float32 (T, K, C, rows, cols), of the padded tiles ``windows``.

    ``windows`` is (T, C, rows + 2(r + f), cols + 2(r + f)), each tile with
    its reflect-padded surroundings; ``divergence[t, k, c]`` is
    ∂û_c(p)/∂u_c(p) for strength ``hs[k]`` at every pixel p of tile t.
    ``wanted`` (K, C) bool, optional: the (strength, channel) pairs to
    compute (the others are NaN), e.g. luminance and chrominance strengths
    of opponent planes; all by default.
    """
    windows = np.ascontiguousarray(windows, dtype=np.float32)
    n_tiles, channels = windows.shape[:2]
    rows = windows.shape[2] - 2 * (r + f)
    cols = windows.shape[3] - 2 * (r + f)
    # log2(e)/h², kept finite so that 0 · rate is 0 (weight 1) for a vanishing h.
    rates = np.minimum([LOG2_E / (float(h) * float(h)) for h in hs], 3e38).astype(np.float32)
    shape = (n_tiles, len(hs), channels, rows, cols)
    if wanted is None:
        wanted = np.ones((len(hs), channels), np.bool_)
    wanted = np.ascontiguousarray(wanted, dtype=np.bool_).reshape(len(hs), channels)
    estimates = np.empty(shape, np.float32)
    divergence = np.empty(shape, np.float32)
    # Bands of rows so that every thread has work, also for one or two tiles.
    band = max(8, -(-rows * n_tiles // (4 * numba.get_num_threads())))
    band = min(band, rows)
    _sure_tiles(
        windows, int(f), int(r), np.float32(2.0 * sigma * sigma), rates, wanted, band,
        estimates, divergence,
    )  # fmt: skip
    return estimates, divergence
