"""The N-D CPU kernel of the mapped pixelwise method: guide, values, σ map and mask.

The weights of :func:`nlmeans.backends.reference.mapped_pixelwise`: patch
distances of the guide (the shared running box sums of
:mod:`~nlmeans.backends.cpu._ndim_sums`), each weight divided by the pair's
σ-ratio ρ(p, q) = σ̄²(p, q) / σ₀² and multiplied by the candidate's mask, and
weighted sums of the values. As in :mod:`~nlmeans.backends.cpu._ndim_symmetric`,
d² and ρ are symmetric in p and q, so only the shifts t > 0 are computed and
each serves p (candidate p + t) and p + t (candidate p). The mask M(p, q) =
μ(q) belongs to the candidate, not to the pair: the host multiplies the values
by μ, and the denominator sums W_t μ (μ read like a values channel), so one
symmetric weight block per shift serves both sides.

Threads take the tiles the host lists (those holding a pixel inside the mask).
"""

from __future__ import annotations

from numba import njit, prange

from ..._kernel_cache import ensure_kernel_cache
from ._fastexp import EXP_ARG_MAX, FMA, exp_minus
from ._ndim_sums import (
    ZERO,
    pair_rows,
    patch_sums,
    shift_block,
    u64,
)
from ._ndim_tile import (
    fold,
    pixel_buffers,
    write_ratios,
)

ensure_kernel_cache(__file__)  # before the first cached kernel is defined


@njit(cache=True, fastmath=FMA)
def _mapped_weights(sums, ext, start, t, ratio, scale, offset, weights, has_ratio):
    """W_t = w(x, x + t) on a block of ``ext`` patch centres (flat, C order).

    w = exp(−max(d²/ρ − 2σ₀², 0) / h²) = exp(−max(sums · scale / ρ − offset, 0)) with
    ρ(x, x + t) = (m(x) + m(x + t)) / 2, m = s² / σ₀² (the patch's mean variance):
    centre i of the block is index ``start`` + i of ``ratio`` (the grid of centres
    within r of the image), its candidate ``start`` + t + i. ρ = 1 without ``has_ratio``.
    """
    if not has_ratio:
        for i in range(u64(ext[0] * ext[1] * ext[2] * ext[3])):
            arg = min(max(sums[i] * scale - offset, ZERO), EXP_ARG_MAX)
            weights[i] = exp_minus(arg)
        return
    g1, g2, g3 = ratio.shape[1], ratio.shape[2], ratio.shape[3]
    scale2 = scale + scale  # 1/ρ = 2 / (m(x) + m(x + t))
    flat = ratio.reshape(-1)
    at = 0
    for i0 in range(ext[0]):
        for i1 in range(ext[1]):
            for i2 in range(ext[2]):
                a = u64(
                    (((start[0] + i0) * g1 + start[1] + i1) * g2 + start[2] + i2) * g3 + start[3]
                )
                b = u64(
                    (
                        ((start[0] + t[0] + i0) * g1 + start[1] + t[1] + i1) * g2
                        + start[2]
                        + t[2]
                        + i2
                    )
                    * g3
                    + start[3]
                    + t[3]
                )
                base = u64(at)
                for x in range(u64(ext[3])):
                    # 2 d²/h² / (m(x) + m(x + t)) = d²/h² / ρ(x, x + t), ρ = σ̄² / σ₀².
                    weights[base + x] = sums[base + x] * scale2 / (flat[a + x] + flat[b + x])
                at += ext[3]
    for i in range(u64(ext[0] * ext[1] * ext[2] * ext[3])):
        arg = min(max(weights[i] - offset, ZERO), EXP_ARG_MAX)
        weights[i] = exp_minus(arg)


@njit(cache=True, fastmath=FMA)
def _mapped_accumulate(
    values, mask, weights, ext, fwd_at, bwd_at, o_fwd, o_bwd, n, num, den, has_mask
):
    """num_c += W_t(p) (μ v_c)(p + t) + W_t(p − t) (μ v_c)(p − t); den likewise with μ.

    ``values`` holds μ v_c (the mask applied by the host), so the mask's only
    other term is the denominator's: den += W_t(p) μ(p + t) + W_t(p − t) μ(p − t)
    (μ = 1 without ``has_mask``). W_t(p) is block index m + ``fwd_at``, W_t(p − t)
    m + ``bwd_at`` for tile pixel m; p + t is padded index ``o_fwd`` + m, p − t ``o_bwd`` + m.
    """
    n_channels = num.shape[0]
    zero = u64(0)
    m_at = 0
    for m0 in range(n[0]):
        for m1 in range(n[1]):
            for m2 in range(n[2]):
                wf, wb, fw, bw = pair_rows(ext, fwd_at, bwd_at, o_fwd, o_bwd, m0, m1, m2)
                f0, f1, f2, f3 = fw
                b0, b1, b2, b3 = bw
                at = u64(m_at)
                if has_mask:
                    for x in range(u64(n[3])):
                        den[at + x] += (
                            weights[wf + x] * mask[zero, f0, f1, f2, f3 + x]
                            + weights[wb + x] * mask[zero, b0, b1, b2, b3 + x]
                        )
                else:
                    for x in range(u64(n[3])):
                        den[at + x] += weights[wf + x] + weights[wb + x]
                for c in range(n_channels):
                    for x in range(u64(n[3])):
                        num[c, at + x] += (
                            weights[wf + x] * values[c, f0, f1, f2, f3 + x]
                            + weights[wb + x] * values[c, b0, b1, b2, b3 + x]
                        )
                m_at += n[3]


@njit(cache=True, fastmath=FMA)
def _mapped_tile(
    guide, values, ratio, mask, f, r, shifts, fold_after, scales, offsets, origins, tile, out,
    extents, profiles, has_ratio, partial, tile_index,
):  # fmt: skip
    """Compute the tile ``tile_index`` of :func:`mapped_kernel` (one unit of a thread's share)."""
    n_h = scales.shape[0]
    n_channels = out.shape[1]
    pad = (r[0] + f[0], r[1] + f[1], r[2] + f[2], r[3] + f[3])
    o = (
        origins[tile_index, 0],
        origins[tile_index, 1],
        origins[tile_index, 2],
        origins[tile_index, 3],
    )
    n = (
        extents[tile_index, 0],
        extents[tile_index, 1],
        extents[tile_index, 2],
        extents[tile_index, 3],
    )
    # The t = 0 term (set by pixel_buffers): M(p, p) w(p, p) = 1, so num_c = v_c(p), den = 1.
    buf_a, buf_b, weights, line, num, den, part_num, part_den = pixel_buffers(
        values, pad, o, n, tile, r, f, n_h, n_channels
    )
    for s in range(shifts.shape[0]):
        t = (shifts[s, 0], shifts[s, 1], shifts[s, 2], shifts[s, 3])
        # W_t at p and p − t; ``start`` is also the centre's index in ``ratio`` and ``mask``.
        ext, start, fwd_at, bwd_at, o_fwd, o_bwd = shift_block(o, n, t, r, pad)
        sums, _ = patch_sums(guide, start, t, ext, f, line, buf_a, buf_b, profiles, False)
        for k in range(n_h):
            _mapped_weights(sums, ext, start, t, ratio, scales[k], offsets[k], weights, has_ratio)
            _mapped_accumulate(
                values, mask, weights, ext, fwd_at, bwd_at, o_fwd, o_bwd, n,
                part_num[k], part_den[k], partial[tile_index],
            )  # fmt: skip
        if fold_after[s]:
            fold(num, part_num)
            fold(den, part_den)
    fold(num, part_num)
    fold(den, part_den)
    # v̂_c(p) = Σ M w v_c / Σ M w; Σ M w ≥ M(p, p) w(p, p) = 1.
    write_ratios(num, den, o, n, out, False)


@njit(parallel=True, cache=True, nogil=True, fastmath=FMA)
def mapped_kernel(
    guide, values, ratio, mask, f, r, shifts, fold_after, scales, offsets, origins, tile, out,
    extents, profiles, has_ratio, partial, starts,
):  # fmt: skip
    """Compute mapped pixelwise NLM from the shifts t > 0 (raster order), on the listed tiles.

    ``guide`` (C, S_k + 2(r_k + f_k)), ``values`` (C_v, same) holding μ v_c and
    ``mask`` (1, same) holding μ have 4 spatial axes; ``ratio`` (S_k + 2 r_k) holds
    m = s²/σ₀² for every centre within r of the image. ``out`` (K, C_v, S)
    receives v̂_c(p) = Σ_q M w v_c(q) / Σ_q M w on the tiles starting at ``origins``
    (for p inside the mask, where μ v_c(p) = v_c(p)); tile i spans ``extents[i]``
    pixels per axis from ``origins[i]`` (at most ``tile``); ``partial[i]`` says
    whether its candidates meet the outside of the mask (else μ = 1 on all of them
    and the denominator skips it). Thread k runs the tiles ``starts[k]`` to
    ``starts[k + 1]`` (shares of about equal work, dealt by the host).
    """
    for share in prange(starts.size - 1):
        for tile_index in range(starts[share], starts[share + 1]):
            _mapped_tile(
                guide, values, ratio, mask, f, r, shifts, fold_after, scales, offsets, origins,
                tile, out, extents, profiles, has_ratio, partial, tile_index,
            )  # fmt: skip
