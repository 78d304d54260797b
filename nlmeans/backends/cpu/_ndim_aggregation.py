"""The patchwise N-D CPU kernel's second pass: patch estimates spread over their pixels.

For every shift t, adds u_c(x + t) · Σ_{j ∈ B(0,f)} V_t(x − j) with
V_t = W_t / C (the normalisation of :mod:`~nlmeans.backends.cpu._ndim_symmetric`)
to the pixels each patch covers. See :mod:`nlmeans.backends.cpu._ndim`.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ..._kernel_cache import ensure_kernel_cache
from ._fastexp import EXP_ARG_MAX, FMA, exp_minus
from ._ndim_sums import (
    ZERO,
    accumulate,
    box_last,
    box_sums,
    patch_sums,
    u64,
)
from ._ndim_tile import (
    capacity,
    fold,
    tile_extent,
)

ensure_kernel_cache(__file__)  # before the first cached kernel is defined


@njit(parallel=True, cache=True, nogil=True, fastmath=FMA)
def aggregation_kernel(
    padded, f, r, shifts, fold_after, scales, offsets, inv_norm, origins, tile, out,
    profiles, gaussian,
):  # fmt: skip
    """Patchwise pass 2: out[k, c, x] = 1/N Σ_t u_c(x + t) Σ_{j ∈ B(0,f)} V_t(x − j).

    V_t(p) = w_k(p, p + t) / C_k(p), with ``inv_norm`` (K, S + 2f) = 1 / C_k on the patch
    centres (centre index = pixel + f). ``padded`` is (C, S_k + 2(r_k + 2 f_k)).
    ``profiles``, ``gaussian``: the patch distance's weights (:func:`patch_sums`); the
    aggregation over the patches stays the uniform 1/N average.
    """
    n_h, n_channels = out.shape[0], out.shape[1]
    shape = out.shape[2:]
    pad = (r[0] + 2 * f[0], r[1] + 2 * f[1], r[2] + 2 * f[2], r[3] + 2 * f[3])
    inv_n = np.float32(1.0 / ((2 * f[0] + 1) * (2 * f[1] + 1) * (2 * f[2] + 1) * (2 * f[3] + 1)))
    cap = (tile[0] + 2 * f[0], tile[1] + 2 * f[1], tile[2] + 2 * f[2], tile[3] + 2 * f[3])
    size = capacity(tile, (0, 0, 0, 0), f, 4)
    c1, c2, c3 = inv_norm.shape[3], inv_norm.shape[4], inv_norm.shape[5]
    for tile_index in prange(origins.shape[0]):
        o = (
            origins[tile_index, 0],
            origins[tile_index, 1],
            origins[tile_index, 2],
            origins[tile_index, 3],
        )
        n = tile_extent(shape, tile, o)
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
            sums, spare = patch_sums(
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
                            row = u64(at)
                            src = u64(((o[0] + i0) * c1 + o[1] + i1) * c2 + o[2] + i2) * u64(c3)
                            src += u64(o[3])
                            for x in range(u64(ext[3])):
                                arg = min(max(sums[row + x] * scale - offset, ZERO), EXP_ARG_MAX)
                                line[x] = exp_minus(arg) * flat_inv[src + x]
                            box_last(line, spare, at // ext[3] * n[3], n[3], f[3])
                            at += ext[3]
                # Σ over j_0, j_1, j_2: box sums along the other axes (into ``share``).
                # (They use ``spare`` and ``share`` only: ``sums`` serves the next k.)
                box, _ = box_sums(spare, share, (ext[0], ext[1], ext[2], n[3]), f)
                # û_c(x) gathers u_c(x + t) · Σ_j V_t(x − j).
                accumulate(
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
                fold(acc, part)
        fold(acc, part)
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
