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
from ._fastexp import EXP_ARG_MAX, FMA, exp_minus

ensure_kernel_cache(__file__)  # before the first cached kernel is defined

_ZERO = np.float32(0.0)
_ONE = np.float32(1.0)


@njit(cache=True, fastmath=FMA)
def _shift_terms(here, there, mirrored, mirror, e, g, n):
    """e_c(p, q) and e_c(p, q) (u_c(q) − u_c(p)) along a row, for one shift (any h).

    ``here``, ``there``, ``mirrored`` are u_c(p), u_c(p + t), u_c(p − t) along the row.
    """
    for x in range(np.uint64(n)):
        # e_c(p, q) = (u(p) − u(q)) + [t ∈ B(0,f)] (u(p) − u(p − t))
        value = (here[x] - there[x]) + mirror * (here[x] - mirrored[x])
        e[x] = value
        g[x] = value * (there[x] - here[x])


@njit(cache=True, fastmath=FMA)
def _row_terms(there, w, a, e, g, num, acc_a, acc_b, n):
    """One row, one channel, one h: Σ w u(q), Σ a e (u(q) − u(p)), Σ a e for one shift."""
    for x in range(np.uint64(n)):
        num[x] += w[x] * there[x]
        acc_a[x] += a[x] * g[x]
        acc_b[x] += a[x] * e[x]


@njit(cache=True, parallel=True, fastmath=FMA)
def _sure_tiles(windows, f, r, two_sigma2, inv_h2, band, estimates, divergence):
    """Estimates and divergences of the tiles ``windows``, (T, C, rows + 2P, cols + 2P), P = r + f.

    ``inv_h2`` holds 1/h² per strength; ``estimates`` and ``divergence`` are
    float32 (T, K, C, rows, cols) outputs. One thread per band of ``band`` rows of a tile.
    """
    n_tiles, channels, padded_rows, padded_cols = windows.shape
    n_h = inv_h2.shape[0]
    pad = r + f
    rows = padded_rows - 2 * pad
    cols = padded_cols - 2 * pad
    span = cols + 2 * f
    side = 2 * f + 1
    inv_n = np.float32(1.0 / (channels * side * side))
    n_bands = (rows + band - 1) // band
    for job in prange(n_tiles * n_bands):
        tile = job // n_bands
        top = (job % n_bands) * band  # first row of the band in the tile
        n_rows = min(band, rows - top)
        u = windows[tile]
        den = np.zeros((n_h, n_rows, cols), np.float32)
        num = np.zeros((n_h, channels, n_rows, cols), np.float32)
        acc_a = np.zeros((n_h, channels, n_rows, cols), np.float32)
        acc_b = np.zeros((n_h, channels, n_rows, cols), np.float32)
        diff = np.empty((n_rows + 2 * f, span), np.float32)
        vertical = np.empty(span, np.float32)
        excess = np.empty(cols, np.float32)
        w = np.empty((n_h, cols), np.float32)
        a = np.empty((n_h, cols), np.float32)
        e = np.empty(cols, np.float32)
        g = np.empty(cols, np.float32)
        for ty in range(-r, r + 1):
            for tx in range(-r, r + 1):
                # D_t(x) = Σ_c (u_c(x) − u_c(x + t))² on the patches' span around the tile.
                for y in range(n_rows + 2 * f):
                    out = diff[y]
                    out[:] = _ZERO
                    for c in range(channels):
                        src = u[c, r + top + y, r : r + span]
                        dst = u[c, r + top + y + ty, r + tx : r + tx + span]
                        for x in range(np.uint64(span)):
                            d = src[x] - dst[x]
                            out[x] += d * d
                near = abs(ty) <= f and abs(tx) <= f
                mirror = _ONE if near else _ZERO
                # Σ over the patch's rows, slid down the tile (running sum per column).
                vertical[:] = _ZERO
                for k in range(side):
                    for x in range(np.uint64(span)):
                        vertical[x] += diff[k, x]
                for y in range(n_rows):
                    if y > 0:
                        enter = diff[y + side - 1]
                        leave = diff[y - 1]
                        for x in range(np.uint64(span)):
                            vertical[x] += enter[x] - leave[x]
                    # d²(p, p + t) − 2σ² along the row (the patch's columns summed).
                    excess[:] = _ZERO
                    for k in range(side):
                        for x in range(np.uint64(cols)):
                            excess[x] += vertical[np.uint64(k) + x]
                    for x in range(np.uint64(cols)):
                        excess[x] = excess[x] * inv_n - two_sigma2
                    py = pad + top + y
                    for k in range(n_h):
                        # w = exp(−max(d² − 2σ², 0)/h²); a = w where d² > 2σ², else 0.
                        scale = inv_h2[k]
                        den_row = den[k, y]
                        w_k = w[k]
                        a_k = a[k]
                        for x in range(np.uint64(cols)):
                            arg = min(max(excess[x], _ZERO) * scale, EXP_ARG_MAX)
                            weight = exp_minus(arg)
                            w_k[x] = weight
                            a_k[x] = weight if excess[x] > _ZERO else _ZERO
                            den_row[x] += weight
                    for c in range(channels):
                        there = u[c, py + ty, pad + tx : pad + tx + cols]
                        _shift_terms(
                            u[c, py, pad : pad + cols],
                            there,
                            u[c, py - ty, pad - tx : pad - tx + cols],
                            mirror, e, g, cols,
                        )  # fmt: skip
                        for k in range(n_h):
                            _row_terms(
                                there, w[k], a[k], e, g,
                                num[k, c, y], acc_a[k, c, y], acc_b[k, c, y], cols,
                            )  # fmt: skip
        for k in range(n_h):
            kappa = np.float32(2.0) * inv_n * inv_h2[k]
            for c in range(channels):
                for y in range(n_rows):
                    for x in range(cols):
                        here = u[c, pad + top + y, pad + x]
                        value = num[k, c, y, x] / den[k, y, x]
                        estimates[tile, k, c, top + y, x] = value
                        # Σ a e (u(q) − û) = Σ a e (u(q) − u(p)) − (û − u(p)) Σ a e
                        spread = acc_a[k, c, y, x] - (value - here) * acc_b[k, c, y, x]
                        divergence[tile, k, c, top + y, x] = (_ONE - kappa * spread) / den[k, y, x]


def sure_tiles(windows: np.ndarray, f: int, r: int, sigma: float, hs):
    """(estimates, divergence), float32 (T, K, C, rows, cols), of the padded tiles ``windows``.

    ``windows`` is (T, C, rows + 2(r + f), cols + 2(r + f)), each tile with
    its reflect-padded surroundings; ``divergence[t, k, c]`` is
    ∂û_c(p)/∂u_c(p) for strength ``hs[k]`` at every pixel p of tile t.
    """
    windows = np.ascontiguousarray(windows, dtype=np.float32)
    n_tiles, channels = windows.shape[:2]
    rows = windows.shape[2] - 2 * (r + f)
    cols = windows.shape[3] - 2 * (r + f)
    # 1/h², kept finite so that 0 · 1/h² is 0 (weight 1) for a vanishing h.
    inv_h2 = np.minimum([1.0 / (float(h) * float(h)) for h in hs], 3e38).astype(np.float32)
    shape = (n_tiles, len(hs), channels, rows, cols)
    estimates = np.empty(shape, np.float32)
    divergence = np.empty(shape, np.float32)
    # Bands of rows so that every thread has work, also for one or two tiles.
    band = max(8, -(-rows * n_tiles // (4 * numba.get_num_threads())))
    band = min(band, rows)
    _sure_tiles(
        windows, int(f), int(r), np.float32(2.0 * sigma * sigma), inv_h2, band,
        estimates, divergence,
    )  # fmt: skip
    return estimates, divergence
