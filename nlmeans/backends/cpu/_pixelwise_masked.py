"""The 2-D pixelwise tiles with a mask: the row loops of :mod:`._pixelwise`, candidates masked.

The mapped formula without a σ map
(:func:`nlmeans.backends.reference_mapped.mapped_pixelwise`), M(p, q) = μ(q)
for q ≠ p and 1 for q = p:

    û_c(p) = [u_c(p) + Σ_{t>0} W_t(p) (μ u_c)(p+t) + W_t(p−t) (μ u_c)(p−t)]
             / [1 + Σ_{t>0} W_t(p) μ(p+t) + W_t(p−t) μ(p−t)]

with the weights W_t of the plain kernel (symmetric in p and p + t, so only
t > 0 is computed). The values μ u_c are the host's (one multiply per pixel),
μ is read once more per candidate for the denominator. The row loops (the D_t
ring, the vertical running sums, the weight rows) are those of the plain tile,
:func:`~nlmeans.backends.cpu._pixelwise.denoise_tile`, which runs with
``masked=True``; only the accumulation differs
(:func:`~nlmeans.backends.cpu._pixelwise_rows.accumulate_masked`).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ..._kernel_cache import ensure_kernel_cache
from ._fastexp import FMA
from ._pixelwise import denoise_tile

ensure_kernel_cache(__file__)  # before the first cached kernel is defined


@njit(cache=True, fastmath=FMA)
def masked_tile_transposed(padded, values, mask, f, r, scale, offset, y0, y1, x0, x1, out):
    """Run the masked tile of the box [y0, y1) × [x0, x1) on its transpose.

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
    denoise_tile(guide_t, values_t, mask_t, True, f, r, scale, offset, 0, cols, 0, rows, out_t)
    for c in range(n_channels):
        for i in range(rows):
            for j in range(cols):
                out[c, y0 + i, x0 + j] = out_t[c, j, i]


@njit(parallel=True, cache=True, nogil=True, fastmath=FMA)
def boxes_kernel(padded, values, mask, f, r, scale, offset, boxes, starts, out):
    """Pixelwise NLM of the rectangles ``boxes`` (y0, y1, x0, x1, kind) into ``out`` (C, H, W).

    A box whose pixels have all their candidates inside the mask (kind 0) runs
    the plain tile :func:`~nlmeans.backends.cpu._pixelwise.denoise_tile` (the
    same formula with μ = 1), the others the same tile with ``masked=True``
    (kind 1) or :func:`masked_tile_transposed` (kind 2). Thread k runs the boxes
    ``starts[k]`` to ``starts[k + 1]``: the host balances the threads' shares
    (a prange hands out equal counts of iterations, not equal work).
    """
    for k in prange(starts.size - 1):
        for i in range(starts[k], starts[k + 1]):
            y0, y1, x0, x1 = boxes[i, 0], boxes[i, 1], boxes[i, 2], boxes[i, 3]
            if boxes[i, 4] == 1:
                denoise_tile(padded, values, mask, True, f, r, scale, offset, y0, y1, x0, x1, out)
            elif boxes[i, 4] == 2:
                masked_tile_transposed(
                    padded, values, mask, f, r, scale, offset, y0, y1, x0, x1, out
                )
            else:
                denoise_tile(padded, values, mask, False, f, r, scale, offset, y0, y1, x0, x1, out)
