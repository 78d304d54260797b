"""The 2-D pixelwise tile with a mask: the fused row loops of :mod:`._pixelwise`, candidates masked.

The mapped formula without a σ map
(:func:`nlmeans.backends.reference_mapped.mapped_pixelwise`), M(p, q) = μ(q)
for q ≠ p and 1 for q = p:

    û_c(p) = [u_c(p) + Σ_{t>0} W_t(p) (μ u_c)(p+t) + W_t(p−t) (μ u_c)(p−t)]
             / [1 + Σ_{t>0} W_t(p) μ(p+t) + W_t(p−t) μ(p−t)]

with the weights W_t of the plain kernel (symmetric in p and p + t, so only
t > 0 is computed). The values μ u_c are the host's (one multiply per pixel),
μ is read once more per candidate for the denominator. The row loops (the D_t
ring, the vertical running sums, the weight rows) are those of
:func:`~nlmeans.backends.cpu._pixelwise.denoise_tile`; only the accumulation
differs.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ..._kernel_cache import ensure_kernel_cache
from ._fastexp import FMA
from ._pixelwise import denoise_tile, fold, push_diff_row, weight_row

ensure_kernel_cache(__file__)  # before the first cached kernel is defined

_ZERO = np.float32(0.0)


@njit(cache=True, fastmath=FMA)
def _accumulate_masked(values, mask, fwd, bwd, weights, w_fwd, w_bwd, n, num, den, i):
    """Output row i: num_c += W_t(p) (μ u_c)(p+t) + W_t(p−t) (μ u_c)(p−t); den likewise with μ.

    ``fwd`` / ``bwd``: (row, column) of p + t / p − t for the row's first pixel
    in the padded arrays; ``w_fwd`` / ``w_bwd``: (ring row, column) of W_t(p) /
    W_t(p − t) in ``weights``.
    """
    i = np.uint64(i)
    n = np.uint64(n)
    f_row, f_col = np.uint64(fwd[0]), np.uint64(fwd[1])
    b_row, b_col = np.uint64(bwd[0]), np.uint64(bwd[1])
    wf_row, wf_col = np.uint64(w_fwd[0]), np.uint64(w_fwd[1])
    wb_row, wb_col = np.uint64(w_bwd[0]), np.uint64(w_bwd[1])
    for x in range(n):
        den[i, x] += (
            weights[wf_row, wf_col + x] * mask[f_row, f_col + x]
            + weights[wb_row, wb_col + x] * mask[b_row, b_col + x]
        )
    for c in range(np.uint64(values.shape[0])):
        for x in range(n):
            num[c, i, x] += (
                weights[wf_row, wf_col + x] * values[c, f_row, f_col + x]
                + weights[wb_row, wb_col + x] * values[c, b_row, b_col + x]
            )


@njit(cache=True, fastmath=FMA)
def masked_tile(padded, values, mask, f, r, scale, offset, y0, y1, x0, x1, out):
    """Masked pixelwise NLM of output rows [y0, y1) × columns [x0, x1) into ``out``.

    ``padded`` (C, H + 2(r + f), W + 2(r + f)) is the guide, ``values`` (same
    shape) μ u_c, ``mask`` (H + 2(r + f), W + 2(r + f)) μ as 0 or 1; coordinates
    are those of the output image. Pixels outside the mask get a value the
    caller replaces.
    """
    n_channels = padded.shape[0]
    pad = r + f
    side = 2 * f + 1
    rows = y1 - y0
    cols = x1 - x0
    span = cols + 2 * r
    numerator = np.empty((n_channels, rows, cols), dtype=np.float32)
    denominator = np.empty((rows, cols), dtype=np.float32)
    # The t = 0 term: M(p, p) w(p, p) = 1.
    for i in range(rows):
        row = np.uint64(pad + y0 + i)
        col = np.uint64(pad + x0)
        for c in range(n_channels):
            for x in range(np.uint64(cols)):
                numerator[c, i, x] = padded[c, row, col + x]
        for x in range(np.uint64(cols)):
            denominator[i, x] = 1.0
    part_numerator = np.zeros((n_channels, rows, cols), dtype=np.float32)
    part_denominator = np.zeros((rows, cols), dtype=np.float32)
    diff_ring = np.empty((side, span + 2 * f), dtype=np.float32)
    sums = np.empty((3, span + 2 * f), dtype=np.float32)
    patch = np.empty(span, dtype=np.float32)
    weights = np.empty((r + 1, span), dtype=np.float32)
    for ty in range(r + 1):
        for tx in range(-r, r + 1):
            if ty == 0 and tx <= 0:
                continue  # t ≤ 0 in raster order: covered by symmetry (or the centre)
            # As in denoise_tile: W_t on rows [y0 − ty, y1), columns [lo, hi).
            lo = min(0, -tx)
            hi = cols + max(0, -tx)
            n_diff = hi - lo + 2 * f
            diff_col = pad + x0 + lo - f
            diff_ring[:, :n_diff] = _ZERO
            sums[0, :n_diff] = _ZERO
            slot = 0
            for a in range(y0 - ty - f, y0 - ty + f):
                push_diff_row(
                    padded, pad + a, pad + a + ty, diff_col, diff_col + tx, n_diff, diff_ring,
                    slot, sums,
                )  # fmt: skip
                slot += 1
            w_slot = 0
            for yy in range(y0 - ty, y1):
                a = yy + f
                push_diff_row(
                    padded, pad + a, pad + a + ty, diff_col, diff_col + tx, n_diff, diff_ring,
                    slot, sums,
                )  # fmt: skip
                slot = slot + 1 if slot + 1 < side else 0
                # W_t(p) = exp(−max(d² − 2σ², 0) / h²), stored at column r + x.
                weight_row(sums, f, hi - lo, scale, offset, weights, w_slot, r + lo, patch)
                if yy >= y0:
                    back_slot = w_slot - ty if w_slot >= ty else w_slot - ty + r + 1
                    _accumulate_masked(
                        values, mask,
                        (pad + yy + ty, pad + x0 + tx), (pad + yy - ty, pad + x0 - tx),
                        weights, (w_slot, r), (back_slot, r - tx), cols,
                        part_numerator, part_denominator, yy - y0,
                    )  # fmt: skip
                w_slot = w_slot + 1 if w_slot < r else 0
        fold(numerator, part_numerator)
        fold(denominator, part_denominator)
    # û_c(p) = Σ M w u_c / Σ M w; the denominator is at least the centre's 1.
    for c in range(n_channels):
        for i in range(rows):
            for x in range(cols):
                out[c, y0 + i, x0 + x] = numerator[c, i, x] / denominator[i, x]


@njit(cache=True, fastmath=FMA)
def masked_tile_transposed(padded, values, mask, f, r, scale, offset, y0, y1, x0, x1, out):
    """:func:`masked_tile` of the box [y0, y1) × [x0, x1) computed on its transpose.

    The box and its margin of r + f are copied transposed (C, x, y); the square
    patch and search window make the formula the same, and a narrow tall box
    becomes a wide short one, whose rows the tile's loops run through fast.
    """
    n_channels = padded.shape[0]
    pad = r + f
    rows, cols = y1 - y0, x1 - x0
    guide_t = np.empty((n_channels, cols + 2 * pad, rows + 2 * pad), dtype=np.float32)
    values_t = np.empty((n_channels, cols + 2 * pad, rows + 2 * pad), dtype=np.float32)
    mask_t = np.empty((cols + 2 * pad, rows + 2 * pad), dtype=np.float32)
    for j in range(cols + 2 * pad):
        for i in range(rows + 2 * pad):
            mask_t[j, i] = mask[y0 + i, x0 + j]
            for c in range(n_channels):
                guide_t[c, j, i] = padded[c, y0 + i, x0 + j]
                values_t[c, j, i] = values[c, y0 + i, x0 + j]
    out_t = np.empty((n_channels, cols, rows), dtype=np.float32)
    masked_tile(guide_t, values_t, mask_t, f, r, scale, offset, 0, cols, 0, rows, out_t)
    for c in range(n_channels):
        for i in range(rows):
            for j in range(cols):
                out[c, y0 + i, x0 + j] = out_t[c, j, i]


@njit(parallel=True, cache=True, nogil=True, fastmath=FMA)
def boxes_kernel(padded, values, mask, f, r, scale, offset, boxes, out):
    """Pixelwise NLM of the rectangles ``boxes`` (y0, y1, x0, x1, kind) into ``out`` (C, H, W).

    A box whose pixels have all their candidates inside the mask (kind 0) runs
    the plain tile :func:`~nlmeans.backends.cpu._pixelwise.denoise_tile` (the
    same formula with μ = 1), the others :func:`masked_tile` (kind 1) or
    :func:`masked_tile_transposed` (kind 2); one box per thread.
    """
    for i in prange(boxes.shape[0]):
        y0, y1, x0, x1 = boxes[i, 0], boxes[i, 1], boxes[i, 2], boxes[i, 3]
        if boxes[i, 4] == 1:
            masked_tile(padded, values, mask, f, r, scale, offset, y0, y1, x0, x1, out)
        elif boxes[i, 4] == 2:
            masked_tile_transposed(padded, values, mask, f, r, scale, offset, y0, y1, x0, x1, out)
        else:
            denoise_tile(padded, f, r, scale, offset, y0, y1, x0, x1, out)
