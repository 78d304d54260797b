"""The steps the N-D CPU kernels share: patch sums, weights, accumulation.

Patch sums D_t summed over the patch B(0, f) (running box sums, or the
separable Gaussian-weighted sums), the weights w = exp(−max(d² − 2σ², 0) / h²)
and the terms of one shift added to a tile's partial sums (the bookkeeping of
tiles is :mod:`~nlmeans.backends.cpu._ndim_tile`'s); see
:mod:`nlmeans.backends.cpu._ndim` for the algorithm. Numba functions
on flat float32 buffers, inlined into the kernels of
:mod:`~nlmeans.backends.cpu._ndim_symmetric` and
:mod:`~nlmeans.backends.cpu._ndim_aggregation`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..._kernel_cache import ensure_kernel_cache
from ._fastexp import EXP_ARG_MAX, FMA, exp_minus

ensure_kernel_cache(__file__)  # before the first cached kernel is defined

ZERO = np.float32(0.0)
ONE = np.float32(1.0)
#: Axes of the internal view.
AXES = 4


# Inner loops run over contiguous memory with unsigned (uint64) indices, so
# Numba drops the negative-index wrap-around and LLVM vectorises them. Work
# buffers are flat float32 arrays holding 4-D blocks in C order.


@njit(cache=True, inline="always")
def u64(value):
    return np.uint64(value)


@njit(cache=True, fastmath=FMA)
def box_last(line, dst, dst_at, n_out, fk):
    """dst[dst_at + x] = Σ_{b ≤ 2 fk} line[x + b], x < n_out: the patch sum along the last axis."""
    n = u64(n_out)
    at = u64(dst_at)
    one, two, three = u64(1), u64(2), u64(3)
    if fk == 0:
        for x in range(n):
            dst[at + x] = line[x]
    elif fk == 1:
        for x in range(n):
            dst[at + x] = line[x] + line[x + one] + line[x + two]
    elif fk == 2:
        for x in range(n):
            dst[at + x] = (
                (line[x] + line[x + one]) + (line[x + two] + line[x + three]) + line[x + u64(4)]
            )
    elif fk == 3:
        for x in range(n):
            pairs = (line[x] + line[x + one]) + (line[x + two] + line[x + three])
            dst[at + x] = pairs + (line[x + u64(4)] + line[x + u64(5)]) + line[x + u64(6)]
    else:
        for x in range(n):
            dst[at + x] = line[x]
        for b in range(one, u64(2 * fk + 1)):
            for x in range(n):
                dst[at + x] += line[x + b]


@njit(cache=True, fastmath=FMA)
def _box_running(src, dst, outer, length, inner, fk):
    """Patch sum along the middle axis of a flat (outer, length, inner) block.

    dst[o, i, :] = Σ_{a ≤ 2 fk} src[o, i + a, :] for i < length − 2 fk, by a running
    sum: row i is row i − 1 plus the row entering the patch minus the one leaving.
    """
    n_out = length - 2 * fk
    m = u64(inner)
    for o in range(outer):
        s_base = u64(o * length * inner)
        d_base = u64(o * n_out * inner)
        for x in range(m):
            dst[d_base + x] = src[s_base + x]
        for a in range(1, 2 * fk + 1):
            s_row = s_base + u64(a * inner)
            for x in range(m):
                dst[d_base + x] += src[s_row + x]
        for i in range(1, n_out):
            prev = d_base + u64((i - 1) * inner)
            row = d_base + u64(i * inner)
            enter = s_base + u64((i + 2 * fk) * inner)
            leave = s_base + u64((i - 1) * inner)
            for x in range(m):
                dst[row + x] = dst[prev + x] + src[enter + x] - src[leave + x]


@njit(cache=True, fastmath=FMA)
def box_sums(cur, spare, lens, f):
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
    """Sum the Gaussian-weighted patch along the last axis.

    dst[dst_at + x] = Σ_{b ≤ 2 fk} g[b] line[x + b] for x < n_out, with g = g_3,
    the axis's patch weights.
    """
    n = u64(n_out)
    at = u64(dst_at)
    g0 = g[0]
    for x in range(n):
        dst[at + x] = g0 * line[x]
    for b in range(u64(1), u64(2 * fk + 1)):
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
    m = u64(inner)
    for o in range(outer):
        s_base = o * length * inner
        d_base = o * n_out * inner
        for i in range(n_out):
            row = u64(d_base + i * inner)
            first = u64(s_base + i * inner)
            g0 = g[0]
            for x in range(m):
                dst[row + x] = g0 * src[first + x]
            for a in range(1, 2 * fk + 1):
                ga = g[a]
                there = u64(s_base + (i + a) * inner)
                for x in range(m):
                    dst[row + x] += ga * src[there + x]


@njit(cache=True, fastmath=FMA)
def _weighted_sums(cur, spare, lens, f, profiles):
    """Sum Gaussian-weighted patches along axes 0-2 of the flat 4-D block ``cur``.

    As :func:`box_sums` (``cur`` has shape ``lens``), each axis weighted by its
    row of ``profiles``.
    """
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
def patch_sums(padded, start, t, ext, f, line, cur, spare, profiles, gaussian):
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
    l3 = u64(ext[3] + 2 * f[3])
    a3 = u64(start[3])
    b3 = u64(start[3] + t[3])
    zero = u64(0)
    out_at = 0
    for i0 in range(l0):
        a0, b0 = u64(start[0] + i0), u64(start[0] + t[0] + i0)
        for i1 in range(l1):
            a1, b1 = u64(start[1] + i1), u64(start[1] + t[1] + i1)
            for i2 in range(l2):
                a2, b2 = u64(start[2] + i2), u64(start[2] + t[2] + i2)
                # D_t(y) = Σ_c (u_c(y) − u_c(y + t))² along one line of the last axis.
                for j in range(l3):
                    d = padded[zero, a0, a1, a2, a3 + j] - padded[zero, b0, b1, b2, b3 + j]
                    line[j] = d * d
                for c in range(u64(1), u64(n_channels)):
                    for j in range(l3):
                        d = padded[c, a0, a1, a2, a3 + j] - padded[c, b0, b1, b2, b3 + j]
                        line[j] += d * d
                # Σ_{j_3} D_t(y + j_3) (× g_3(j_3)): the patch sum along the last axis.
                if gaussian:
                    _weighted_last(line, cur, out_at, ext[3], profiles[3], f[3])
                else:
                    box_last(line, cur, out_at, ext[3], f[3])
                out_at += ext[3]
    # Σ over j_0, j_1, j_2 of the patch: running sums along the other axes (uniform),
    # weighted sums (Gaussian).
    if gaussian:
        return _weighted_sums(cur, spare, (l0, l1, l2, ext[3]), f, profiles)
    return box_sums(cur, spare, (l0, l1, l2, ext[3]), f)


@njit(cache=True, fastmath=FMA)
def patch_weights(sums, n, scale, offset, weights):
    """weights[i] = exp(−max(d² − 2σ², 0) / h²), d²/h² = sums[i] · scale, offset = 2σ²/h²."""
    for i in range(u64(n)):
        arg = min(max(sums[i] * scale - offset, ZERO), EXP_ARG_MAX)
        weights[i] = exp_minus(arg)


@njit(cache=True)
def shift_block(o, n, t, r, pad):
    """Where the terms of shift t lie for the tile at ``o`` (``n`` pixels per axis).

    W_t is needed at p (tile pixels) and at p − t: the block of centres from
    o + min(0, −t) spanning n + |t| per axis (``ext``). ``start`` is the padded
    index of D_t's first entry (that centre minus f, plus the padding r + f);
    ``fwd_at`` and ``bwd_at`` are the block indices of p and p − t for the first
    tile pixel; ``o_fwd`` and ``o_bwd`` the padded indices of p + t and p − t.
    """
    lo = (min(0, -t[0]), min(0, -t[1]), min(0, -t[2]), min(0, -t[3]))
    ext = (n[0] + abs(t[0]), n[1] + abs(t[1]), n[2] + abs(t[2]), n[3] + abs(t[3]))
    start = (o[0] + lo[0] + r[0], o[1] + lo[1] + r[1], o[2] + lo[2] + r[2], o[3] + lo[3] + r[3])
    fwd_at = (-lo[0], -lo[1], -lo[2], -lo[3])
    bwd_at = (-lo[0] - t[0], -lo[1] - t[1], -lo[2] - t[2], -lo[3] - t[3])
    o_fwd = (pad[0] + o[0] + t[0], pad[1] + o[1] + t[1], pad[2] + o[2] + t[2], pad[3] + o[3] + t[3])
    o_bwd = (pad[0] + o[0] - t[0], pad[1] + o[1] - t[1], pad[2] + o[2] - t[2], pad[3] + o[3] - t[3])
    return ext, start, fwd_at, bwd_at, o_fwd, o_bwd


@njit(cache=True)
def pair_rows(ext, fwd_at, bwd_at, o_fwd, o_bwd, m0, m1, m2):
    """Flat indices of one line (m0, m1, m2, ·) of tile pixels in a shift's terms.

    ``wf`` and ``wb``: where W_t(p) and W_t(p − t) start in the flat block of shape
    ``ext``; (f0, f1, f2, f3) and (b0, b1, b2, b3): the padded indices of p + t and
    p − t, all unsigned.
    """
    e1, e2, e3 = ext[1], ext[2], ext[3]
    wf = u64(((fwd_at[0] + m0) * e1 + fwd_at[1] + m1) * e2 + fwd_at[2] + m2) * u64(e3)
    wf += u64(fwd_at[3])
    wb = u64(((bwd_at[0] + m0) * e1 + bwd_at[1] + m1) * e2 + bwd_at[2] + m2) * u64(e3)
    wb += u64(bwd_at[3])
    f0, f1, f2 = u64(o_fwd[0] + m0), u64(o_fwd[1] + m1), u64(o_fwd[2] + m2)
    b0, b1, b2 = u64(o_bwd[0] + m0), u64(o_bwd[1] + m1), u64(o_bwd[2] + m2)
    return wf, wb, (f0, f1, f2, u64(o_fwd[3])), (b0, b1, b2, u64(o_bwd[3]))


@njit(cache=True, fastmath=FMA)
def accumulate(padded, weights, ext, fwd_at, bwd_at, o_fwd, o_bwd, n, num, den, two_sided):
    """Add the terms of one shift t to the tile's partial sums.

    ``weights`` holds W_t on a block of shape ``ext``; W_t(p) is at block index
    m + ``fwd_at`` and W_t(p − t) at m + ``bwd_at`` for tile pixel m. u_c(p + t) is
    padded index ``o_fwd`` + m, u_c(p − t) is ``o_bwd`` + m. Adds
    num_c += W_t(p) u_c(p + t) [+ W_t(p − t) u_c(p − t)] and den += W_t(p) [+ W_t(p − t)]
    (the bracketed terms when ``two_sided``); ``num`` is (C, tile) flat, ``den`` (tile,).
    ``num`` has 0 channels when only the denominator is wanted.
    """
    n_channels = num.shape[0]
    n3 = u64(n[3])
    zero = u64(0)
    m_at = 0
    for m0 in range(n[0]):
        for m1 in range(n[1]):
            for m2 in range(n[2]):
                wf, wb, fw, bw = pair_rows(ext, fwd_at, bwd_at, o_fwd, o_bwd, m0, m1, m2)
                f0, f1, f2, f3 = fw
                b0, b1, b2, b3 = bw
                at = u64(m_at)
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
