"""Numba CPU kernels for NLM on 1 to 4 spatial axes with per-axis patch and search radii.

The formulas are those of :mod:`nlmeans.backends.reference` (Buades, Coll &
Morel, IPOL 2011): for a shift t, d²(p, p + t) = Σ_c Σ_{j ∈ B(0,f)} D_t(p + j) /
(C N) with D_t(y) = Σ_c (u_c(y) − u_c(y + t))², and w = exp(−max(d² − 2σ², 0) / h²).

Every input is viewed with 4 spatial axes (leading axes of size 1, f = r = 0),
so one compiled kernel serves D = 1 … 4. Threads take tiles of the output (a
block of at most ``tile`` pixels per axis). Within a tile, for each shift:

1. D_t on the tile's region plus a halo of f_k per axis, summed at once along
   the last axis over the patch (2 f_3 + 1 shifted, vectorised adds);
2. box sums along the other axes with running sums (add the slab entering the
   patch, subtract the one leaving), so the cost does not grow with f
   (Darbon, Cunha, Chan, Osher & Jensen, 2008);
3. the weights, then the weighted sums of the estimate.

With the Gaussian patch kernel (d²_g of :mod:`nlmeans.backends.reference`) the
patch sums of steps 1 and 2 are weighted: Σ_j g(j) D_t(p + j) with
g(j) = Π_k g_k(j_k) is separable, a weighted sum of 2 f_k + 1 terms along each
axis in turn (O(Σ_k (2 f_k + 1)) per pixel and shift instead of running sums).

Pixelwise, the distance is symmetric, d²(p, p + t) = d²(p + t, p): only the
shifts t > 0 (after 0 in raster order) are computed, on the tile extended by
|t_k| so that W_t(p) = w(p, p + t) is known at p and at p − t, and

    û_c(p) = [u_c(p) + Σ_{t>0} W_t(p) u_c(p + t) + W_t(p − t) u_c(p − t)]
             / [1 + Σ_{t>0} W_t(p) + W_t(p − t)].

Patchwise, pass 1 computes C(p) = Σ_t w(p, p + t) the same way (the
denominator alone) for the patch centres of the image plus an f margin; pass 2
adds, for every shift, u_c(x + t) · Σ_{j ∈ B(0,f)} V_t(x − j) with V_t = W_t / C
(box sums over the patch again), and divides by N.

K strengths h at once (SURE sweeps) share the patch sums of each shift. Sums
over the shifts are two-level in float32: the terms of one line of shifts (the
last axis of t) go into per-tile partial sums, which are then added to the
totals. Working memory: the input, the output and O(tile) per thread.
"""

from __future__ import annotations

import itertools

import numba
import numpy as np
from numba import njit, prange

from ...kernel_cache import ensure_kernel_cache
from ..contract import patch_profiles, weight_constants
from .fastexp import EXP_ARG_MAX, FMA, exp_minus

ensure_kernel_cache(__file__)  # before the first cached kernel is defined

_ZERO = np.float32(0.0)
_ONE = np.float32(1.0)
#: Axes of the internal view.
_AXES = 4
#: Output pixels per tile (before clipping to the image), see :func:`tile_shape`.
TILE_PIXELS = 65536

# Inner loops run over contiguous memory with unsigned (uint64) indices, so
# Numba drops the negative-index wrap-around and LLVM vectorises them. Work
# buffers are flat float32 arrays holding 4-D blocks in C order.


@njit(cache=True, inline="always")
def _u(value):
    return np.uint64(value)


@njit(cache=True, fastmath=FMA)
def _box_last(line, dst, dst_at, n_out, fk):
    """dst[dst_at + x] = Σ_{b ≤ 2 fk} line[x + b], x < n_out: the patch sum along the last axis."""
    n = _u(n_out)
    at = _u(dst_at)
    one, two, three = _u(1), _u(2), _u(3)
    if fk == 0:
        for x in range(n):
            dst[at + x] = line[x]
    elif fk == 1:
        for x in range(n):
            dst[at + x] = line[x] + line[x + one] + line[x + two]
    elif fk == 2:
        for x in range(n):
            dst[at + x] = (
                (line[x] + line[x + one]) + (line[x + two] + line[x + three]) + line[x + _u(4)]
            )
    elif fk == 3:
        for x in range(n):
            pairs = (line[x] + line[x + one]) + (line[x + two] + line[x + three])
            dst[at + x] = pairs + (line[x + _u(4)] + line[x + _u(5)]) + line[x + _u(6)]
    else:
        for x in range(n):
            dst[at + x] = line[x]
        for b in range(one, _u(2 * fk + 1)):
            for x in range(n):
                dst[at + x] += line[x + b]


@njit(cache=True, fastmath=FMA)
def _box_running(src, dst, outer, length, inner, fk):
    """Patch sum along the middle axis of a flat (outer, length, inner) block.

    dst[o, i, :] = Σ_{a ≤ 2 fk} src[o, i + a, :] for i < length − 2 fk, by a running
    sum: row i is row i − 1 plus the row entering the patch minus the one leaving.
    """
    n_out = length - 2 * fk
    m = _u(inner)
    for o in range(outer):
        s_base = _u(o * length * inner)
        d_base = _u(o * n_out * inner)
        for x in range(m):
            dst[d_base + x] = src[s_base + x]
        for a in range(1, 2 * fk + 1):
            s_row = s_base + _u(a * inner)
            for x in range(m):
                dst[d_base + x] += src[s_row + x]
        for i in range(1, n_out):
            prev = d_base + _u((i - 1) * inner)
            row = d_base + _u(i * inner)
            enter = s_base + _u((i + 2 * fk) * inner)
            leave = s_base + _u((i - 1) * inner)
            for x in range(m):
                dst[row + x] = dst[prev + x] + src[enter + x] - src[leave + x]


@njit(cache=True, fastmath=FMA)
def _box_sums(cur, spare, lens, f):
    """Patch sums along axes 0-2 of the flat 4-D block ``cur`` of shape ``lens``.

    Axis k shrinks by 2 f_k. Returns (buffer holding the result, the other buffer).
    """
    l0, l1, l2, l3 = lens
    if f[2] > 0:
        _box_running(cur, spare, l0 * l1, l2, l3, f[2])
        cur, spare = spare, cur
        l2 -= 2 * f[2]
    if f[1] > 0:
        _box_running(cur, spare, l0, l1, l2 * l3, f[1])
        cur, spare = spare, cur
        l1 -= 2 * f[1]
    if f[0] > 0:
        _box_running(cur, spare, 1, l0, l1 * l2 * l3, f[0])
        cur, spare = spare, cur
    return cur, spare


@njit(cache=True, fastmath=FMA)
def _weighted_last(line, dst, dst_at, n_out, g, fk):
    """dst[dst_at + x] = Σ_{b ≤ 2 fk} g[b] line[x + b], x < n_out: the Gaussian patch sum
    along the last axis (g = g_3, the axis's patch weights)."""
    n = _u(n_out)
    at = _u(dst_at)
    g0 = g[0]
    for x in range(n):
        dst[at + x] = g0 * line[x]
    for b in range(_u(1), _u(2 * fk + 1)):
        gb = g[b]
        for x in range(n):
            dst[at + x] += gb * line[x + b]


@njit(cache=True, fastmath=FMA)
def _weighted_axis(src, dst, outer, length, inner, g, fk):
    """Gaussian patch sum along the middle axis of a flat (outer, length, inner) block.

    dst[o, i, :] = Σ_{a ≤ 2 fk} g[a] src[o, i + a, :] for i < length − 2 fk: a weighted
    sum of 2 fk + 1 rows (no running sum: the weights differ along the patch).
    """
    n_out = length - 2 * fk
    m = _u(inner)
    for o in range(outer):
        s_base = o * length * inner
        d_base = o * n_out * inner
        for i in range(n_out):
            row = _u(d_base + i * inner)
            first = _u(s_base + i * inner)
            g0 = g[0]
            for x in range(m):
                dst[row + x] = g0 * src[first + x]
            for a in range(1, 2 * fk + 1):
                ga = g[a]
                there = _u(s_base + (i + a) * inner)
                for x in range(m):
                    dst[row + x] += ga * src[there + x]


@njit(cache=True, fastmath=FMA)
def _weighted_sums(cur, spare, lens, f, profiles):
    """Gaussian patch sums along axes 0-2 of the flat 4-D block ``cur`` of shape ``lens``
    (as :func:`_box_sums`, each axis weighted by its row of ``profiles``)."""
    l0, l1, l2, l3 = lens
    if f[2] > 0:
        _weighted_axis(cur, spare, l0 * l1, l2, l3, profiles[2], f[2])
        cur, spare = spare, cur
        l2 -= 2 * f[2]
    if f[1] > 0:
        _weighted_axis(cur, spare, l0, l1, l2 * l3, profiles[1], f[1])
        cur, spare = spare, cur
        l1 -= 2 * f[1]
    if f[0] > 0:
        _weighted_axis(cur, spare, 1, l0, l1 * l2 * l3, profiles[0], f[0])
        cur, spare = spare, cur
    return cur, spare


@njit(cache=True, fastmath=FMA)
def _patch_sums(padded, start, t, ext, f, line, cur, spare, profiles, gaussian):
    """Un-normalised patch distances C N d²(p, p + t) on a block of patch centres.

    The block has ``ext`` centres per axis; its first centre is padded index
    ``start + f``. With ``gaussian``, C d²_g(p, p + t) instead: the offsets j of
    the patch weighted by g(j) = Π_k profiles[k, j_k + f_k] (separable, one axis
    at a time). Returns the buffer holding them (flat, C order) and the other one.
    """
    n_channels = padded.shape[0]
    l0 = ext[0] + 2 * f[0]
    l1 = ext[1] + 2 * f[1]
    l2 = ext[2] + 2 * f[2]
    l3 = _u(ext[3] + 2 * f[3])
    a3 = _u(start[3])
    b3 = _u(start[3] + t[3])
    zero = _u(0)
    out_at = 0
    for i0 in range(l0):
        a0, b0 = _u(start[0] + i0), _u(start[0] + t[0] + i0)
        for i1 in range(l1):
            a1, b1 = _u(start[1] + i1), _u(start[1] + t[1] + i1)
            for i2 in range(l2):
                a2, b2 = _u(start[2] + i2), _u(start[2] + t[2] + i2)
                # D_t(y) = Σ_c (u_c(y) − u_c(y + t))² along one line of the last axis.
                for j in range(l3):
                    d = padded[zero, a0, a1, a2, a3 + j] - padded[zero, b0, b1, b2, b3 + j]
                    line[j] = d * d
                for c in range(_u(1), _u(n_channels)):
                    for j in range(l3):
                        d = padded[c, a0, a1, a2, a3 + j] - padded[c, b0, b1, b2, b3 + j]
                        line[j] += d * d
                # Σ_{j_3} D_t(y + j_3) (× g_3(j_3)): the patch sum along the last axis.
                if gaussian:
                    _weighted_last(line, cur, out_at, ext[3], profiles[3], f[3])
                else:
                    _box_last(line, cur, out_at, ext[3], f[3])
                out_at += ext[3]
    # Σ over j_0, j_1, j_2 of the patch: running sums along the other axes (uniform),
    # weighted sums (Gaussian).
    if gaussian:
        return _weighted_sums(cur, spare, (l0, l1, l2, ext[3]), f, profiles)
    return _box_sums(cur, spare, (l0, l1, l2, ext[3]), f)


@njit(cache=True, fastmath=FMA)
def _weights(sums, n, scale, offset, weights):
    """weights[i] = exp(−max(d² − 2σ², 0) / h²), d²/h² = sums[i] · scale, offset = 2σ²/h²."""
    for i in range(_u(n)):
        arg = min(max(sums[i] * scale - offset, _ZERO), EXP_ARG_MAX)
        weights[i] = exp_minus(arg)


@njit(cache=True, fastmath=FMA)
def _accumulate(padded, weights, ext, fwd_at, bwd_at, o_fwd, o_bwd, n, num, den, two_sided):
    """Add the terms of one shift t to the tile's partial sums.

    ``weights`` holds W_t on a block of shape ``ext``; W_t(p) is at block index
    m + ``fwd_at`` and W_t(p − t) at m + ``bwd_at`` for tile pixel m. u_c(p + t) is
    padded index ``o_fwd`` + m, u_c(p − t) is ``o_bwd`` + m. Adds
    num_c += W_t(p) u_c(p + t) [+ W_t(p − t) u_c(p − t)] and den += W_t(p) [+ W_t(p − t)]
    (the bracketed terms when ``two_sided``); ``num`` is (C, tile) flat, ``den`` (tile,).
    ``num`` has 0 channels when only the denominator is wanted.
    """
    n_channels = num.shape[0]
    e1, e2, e3 = ext[1], ext[2], ext[3]
    n3 = _u(n[3])
    zero = _u(0)
    m_at = 0
    for m0 in range(n[0]):
        for m1 in range(n[1]):
            for m2 in range(n[2]):
                wf = _u(((fwd_at[0] + m0) * e1 + fwd_at[1] + m1) * e2 + fwd_at[2] + m2) * _u(e3)
                wf += _u(fwd_at[3])
                wb = _u(((bwd_at[0] + m0) * e1 + bwd_at[1] + m1) * e2 + bwd_at[2] + m2) * _u(e3)
                wb += _u(bwd_at[3])
                f0, f1, f2 = _u(o_fwd[0] + m0), _u(o_fwd[1] + m1), _u(o_fwd[2] + m2)
                b0, b1, b2 = _u(o_bwd[0] + m0), _u(o_bwd[1] + m1), _u(o_bwd[2] + m2)
                f3, b3 = _u(o_fwd[3]), _u(o_bwd[3])
                at = _u(m_at)
                if not two_sided:
                    for x in range(n3):
                        den[at + x] += weights[wf + x]
                    for c in range(n_channels):
                        for x in range(n3):
                            num[c, at + x] += weights[wf + x] * padded[c, f0, f1, f2, f3 + x]
                elif n_channels == 1:
                    for x in range(n3):
                        w_f = weights[wf + x]
                        w_b = weights[wb + x]
                        den[at + x] += w_f + w_b
                        num[zero, at + x] += (
                            w_f * padded[zero, f0, f1, f2, f3 + x]
                            + w_b * padded[zero, b0, b1, b2, b3 + x]
                        )
                else:
                    for x in range(n3):
                        den[at + x] += weights[wf + x] + weights[wb + x]
                    for c in range(n_channels):
                        for x in range(n3):
                            num[c, at + x] += (
                                weights[wf + x] * padded[c, f0, f1, f2, f3 + x]
                                + weights[wb + x] * padded[c, b0, b1, b2, b3 + x]
                            )
                m_at += n[3]


@njit(cache=True)
def _fold(total, partial):
    """total += partial, then partial = 0 (C-contiguous arrays of one shape)."""
    total = total.reshape(-1)
    partial = partial.reshape(-1)
    for k in range(_u(total.size)):
        total[k] += partial[k]
        partial[k] = _ZERO


@njit(cache=True)
def _tile_extent(shape, tile, origin):
    """Pixels of the tile at ``origin`` along each axis (clipped to ``shape``)."""
    return (
        min(tile[0], shape[0] - origin[0]),
        min(tile[1], shape[1] - origin[1]),
        min(tile[2], shape[2] - origin[2]),
        min(tile[3], shape[3] - origin[3]),
    )


@njit(cache=True)
def _capacity(tile, r, f, extra):
    """Largest flat block: the tile plus r_k + extra · f_k per axis."""
    total = 1
    for k in range(_AXES):
        total *= tile[k] + r[k] + extra * f[k]
    return total


@njit(parallel=True, cache=True, nogil=True, fastmath=FMA)
def _symmetric_kernel(
    padded, f, r, shifts, fold_after, scales, offsets, origins, tile, norm_only, out,
    profiles, gaussian,
):  # fmt: skip
    """Pixelwise NLM, or its denominator alone, from the shifts t > 0 (raster order).

    ``padded`` is (C, S_k + 2(r_k + f_k)) with 4 spatial axes. With Σ over the
    whole window B(0, r): ``out`` (K, C, S) receives û_c = Σ_t w_k u_c(p + t) / Σ_t w_k;
    with ``norm_only``, ``out`` (K, 1, S) receives 1 / C_k(p) = 1 / Σ_t w_k(p, p + t).
    Each shift t serves p (candidate p + t) and p + t (candidate p). ``profiles``
    (4, W) and ``gaussian``: the patch weights, as in :func:`_patch_sums`.
    """
    n_h = scales.shape[0]
    n_channels = 0 if norm_only else out.shape[1]
    shape = out.shape[2:]
    pad = (r[0] + f[0], r[1] + f[1], r[2] + f[2], r[3] + f[3])
    size = _capacity(tile, r, f, 2)
    for tile_index in prange(origins.shape[0]):
        o = (
            origins[tile_index, 0],
            origins[tile_index, 1],
            origins[tile_index, 2],
            origins[tile_index, 3],
        )
        n = _tile_extent(shape, tile, o)
        n_tile = n[0] * n[1] * n[2] * n[3]
        buf_a = np.empty(size, dtype=np.float32)
        buf_b = np.empty(size, dtype=np.float32)
        weights = np.empty(size, dtype=np.float32)
        line = np.empty(tile[3] + r[3] + 2 * f[3], dtype=np.float32)
        num = np.zeros((n_h, n_channels, n_tile), dtype=np.float32)
        den = np.zeros((n_h, n_tile), dtype=np.float32)
        part_num = np.zeros((n_h, n_channels, n_tile), dtype=np.float32)
        part_den = np.zeros((n_h, n_tile), dtype=np.float32)
        # The t = 0 term: w(p, p) = 1, so num_c = u_c(p), den = 1.
        at = 0
        for m0 in range(n[0]):
            for m1 in range(n[1]):
                for m2 in range(n[2]):
                    for m3 in range(n[3]):
                        for k in range(n_h):
                            den[k, at] = _ONE
                            for c in range(n_channels):
                                num[k, c, at] = padded[
                                    c,
                                    pad[0] + o[0] + m0,
                                    pad[1] + o[1] + m1,
                                    pad[2] + o[2] + m2,
                                    pad[3] + o[3] + m3,
                                ]
                        at += 1
        for s in range(shifts.shape[0]):
            t = (shifts[s, 0], shifts[s, 1], shifts[s, 2], shifts[s, 3])
            # W_t is needed at p (tile pixels) and at p − t: the block of centres
            # from o + min(0, −t) spanning n + |t| per axis.
            lo = (min(0, -t[0]), min(0, -t[1]), min(0, -t[2]), min(0, -t[3]))
            ext = (n[0] + abs(t[0]), n[1] + abs(t[1]), n[2] + abs(t[2]), n[3] + abs(t[3]))
            # Padded index of D_t's first entry: centre o + lo, minus f, plus pad.
            start = (
                o[0] + lo[0] + r[0],
                o[1] + lo[1] + r[1],
                o[2] + lo[2] + r[2],
                o[3] + lo[3] + r[3],
            )
            sums, _ = _patch_sums(padded, start, t, ext, f, line, buf_a, buf_b, profiles, gaussian)
            n_ext = ext[0] * ext[1] * ext[2] * ext[3]
            fwd_at = (-lo[0], -lo[1], -lo[2], -lo[3])  # block index of p
            bwd_at = (-lo[0] - t[0], -lo[1] - t[1], -lo[2] - t[2], -lo[3] - t[3])  # of p − t
            o_fwd = (
                pad[0] + o[0] + t[0],
                pad[1] + o[1] + t[1],
                pad[2] + o[2] + t[2],
                pad[3] + o[3] + t[3],
            )
            o_bwd = (
                pad[0] + o[0] - t[0],
                pad[1] + o[1] - t[1],
                pad[2] + o[2] - t[2],
                pad[3] + o[3] - t[3],
            )
            for k in range(n_h):
                # W_t = w_k(p, p + t) = exp(−max(d² − 2σ², 0) / h_k²) on the block.
                _weights(sums, n_ext, scales[k], offsets[k], weights)
                # Σ w u_c(q) and Σ w: the terms q = p + t and q = p − t.
                _accumulate(
                    padded,
                    weights,
                    ext,
                    fwd_at,
                    bwd_at,
                    o_fwd,
                    o_bwd,
                    n,
                    part_num[k],
                    part_den[k],
                    True,
                )
            if fold_after[s]:
                _fold(num, part_num)
                _fold(den, part_den)
        _fold(num, part_num)
        _fold(den, part_den)
        at = 0
        for m0 in range(n[0]):
            for m1 in range(n[1]):
                for m2 in range(n[2]):
                    for m3 in range(n[3]):
                        y0, y1, y2, y3 = o[0] + m0, o[1] + m1, o[2] + m2, o[3] + m3
                        # û_c(p) = Σ w u_c / Σ w; Σ w ≥ w(p, p) = 1.
                        for k in range(n_h):
                            if norm_only:
                                out[k, 0, y0, y1, y2, y3] = _ONE / den[k, at]
                            for c in range(n_channels):
                                out[k, c, y0, y1, y2, y3] = num[k, c, at] / den[k, at]
                        at += 1


@njit(parallel=True, cache=True, nogil=True, fastmath=FMA)
def _aggregation_kernel(
    padded, f, r, shifts, fold_after, scales, offsets, inv_norm, origins, tile, out,
    profiles, gaussian,
):  # fmt: skip
    """Patchwise pass 2: out[k, c, x] = 1/N Σ_t u_c(x + t) Σ_{j ∈ B(0,f)} V_t(x − j).

    V_t(p) = w_k(p, p + t) / C_k(p), with ``inv_norm`` (K, S + 2f) = 1 / C_k on the patch
    centres (centre index = pixel + f). ``padded`` is (C, S_k + 2(r_k + 2 f_k)).
    ``profiles``, ``gaussian``: the patch distance's weights (:func:`_patch_sums`); the
    aggregation over the patches stays the uniform 1/N average.
    """
    n_h, n_channels = out.shape[0], out.shape[1]
    shape = out.shape[2:]
    pad = (r[0] + 2 * f[0], r[1] + 2 * f[1], r[2] + 2 * f[2], r[3] + 2 * f[3])
    inv_n = np.float32(1.0 / ((2 * f[0] + 1) * (2 * f[1] + 1) * (2 * f[2] + 1) * (2 * f[3] + 1)))
    cap = (tile[0] + 2 * f[0], tile[1] + 2 * f[1], tile[2] + 2 * f[2], tile[3] + 2 * f[3])
    size = _capacity(tile, (0, 0, 0, 0), f, 4)
    c1, c2, c3 = inv_norm.shape[3], inv_norm.shape[4], inv_norm.shape[5]
    for tile_index in prange(origins.shape[0]):
        o = (
            origins[tile_index, 0],
            origins[tile_index, 1],
            origins[tile_index, 2],
            origins[tile_index, 3],
        )
        n = _tile_extent(shape, tile, o)
        n_tile = n[0] * n[1] * n[2] * n[3]
        # Patch centres x − j of the tile: centre indices o … o + n + 2f (exclusive).
        ext = (n[0] + 2 * f[0], n[1] + 2 * f[1], n[2] + 2 * f[2], n[3] + 2 * f[3])
        buf_a = np.empty(size, dtype=np.float32)
        buf_b = np.empty(size, dtype=np.float32)
        share = np.empty(size, dtype=np.float32)
        line = np.empty(cap[3] + 2 * f[3], dtype=np.float32)
        acc = np.zeros((n_h, n_channels, n_tile), dtype=np.float32)
        part = np.zeros((n_h, n_channels, n_tile), dtype=np.float32)
        unused = np.zeros(n_tile, dtype=np.float32)
        start = (o[0] + r[0], o[1] + r[1], o[2] + r[2], o[3] + r[3])
        for s in range(shifts.shape[0]):
            t = (shifts[s, 0], shifts[s, 1], shifts[s, 2], shifts[s, 3])
            sums, spare = _patch_sums(
                padded, start, t, ext, f, line, buf_a, buf_b, profiles, gaussian
            )
            o_fwd = (
                pad[0] + o[0] + t[0],
                pad[1] + o[1] + t[1],
                pad[2] + o[2] + t[2],
                pad[3] + o[3] + t[3],
            )
            for k in range(n_h):
                scale, offset = scales[k], offsets[k]
                flat_inv = inv_norm[k, 0].reshape(-1)
                # V_t(p) = w_k(p, p + t) / C_k(p) for the tile's patch centres, then
                # Σ_{j_3} V_t(x − j) along the last axis (one line at a time).
                at = 0
                for i0 in range(ext[0]):
                    for i1 in range(ext[1]):
                        for i2 in range(ext[2]):
                            row = _u(at)
                            src = _u(((o[0] + i0) * c1 + o[1] + i1) * c2 + o[2] + i2) * _u(c3)
                            src += _u(o[3])
                            for x in range(_u(ext[3])):
                                arg = min(max(sums[row + x] * scale - offset, _ZERO), EXP_ARG_MAX)
                                line[x] = exp_minus(arg) * flat_inv[src + x]
                            _box_last(line, spare, at // ext[3] * n[3], n[3], f[3])
                            at += ext[3]
                # Σ over j_0, j_1, j_2: box sums along the other axes (into ``share``).
                # (They use ``spare`` and ``share`` only: ``sums`` serves the next k.)
                box, _ = _box_sums(spare, share, (ext[0], ext[1], ext[2], n[3]), f)
                # û_c(x) gathers u_c(x + t) · Σ_j V_t(x − j).
                _accumulate(
                    padded,
                    box,
                    n,
                    (0, 0, 0, 0),
                    (0, 0, 0, 0),
                    o_fwd,
                    o_fwd,
                    n,
                    part[k],
                    unused,
                    False,
                )
            if fold_after[s]:
                _fold(acc, part)
        _fold(acc, part)
        # û_c(x) = 1/N Σ_t (…): the patch estimates are averaged over the N patches.
        at = 0
        for m0 in range(n[0]):
            for m1 in range(n[1]):
                for m2 in range(n[2]):
                    for m3 in range(n[3]):
                        for k in range(n_h):
                            for c in range(n_channels):
                                out[k, c, o[0] + m0, o[1] + m1, o[2] + m2, o[3] + m3] = (
                                    acc[k, c, at] * inv_n
                                )
                        at += 1


def _as_4d(padded: np.ndarray, f, r) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(padded as (C, 4 spatial axes) float32, f, r as 4 int64) with leading f = r = 0 axes."""
    padded = np.ascontiguousarray(padded, dtype=np.float32)
    f = tuple(int(v) for v in f)
    r = tuple(int(v) for v in r)
    dims = padded.ndim - 1
    if not 1 <= dims <= _AXES:
        raise ValueError(f"expected 1 to {_AXES} spatial axes, got a {padded.shape} stack")
    if len(f) != dims or len(r) != dims:
        raise ValueError(f"f={f} and r={r} need {dims} entries for a {padded.shape} stack")
    if min(f + r) < 0:
        raise ValueError(f"radii must be >= 0, got f={f}, r={r}")
    lead = _AXES - dims
    view = padded.reshape((padded.shape[0],) + (1,) * lead + padded.shape[1:])
    return view, np.array((0,) * lead + f, np.int64), np.array((0,) * lead + r, np.int64)


def _shifts(r: np.ndarray, half: bool) -> tuple[np.ndarray, np.ndarray]:
    """Shifts t of B(0, r) in raster order (only t > 0 when ``half``), and where to fold.

    ``fold_after[s]`` is true at the end of each line of shifts (last axis of t),
    where the tiles add their partial sums to their totals.
    """
    every = np.array(list(itertools.product(*(range(-k, k + 1) for k in r))), np.int64)
    every = every.reshape(-1, _AXES)
    if half:
        every = every[len(every) // 2 + 1 :]  # raster order is symmetric about t = 0
    fold_after = np.ones(len(every), np.bool_)
    if len(every) > 1:
        fold_after[:-1] = np.any(every[1:, :3] != every[:-1, :3], axis=1)
    return every, fold_after


def tile_shape(shape, f, r, pixels: int = TILE_PIXELS) -> np.ndarray:
    """Tile (output pixels per axis, 4 axes) for an image of ``shape`` (1 to 4 axes).

    Grows the tile, starting from a line of the last axis, by doubling the axis
    whose halo (about r_k / 2 + 2 f_k recomputed pixels per side) costs most
    relative to its size, up to ``pixels`` pixels; then splits it again while
    there are fewer tiles than twice the threads.
    """
    lead = _AXES - len(shape)
    shape = [1] * lead + [int(v) for v in shape]
    f = [0] * lead + [int(v) for v in f]
    r = [0] * lead + [int(v) for v in r]
    halo = [rk / 2 + 2 * fk for fk, rk in zip(f, r, strict=True)]
    tile = [1, 1, 1, min(shape[3], 128)]
    while int(np.prod(tile)) < pixels:
        growable = [k for k in range(_AXES) if tile[k] < shape[k]]
        if not growable:
            break
        k = max(growable, key=lambda a: (halo[a] / tile[a], a))
        tile[k] = min(2 * tile[k], shape[k])
    threads = numba.get_num_threads()

    def n_tiles() -> int:
        return int(np.prod([-(-s // n) for s, n in zip(shape, tile, strict=True)]))

    while n_tiles() < 2 * threads and max(tile[:3] + [tile[3] // 16]) > 1:
        k = max(range(_AXES), key=lambda a: tile[a] if a < 3 else tile[a] // 16)
        tile[k] = -(-tile[k] // 2)
    return np.array(tile, np.int64)


def _origins(shape, tile) -> np.ndarray:
    """First pixel of every tile."""
    ranges = [range(0, s, n) for s, n in zip(shape, tile, strict=True)]
    return np.array(list(itertools.product(*ranges)), np.int64).reshape(-1, _AXES)


def _image_shape(view: np.ndarray, f: np.ndarray, r: np.ndarray, extra: int) -> tuple:
    """Image shape (4 axes) of a 4-axis padded view with pad_k = r_k + extra · f_k."""
    shape = tuple(
        int(n - 2 * (rk + extra * fk)) for n, fk, rk in zip(view.shape[1:], f, r, strict=True)
    )
    if min(shape) < 1:
        raise ValueError(f"padded stack {view.shape} is too small for f={f}, r={r}")
    return shape


def _profiles(f4: np.ndarray, patch_kernel: str) -> tuple[np.ndarray, bool]:
    """((4, W) float32 patch weights g_k, row k holding 2 f_k + 1 entries; gaussian?)."""
    rows = patch_profiles(f4, patch_kernel)
    table = np.zeros((_AXES, max(len(g) for g in rows)), np.float32)
    for k, g in enumerate(rows):
        table[k, : len(g)] = g
    return table, patch_kernel == "gaussian"


def _tile_for(shape, f, r, tile) -> np.ndarray:
    if tile is None:
        return tile_shape(shape, f, r)
    tile = tuple(int(v) for v in np.atleast_1d(tile))
    tile = (1,) * (_AXES - len(tile)) + tile
    return np.minimum(np.maximum(np.array(tile, np.int64), 1), np.array(shape, np.int64))


def pixelwise(
    padded: np.ndarray, f, r, sigma: float, hs, tile=None, *, patch_kernel: str = "uniform"
) -> np.ndarray:
    """Pixelwise NLM on 1 to 4 spatial axes, one estimate per strength h.

    Parameters
    ----------
    padded : ndarray, float32, shape (C, S_1 + 2(r_1 + f_1), …, S_D + 2(r_D + f_D))
        The image, channels first, reflect-padded by r_k + f_k on axis k.
    f, r : sequence of D ints
        Patch and search radii per axis (0 allowed).
    sigma : float
        Noise standard deviation, in pixel-value units.
    hs : sequence of K floats > 0
        Filtering strengths; the patch distances are shared between them.
    tile : sequence of ints, optional
        Output pixels per axis of one thread's unit of work (trailing axes;
        tests use small tiles to cover the tile borders). Default: :func:`tile_shape`.
    patch_kernel : {"uniform", "gaussian"}
        The patch distance: the mean over the patch (running box sums) or the
        Gaussian-weighted mean of :mod:`nlmeans.backends.reference` (separable
        weighted sums, O(Σ_k (2 f_k + 1)) per pixel and shift).

    Returns
    -------
    ndarray, float32, shape (K, C, S_1, …, S_D)
        ``û_c(p) = Σ_{q ∈ B(p,r)} w(p, q) u_c(q) / Σ_q w(p, q)`` for each h, as
        :func:`nlmeans.backends.reference.pixelwise`.

    References
    ----------
    A. Buades, B. Coll, J.-M. Morel, "Non-Local Means Denoising", IPOL 1 (2011).
    J. Darbon, A. Cunha, T. F. Chan, S. Osher, G. J. Jensen, "Fast nonlocal
    filtering applied to electron cryomicroscopy", ISBI 2008.
    """
    view, f4, r4 = _as_4d(padded, f, r)
    n_channels = view.shape[0]
    shape = _image_shape(view, f4, r4, 1)
    scales, offsets = weight_constants(hs, sigma, f4, n_channels, patch_kernel)
    profiles, gaussian = _profiles(f4, patch_kernel)
    shifts, fold_after = _shifts(r4, half=True)
    tile = _tile_for(shape, f4, r4, tile)
    out = np.empty((len(scales), n_channels) + shape, np.float32)
    with numba.parallel_chunksize(1):  # tiles handed out one at a time
        _symmetric_kernel(
            view, f4, r4, shifts, fold_after, scales, offsets, _origins(shape, tile), tile,
            False, out, profiles, gaussian,
        )  # fmt: skip
    return out.reshape(out.shape[:2] + shape[_AXES + 1 - np.ndim(padded) :])


def patchwise(
    padded: np.ndarray, f, r, sigma: float, hs, tile=None, *, patch_kernel: str = "uniform"
) -> np.ndarray:
    """Patchwise NLM on 1 to 4 spatial axes, one estimate per strength h.

    Parameters
    ----------
    padded : ndarray, float32, shape (C, S_1 + 2(r_1 + 2 f_1), …, S_D + 2(r_D + 2 f_D))
        The image, channels first, reflect-padded by r_k + 2 f_k on axis k.
    f, r : sequence of D ints
        Patch and search radii per axis (0 allowed).
    sigma : float
        Noise standard deviation, in pixel-value units.
    hs : sequence of K floats > 0
        Filtering strengths; the patch distances are shared between them.
    tile : sequence of ints, optional
        Output pixels per axis of one thread's unit of work. Default: :func:`tile_shape`.
    patch_kernel : {"uniform", "gaussian"}
        The patch distance, as for :func:`pixelwise`.

    Returns
    -------
    ndarray, float32, shape (K, C, S_1, …, S_D)
        ``û_c(x) = 1/N Σ_{j ∈ B(0,f)} B̂_c(x − j)(j)`` for each h, as
        :func:`nlmeans.backends.reference.patchwise`.

    References
    ----------
    A. Buades, B. Coll, J.-M. Morel, "Non-Local Means Denoising", IPOL 1 (2011),
    patchwise implementation.
    """
    view, f4, r4 = _as_4d(padded, f, r)
    n_channels = view.shape[0]
    shape = _image_shape(view, f4, r4, 2)
    scales, offsets = weight_constants(hs, sigma, f4, n_channels, patch_kernel)
    profiles, gaussian = _profiles(f4, patch_kernel)
    n_h = len(scales)
    # Pass 1: 1 / C_k(p), C_k(p) = Σ_t w_k(p, p + t), for the centres p of the image plus
    # an f margin: a pixelwise denominator on the stack seen with r_k + f_k of padding.
    centres = tuple(s + 2 * int(fk) for s, fk in zip(shape, f4, strict=True))
    half, fold_half = _shifts(r4, half=True)
    tile_c = _tile_for(centres, f4, r4, tile)
    inv_norm = np.empty((n_h, 1) + centres, np.float32)
    with numba.parallel_chunksize(1):
        _symmetric_kernel(
            view, f4, r4, half, fold_half, scales, offsets, _origins(centres, tile_c), tile_c,
            True, inv_norm, profiles, gaussian,
        )  # fmt: skip
    # Pass 2: every shift t, the patch estimates spread over the pixels they cover.
    every, fold_every = _shifts(r4, half=False)
    tile = _tile_for(shape, f4, r4, tile)
    out = np.empty((n_h, n_channels) + shape, np.float32)
    with numba.parallel_chunksize(1):
        _aggregation_kernel(
            view, f4, r4, every, fold_every, scales, offsets, inv_norm, _origins(shape, tile),
            tile, out, profiles, gaussian,
        )  # fmt: skip
    return out.reshape(out.shape[:2] + shape[_AXES + 1 - np.ndim(padded) :])
