"""The symmetric N-D CPU kernel: pixelwise estimates, or the patchwise normalisation.

Computes d²(p, p + t) once for each shift t > 0 and uses it at p and at p + t
(d² is symmetric); with ``norm_only`` it returns 1 / C(p), the patchwise
denominator, instead of the estimate. See :mod:`nlmeans.backends.cpu._ndim`.
"""

from __future__ import annotations

from numba import njit, prange

from ..._kernel_cache import ensure_kernel_cache
from ._fastexp import FMA
from ._ndim_sums import (
    accumulate,
    patch_sums,
    patch_weights,
    shift_block,
)
from ._ndim_tile import (
    fold,
    pixel_buffers,
    tile_extent,
    write_ratios,
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
    for tile_index in prange(origins.shape[0]):
        o = (
            origins[tile_index, 0],
            origins[tile_index, 1],
            origins[tile_index, 2],
            origins[tile_index, 3],
        )
        n = tile_extent(shape, tile, o)
        # The t = 0 term (set by pixel_buffers): w(p, p) = 1, so num_c = u_c(p), den = 1.
        buf_a, buf_b, weights, line, num, den, part_num, part_den = pixel_buffers(
            padded, pad, o, n, tile, r, f, n_h, n_channels
        )
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
        # û_c(p) = Σ w u_c / Σ w (or 1 / Σ w with ``norm_only``).
        write_ratios(num, den, o, n, out, norm_only)
