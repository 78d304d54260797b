"""Numba CPU kernel: pixelwise NLM estimates and their exact divergence, K strengths, 2-D/3-D tiles.

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
differences (across planes, then down the rows, then along them), as in the
denoising kernels; a 2-D tile is one plane with f_z = r_z = 0.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import njit, prange

from ..._kernel_cache import ensure_kernel_cache
from ...params import radii
from ._fastexp import EXP2_ARG_MIN, FMA, LOG2_E, exp2

ensure_kernel_cache(__file__)  # before the first cached kernel is defined

_ZERO = np.float32(0.0)
_ONE = np.float32(1.0)
_LN2 = np.float32(1.0 / LOG2_E)


@njit(cache=True, fastmath=FMA)
def _sure_block(
    windows, tile, z0, n_planes, top, n_rows, f, r, two_sigma2, rates, wanted, inv_n,
    estimates, divergence,
):  # fmt: skip
    """Estimates and divergences of planes [z0, z0 + n_planes) × rows [top, top + n_rows) of a tile.

    ``windows`` is (T, C, planes, rows, cols), each axis padded by its r + f;
    ``f`` and ``r`` are (z, y, x) radii (a 2-D tile is one plane with
    f_z = r_z = 0). ``rates[k]`` is log2(e) / h_k², so that
    w = 2^(−max(d² − 2σ², 0) · rates[k]); only the (strength, channel) pairs
    with ``wanted[k, c]`` are computed (NaN elsewhere). Every hot loop runs
    over a contiguous row with unsigned indices (no slices, so no reference
    counting and nothing stopping LLVM from vectorising it).
    """
    fz, fy, fx = f
    rz, ry, rx = r
    channels = windows.shape[1]
    n_h = rates.shape[0]
    pz, py, px = rz + fz, ry + fy, rx + fx
    cols = windows.shape[4] - 2 * px
    span = cols + 2 * fx
    depth, side, width = 2 * fz + 1, 2 * fy + 1, 2 * fx + 1
    tile = np.uint64(tile)
    ncols = np.uint64(cols)
    nspan = np.uint64(span)
    den = np.zeros((n_h, n_planes, n_rows, cols), np.float32)
    num = np.zeros((n_h, channels, n_planes, n_rows, cols), np.float32)
    acc_a = np.zeros((n_h, channels, n_planes, n_rows, cols), np.float32)
    acc_b = np.zeros((n_h, channels, n_planes, n_rows, cols), np.float32)
    diff = np.empty((n_planes + 2 * fz, n_rows + 2 * fy, span), np.float32)
    through = np.empty((n_rows + 2 * fy, span), np.float32)
    vertical = np.empty(span, np.float32)
    excess = np.empty(cols, np.float32)
    w = np.empty((n_h, cols), np.float32)
    above = np.empty(cols, np.float32)
    e = np.empty(cols, np.float32)
    g = np.empty(cols, np.float32)
    for tz in range(-rz, rz + 1):
        for ty in range(-ry, ry + 1):
            for tx in range(-rx, rx + 1):
                # D_t(x) = Σ_c (u_c(x) − u_c(x + t))² on the patches' span around the block.
                col0 = np.uint64(rx)
                col1 = np.uint64(rx + tx)
                for z in range(n_planes + 2 * fz):
                    plane0 = np.uint64(rz + z0 + z)
                    plane1 = np.uint64(rz + z0 + z + tz)
                    zz = np.uint64(z)
                    for y in range(n_rows + 2 * fy):
                        row0 = np.uint64(ry + top + y)
                        row1 = np.uint64(ry + top + y + ty)
                        yy = np.uint64(y)
                        for x in range(nspan):
                            diff[zz, yy, x] = _ZERO
                        for c in range(np.uint64(channels)):
                            for x in range(nspan):
                                d = (windows[tile, c, plane0, row0, col0 + x]
                                     - windows[tile, c, plane1, row1, col1 + x])  # fmt: skip
                                diff[zz, yy, x] += d * d
                inside = abs(tz) <= fz and abs(ty) <= fy and abs(tx) <= fx
                mirror = _ONE if inside else _ZERO
                for z in range(n_planes):
                    zz = np.uint64(z)
                    # Σ over the patch's planes, slid along the block (running sum).
                    if depth == 1:
                        summed = diff[zz]
                    else:
                        summed = through
                        if z == 0:
                            for y in range(n_rows + 2 * fy):
                                for x in range(nspan):
                                    through[y, x] = diff[0, y, x]
                            for k in range(1, depth):
                                for y in range(n_rows + 2 * fy):
                                    for x in range(nspan):
                                        through[y, x] += diff[k, y, x]
                        else:
                            enter = np.uint64(z + depth - 1)
                            leave = np.uint64(z - 1)
                            for y in range(n_rows + 2 * fy):
                                for x in range(nspan):
                                    through[y, x] += diff[enter, y, x] - diff[leave, y, x]
                    # Σ over the patch's rows, slid down the block (running sum per column).
                    for x in range(nspan):
                        vertical[x] = _ZERO
                    for k in range(np.uint64(side)):
                        for x in range(nspan):
                            vertical[x] += summed[k, x]
                    pz_ = np.uint64(pz + z0 + z)
                    fz_ = np.uint64(pz + z0 + z + tz)
                    bz_ = np.uint64(pz + z0 + z - tz)
                    for y in range(n_rows):
                        yy = np.uint64(y)
                        if y > 0:
                            enter = np.uint64(y + side - 1)
                            leave = np.uint64(y - 1)
                            for x in range(nspan):
                                vertical[x] += summed[enter, x] - summed[leave, x]
                        # d²(p, p + t) − 2σ² along the row (the patch's columns summed).
                        for x in range(ncols):
                            excess[x] = vertical[x]
                        for k in range(np.uint64(1), np.uint64(width)):
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
                                den[k, zz, yy, x] += weight
                        py_ = np.uint64(py + top + y)
                        fy_ = np.uint64(py + top + y + ty)
                        by_ = np.uint64(py + top + y - ty)
                        px_ = np.uint64(px)
                        fx_ = np.uint64(px + tx)
                        bx_ = np.uint64(px - tx)
                        for c in range(np.uint64(channels)):
                            # e_c(p, q) = (u(p) − u(q)) + [t ∈ B(0,f)] (u(p) − u(p − t)), and
                            # g = e_c(p, q) (u(q) − u(p)), q = p + t; both where d² > 2σ² only.
                            for x in range(ncols):
                                here = windows[tile, c, pz_, py_, px_ + x]
                                there = windows[tile, c, fz_, fy_, fx_ + x]
                                back = windows[tile, c, bz_, by_, bx_ + x]
                                value = (here - there) + mirror * (here - back)
                                value *= above[x]
                                e[x] = value
                                g[x] = value * (there - here)
                            for k in range(np.uint64(n_h)):
                                if not wanted[k, c]:
                                    continue
                                # Σ w u(q), Σ a e (u(q) − u(p)), Σ a e with a = w · above.
                                for x in range(ncols):
                                    weight = w[k, x]
                                    there = windows[tile, c, fz_, fy_, fx_ + x]
                                    num[k, c, zz, yy, x] += weight * there
                                    acc_a[k, c, zz, yy, x] += weight * g[x]
                                    acc_b[k, c, zz, yy, x] += weight * e[x]
    for k in range(n_h):
        # κ = 2/(C N h²); rates carry log2(e).
        kappa = np.float32(2.0) * inv_n * rates[k] * _LN2
        for c in range(channels):
            for z in range(n_planes):
                plane = z0 + z
                for y in range(n_rows):
                    row = top + y
                    if not wanted[k, c]:
                        for x in range(cols):
                            estimates[tile, k, c, plane, row, x] = np.nan
                            divergence[tile, k, c, plane, row, x] = np.nan
                        continue
                    for x in range(cols):
                        here = windows[tile, c, pz + plane, py + row, px + x]
                        total = den[k, z, y, x]
                        value = num[k, c, z, y, x] / total
                        estimates[tile, k, c, plane, row, x] = value
                        # Σ a e (u(q) − û) = Σ a e (u(q) − u(p)) − (û − u(p)) Σ a e
                        spread = acc_a[k, c, z, y, x] - (value - here) * acc_b[k, c, z, y, x]
                        divergence[tile, k, c, plane, row, x] = (_ONE - kappa * spread) / total


@njit(cache=True, parallel=True)
def _sure_tiles(windows, f, r, two_sigma2, rates, wanted, slab, band, estimates, divergence):
    """Estimates and divergences of the tiles ``windows``, (T, C, planes, rows, cols) padded.

    ``f`` and ``r`` are (z, y, x) radii, each axis of a tile padded by its
    r + f; ``rates`` holds log2(e)/h² per strength; ``estimates`` and
    ``divergence`` are float32 (T, K, C, planes, rows, cols) outputs. One
    thread per block of ``slab`` planes and ``band`` rows of a tile.
    """
    n_tiles, channels = windows.shape[:2]
    planes = windows.shape[2] - 2 * (r[0] + f[0])
    rows = windows.shape[3] - 2 * (r[1] + f[1])
    inv_n = np.float32(1.0 / (channels * (2 * f[0] + 1) * (2 * f[1] + 1) * (2 * f[2] + 1)))
    n_slabs = (planes + slab - 1) // slab
    n_bands = (rows + band - 1) // band
    for job in prange(n_tiles * n_slabs * n_bands):
        tile = job // (n_slabs * n_bands)
        z0 = (job // n_bands % n_slabs) * slab  # first plane of the block in the tile
        top = (job % n_bands) * band  # first row of the block
        _sure_block(
            windows, tile, z0, min(slab, planes - z0), top, min(band, rows - top), f, r,
            two_sigma2, rates, wanted, inv_n, estimates, divergence,
        )  # fmt: skip


def sure_tiles(windows: np.ndarray, f, r, sigma: float, hs, wanted=None):
    """(estimates, divergence), float32 (T, K, C, *S), of the padded tiles ``windows``.

    ``windows`` is (T, C, *S padded), S two or three axes, each tile with its
    reflect-padded surroundings (r_k + f_k on axis k); ``f`` and ``r`` are one
    int for every axis or one per axis. ``divergence[t, k, c]`` is
    ∂û_c(p)/∂u_c(p) for strength ``hs[k]`` at every pixel p of tile t.
    ``wanted`` (K, C) bool, optional: the (strength, channel) pairs to
    compute (the others are NaN), e.g. luminance and chrominance strengths
    of opponent planes; all by default.
    """
    windows = np.ascontiguousarray(windows, dtype=np.float32)
    ndim = windows.ndim - 2
    if ndim not in (2, 3):
        raise ValueError(f"exact SURE tiles have 2 or 3 spatial axes, not {ndim}")
    f = (0,) * (3 - ndim) + tuple(radii(f, ndim))
    r = (0,) * (3 - ndim) + tuple(radii(r, ndim))
    padded = windows.reshape(windows.shape[:2] + (1,) * (3 - ndim) + windows.shape[2:])
    n_tiles, channels = windows.shape[:2]
    inner = tuple(n - 2 * (rk + fk) for n, rk, fk in zip(padded.shape[2:], r, f, strict=True))
    # log2(e)/h², kept finite so that 0 · rate is 0 (weight 1) for a vanishing h.
    rates = np.minimum([LOG2_E / (float(h) * float(h)) for h in hs], 3e38).astype(np.float32)
    if wanted is None:
        wanted = np.ones((len(hs), channels), np.bool_)
    wanted = np.ascontiguousarray(wanted, dtype=np.bool_).reshape(len(hs), channels)
    shape = (n_tiles, len(hs), channels) + inner
    estimates = np.empty(shape, np.float32)
    divergence = np.empty(shape, np.float32)
    # Blocks so that every thread has work, also for one or two tiles: bands of
    # rows on 2-D tiles, slabs of planes (whole planes) on 3-D ones. A block's
    # running sums round on their own, so the blocks follow the machine's thread
    # pool, not the threads in use: the same bits (and SURE's choice) for any --threads.
    jobs = 4 * numba.config.NUMBA_NUM_THREADS
    planes, rows = inner[0], inner[1]
    if planes == 1:
        slab, band = 1, min(rows, max(8, -(-rows * n_tiles // jobs)))
    else:
        slab, band = min(planes, max(2, -(-planes * n_tiles // jobs))), rows
    _sure_tiles(
        padded, tuple(int(v) for v in f), tuple(int(v) for v in r), np.float32(2.0 * sigma * sigma),
        rates, wanted, slab, band, estimates, divergence,
    )  # fmt: skip
    out = (n_tiles, len(hs), channels) + inner[3 - ndim :]
    return estimates.reshape(out), divergence.reshape(out)
