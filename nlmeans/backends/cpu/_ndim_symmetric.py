"""The symmetric N-D CPU kernel: pixelwise estimates, or the patchwise normalisation.

Computes d²(p, p + t) once for each shift t > 0 and uses it at p and at p + t
(d² is symmetric); with ``norm_only`` it returns 1 / C(p), the patchwise
denominator, instead of the estimate. See :mod:`nlmeans.backends.cpu._ndim`.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ..._kernel_cache import ensure_kernel_cache
from ._fastexp import FMA
from ._ndim_sums import (
    ONE,
    accumulate,
    capacity,
    centre_terms,
    fold,
    patch_sums,
    patch_weights,
    shift_block,
    tile_extent,
)

ensure_kernel_cache(__file__)  # before the first cached kernel is defined


@njit(parallel=True, cache=True, nogil=True, fastmath=FMA)
def symmetric_kernel(
    padded, f, r, shifts, fold_after, scales, offsets, origins, tile, norm_only, out,
    profiles, gaussian,
):  # fmt: skip
    """Pixelwise NLM, or its denominator alone, from the shifts t > 0 (raster order).

    ``padded`` is (C, S_k + 2(r_k + f_k)) with 4 spatial axes. With Σ over the
    whole window B(0, r): ``out`` (K, C, S) receives û_c = Σ_t w_k u_c(p + t) / Σ_t w_k;
    with ``norm_only``, ``out`` (K, 1, S) receives 1 / C_k(p) = 1 / Σ_t w_k(p, p + t).
    Each shift t serves p (candidate p + t) and p + t (candidate p). ``profiles``
    (4, W) and ``gaussian``: the patch weights, as in :func:`patch_sums`.
    """
    n_h = scales.shape[0]
    n_channels = 0 if norm_only else out.shape[1]
    shape = out.shape[2:]
    pad = (r[0] + f[0], r[1] + f[1], r[2] + f[2], r[3] + f[3])
    size = capacity(tile, r, f, 2)
    for tile_index in prange(origins.shape[0]):
        o = (
            origins[tile_index, 0],
            origins[tile_index, 1],
            origins[tile_index, 2],
            origins[tile_index, 3],
        )
        n = tile_extent(shape, tile, o)
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
        centre_terms(padded, pad, o, n, num, den)
        for s in range(shifts.shape[0]):
            t = (shifts[s, 0], shifts[s, 1], shifts[s, 2], shifts[s, 3])
            # W_t is needed at p (tile pixels) and at p − t (:func:`shift_block`).
            ext, start, fwd_at, bwd_at, o_fwd, o_bwd = shift_block(o, n, t, r, pad)
            sums, _ = patch_sums(padded, start, t, ext, f, line, buf_a, buf_b, profiles, gaussian)
            n_ext = ext[0] * ext[1] * ext[2] * ext[3]
            for k in range(n_h):
                # W_t = w_k(p, p + t) = exp(−max(d² − 2σ², 0) / h_k²) on the block.
                patch_weights(sums, n_ext, scales[k], offsets[k], weights)
                # Σ w u_c(q) and Σ w: the terms q = p + t and q = p − t.
                accumulate(
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
                fold(num, part_num)
                fold(den, part_den)
        fold(num, part_num)
        fold(den, part_den)
        at = 0
        for m0 in range(n[0]):
            for m1 in range(n[1]):
                for m2 in range(n[2]):
                    for m3 in range(n[3]):
                        y0, y1, y2, y3 = o[0] + m0, o[1] + m1, o[2] + m2, o[3] + m3
                        # û_c(p) = Σ w u_c / Σ w; Σ w ≥ w(p, p) = 1.
                        for k in range(n_h):
                            if norm_only:
                                out[k, 0, y0, y1, y2, y3] = ONE / den[k, at]
                            for c in range(n_channels):
                                out[k, c, y0, y1, y2, y3] = num[k, c, at] / den[k, at]
                        at += 1
