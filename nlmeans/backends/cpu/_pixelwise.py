"""Numba CPU backend: pixelwise NLM with per-shift box sums and symmetric weights.

For each shift t of the search window the squared differences
D_t(p) = Σ_c (u_c(p) − u_c(p + t))² are box-summed over the (2f+1)² patch
(Darbon, Cunha, Chan, Osher & Jensen, 2008): vertically with a running sum
(independent of f), horizontally with shifted loads fused into the loop that
evaluates the weight (2f + 1 of them for f ≤ 2; f + 1 after a pass of pair
sums for 3 ≤ f ≤ 5; power-of-two partial sums beyond). Every inner loop is a
branch-free float32 loop over a contiguous row that LLVM vectorises; the
weight's exp is a polynomial (:mod:`.fastexp`).

The patch distance is symmetric, d²(p, p+t) = d²(p+t, p), so only half of the
shifts are computed: the weight W_t(p) = w(p, p+t) serves p (candidate p+t)
and p+t (candidate p), as in the pixelwise estimate of Buades, Coll & Morel
(IPOL 2011):

    û_c(p) = [u_c(p) + Σ_{t>0} W_t(p) u_c(p+t) + W_t(p−t) u_c(p−t)]
             / [1 + Σ_{t>0} W_t(p) + W_t(p−t)]

with t > 0 the shifts after 0 in raster order. Threads take rectangular tiles
of the output; a tile computes W_t on its own rows and the ty rows above it
(and |tx| columns beside), so tiles never write to each other and the working
memory is the output plus O(tile) per thread.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ..._kernel_cache import ensure_kernel_cache
from .._contract import weight_constants
from ._fastexp import EXP2_ARG_MIN, FMA, LOG2_E, exp2
from ._pixelwise_rows import accumulate, accumulate_masked

ensure_kernel_cache(__file__)  # before the first cached kernel is defined

_ZERO = np.float32(0.0)

#: Output rows and columns per tile (one thread's unit of work). A tile keeps
#: the sums of one row of shifts, (C+1) × rows × cols float32, in the L2 cache
#: while it runs through those shifts (and as much again for the totals).
TILE_ROWS = 64
TILE_COLS = 512

# The hot loops below index whole arrays with unsigned (uint64) offsets rather
# than slicing rows: Numba skips the negative-index wrap-around for unsigned
# indices, so the loops vectorise, and no slice touches the reference count
# of the padded image that all threads share.


@njit(cache=True, fastmath=FMA)
def _box_sum(sums, n_out, side, out):
    """out[i] = Σ_{k<side} sums[0, i + k] for i < n_out (the patch's horizontal sum).

    Built from the partial sums S_m[i] = Σ_{k<m} sums[0, i + k] for m = 1, 2, 4, …
    (S_2m[i] = S_m[i] + S_m[i + m], kept in rows 1 and 2 of ``sums``) added at
    the offsets given by the binary digits of ``side``: about log2(side)
    vectorised passes instead of a serial running sum or ``side`` passes.
    """
    n_in = n_out + side - 1
    partial = 0  # row of ``sums`` holding S_m
    m = 1
    offset = 0
    first = True
    while True:
        if side & m:
            src = np.uint64(offset)
            if first:
                for i in range(np.uint64(n_out)):
                    out[i] = sums[partial, src + i]
                first = False
            else:
                for i in range(np.uint64(n_out)):
                    out[i] += sums[partial, src + i]
            offset += m
        if 2 * m > side:
            break
        # S_2m from S_m, valid for i < n_in − 2m + 1; rows 1 and 2 alternate.
        spare = 1 if partial != 1 else 2
        ahead = np.uint64(m)
        for i in range(np.uint64(n_in - 2 * m + 1)):
            sums[spare, i] = sums[partial, i] + sums[partial, ahead + i]
        partial = spare
        m *= 2


@njit(cache=True, inline="always", fastmath=FMA)
def _weight(patch_sum, scale, offset):
    """W = exp(−max(d² − 2σ², 0) / h²) = 2^y, y = −max(patch_sum·scale − offset, 0).

    ``scale`` and ``offset`` carry the factor log2(e); y is kept >= EXP2_ARG_MIN.
    """
    return exp2(max(min(offset - patch_sum * scale, _ZERO), EXP2_ARG_MIN))


@njit(cache=True, fastmath=FMA)
def weight_row(sums, f, n, scale, offset, weights, w_row, w_col, patch):
    """weights[w_row, w_col + i] = W of the patch sum Σ_{k≤2f} sums[0, i + k], i < n.

    Row 0 of ``sums`` holds the vertical patch sums. The horizontal sum is
    written out term by term for f ≤ 2; for 3 ≤ f ≤ 5 it adds f pair sums
    S2[i] = sums[0, i] + sums[0, i + 1] (one pass into row 1) and one single;
    larger patches go through :func:`_box_sum` and ``patch``. Each branch is
    one vectorised loop that also evaluates the weight.
    """
    v = np.uint64(0)  # row of the vertical sums
    p2 = np.uint64(1)  # row of the pair sums S2
    k1, k2, k3, k4 = np.uint64(1), np.uint64(2), np.uint64(3), np.uint64(4)
    k6, k8, k10 = np.uint64(6), np.uint64(8), np.uint64(10)
    w_row = np.uint64(w_row)
    w_col = np.uint64(w_col)
    if 3 <= f <= 5:
        for i in range(np.uint64(n + 2 * f - 1)):
            sums[p2, i] = sums[v, i] + sums[v, i + k1]
    if f == 0:
        for i in range(np.uint64(n)):
            weights[w_row, w_col + i] = _weight(sums[v, i], scale, offset)
    elif f == 1:
        for i in range(np.uint64(n)):
            total = sums[v, i] + sums[v, i + k1] + sums[v, i + k2]
            weights[w_row, w_col + i] = _weight(total, scale, offset)
    elif f == 2:
        for i in range(np.uint64(n)):
            total = (
                sums[v, i] + sums[v, i + k1] + sums[v, i + k2] + sums[v, i + k3] + sums[v, i + k4]
            )
            weights[w_row, w_col + i] = _weight(total, scale, offset)
    elif f == 3:
        for i in range(np.uint64(n)):
            total = sums[p2, i] + sums[p2, i + k2] + sums[p2, i + k4] + sums[v, i + k6]
            weights[w_row, w_col + i] = _weight(total, scale, offset)
    elif f == 4:
        for i in range(np.uint64(n)):
            pairs = sums[p2, i] + sums[p2, i + k2] + sums[p2, i + k4] + sums[p2, i + k6]
            total = pairs + sums[v, i + k8]
            weights[w_row, w_col + i] = _weight(total, scale, offset)
    elif f == 5:
        for i in range(np.uint64(n)):
            pairs = sums[p2, i] + sums[p2, i + k2] + sums[p2, i + k4] + sums[p2, i + k6]
            total = pairs + (sums[p2, i + k8] + sums[v, i + k10])
            weights[w_row, w_col + i] = _weight(total, scale, offset)
    else:
        _box_sum(sums, n, 2 * f + 1, patch)
        for i in range(np.uint64(n)):
            weights[w_row, w_col + i] = _weight(patch[i], scale, offset)


@njit(cache=True, fastmath=FMA)
def push_diff_row(padded, row, shifted_row, col, shifted_col, n, ring, slot, sums):
    """Slide the vertical patch sums one row: sums += D − ring[slot]; ring[slot] = D.

    D[j] = Σ_c (u_c(row, col + j) − u_c(shifted_row, shifted_col + j))² for j < n
    (indices of the padded stack) is D_t of the new bottom row of the patch;
    ring[slot] holds the row that leaves at the top (zeros while filling).
    One specialised loop for 1 and 3 channels.
    """
    n_channels = padded.shape[0]
    row = np.uint64(row)
    shifted_row = np.uint64(shifted_row)
    col = np.uint64(col)
    shifted_col = np.uint64(shifted_col)
    slot = np.uint64(slot)
    n = np.uint64(n)
    zero = np.uint64(0)
    if n_channels == 1:
        for j in range(n):
            d = padded[zero, row, col + j] - padded[zero, shifted_row, shifted_col + j]
            new = d * d
            sums[zero, j] += new - ring[slot, j]
            ring[slot, j] = new
    elif n_channels == 3:
        one = np.uint64(1)
        two = np.uint64(2)
        for j in range(n):
            d0 = padded[zero, row, col + j] - padded[zero, shifted_row, shifted_col + j]
            d1 = padded[one, row, col + j] - padded[one, shifted_row, shifted_col + j]
            d2 = padded[two, row, col + j] - padded[two, shifted_row, shifted_col + j]
            new = d0 * d0 + d1 * d1 + d2 * d2
            sums[zero, j] += new - ring[slot, j]
            ring[slot, j] = new
    else:
        # Σ_c into the spare row 1 of ``sums`` (free until the box sum), then slide.
        one = np.uint64(1)
        for j in range(n):
            sums[one, j] = _ZERO
        for c in range(np.uint64(n_channels)):
            for j in range(n):
                d = padded[c, row, col + j] - padded[c, shifted_row, shifted_col + j]
                sums[one, j] += d * d
        for j in range(n):
            new = sums[one, j]
            sums[zero, j] += new - ring[slot, j]
            ring[slot, j] = new


@njit(cache=True)
def fold(total, partial):
    """Add partial to total, then zero partial (C-contiguous arrays of one shape)."""
    total = total.reshape(-1)
    partial = partial.reshape(-1)
    for k in range(np.uint64(total.size)):
        total[k] += partial[k]
        partial[k] = _ZERO


@njit(cache=True, fastmath=FMA)
def denoise_tile(padded, values, mask, masked, f, r, scale, offset, y0, y1, x0, x1, out):
    """Pixelwise NLM of output rows [y0, y1) × columns [x0, x1) into ``out``.

    Coordinates are those of the output image; the padded stack holds
    u(y, x) at [pad + y, pad + x] with pad = r + f. With ``masked`` the
    candidates are weighed by the mask μ (same padded shape, 0 or 1) and
    ``values`` holds μ u_c: the masked estimate of :mod:`._pixelwise_masked`;
    otherwise ``values`` and ``mask`` are not read.
    """
    n_channels = padded.shape[0]
    pad = r + f
    side = 2 * f + 1
    rows = y1 - y0
    cols = x1 - x0
    span = cols + 2 * r  # a weight row covers columns [x0 − r, x1 + r)
    numerator = np.empty((n_channels, rows, cols), dtype=np.float32)
    denominator = np.empty((rows, cols), dtype=np.float32)
    # The t = 0 term: w(p, p) = exp(0) = 1.
    for i in range(rows):
        row = np.uint64(pad + y0 + i)
        col = np.uint64(pad + x0)
        for c in range(n_channels):
            for x in range(np.uint64(cols)):
                numerator[c, i, x] = padded[c, row, col + x]
        for x in range(np.uint64(cols)):
            denominator[i, x] = 1.0
    # Two-level sums: the terms of one row of shifts (one ty, up to 4r + 2 per
    # pixel) go into ``part_*`` and are then added to the totals, so float32
    # rounding grows with about 4r + (r + 1) terms, not (2r + 1)².
    part_numerator = np.zeros((n_channels, rows, cols), dtype=np.float32)
    part_denominator = np.zeros((rows, cols), dtype=np.float32)
    # D_t rows of the patch (a ring of 2f+1 rows); their vertical sums (row 0
    # of ``sums``, rows 1-2 are scratch); the patch sums; and the last r+1
    # rows of weights W_t (a ring indexed by image row).
    diff_ring = np.empty((side, span + 2 * f), dtype=np.float32)
    sums = np.empty((3, span + 2 * f), dtype=np.float32)
    patch = np.empty(span, dtype=np.float32)
    weights = np.empty((r + 1, span), dtype=np.float32)
    for ty in range(r + 1):
        for tx in range(-r, r + 1):
            if ty == 0 and tx <= 0:
                continue  # t ≤ 0 in raster order: covered by symmetry (or the centre)
            # W_t is needed at p (columns [0, cols)) and at p − t (columns
            # [−tx, cols − tx)), on rows [y0 − ty, y1); D_t on f more each side.
            lo = min(0, -tx)
            hi = cols + max(0, -tx)
            n_diff = hi - lo + 2 * f
            diff_col = pad + x0 + lo - f  # padded column of D_t's first entry
            # Vertical sums of the first weight row's patch, rows y0 − ty ± f:
            # push 2f rows here and the last one in the row loop. The ring
            # slots advance one row at a time (no division in the loop).
            diff_ring[:, :n_diff] = _ZERO
            sums[0, :n_diff] = _ZERO
            slot = 0
            for a in range(y0 - ty - f, y0 - ty + f):
                push_diff_row(
                    padded, pad + a, pad + a + ty, diff_col, diff_col + tx, n_diff, diff_ring,
                    slot, sums,
                )  # fmt: skip
                slot += 1
            w_slot = 0  # ring row of W_t on image row yy
            for yy in range(y0 - ty, y1):
                # Running vertical sum: add row yy + f, drop row yy − f − 1
                # (they share a ring slot).
                a = yy + f
                push_diff_row(
                    padded, pad + a, pad + a + ty, diff_col, diff_col + tx, n_diff, diff_ring,
                    slot, sums,
                )  # fmt: skip
                slot = slot + 1 if slot + 1 < side else 0
                # W_t(p) = exp(−max(d² − 2σ², 0) / h²) from the patch sum
                # Σ_j D_t(p + j) = C (2f+1)² d²(p, p + t), columns [lo, hi),
                # stored at column r + x of its ring row.
                weight_row(sums, f, hi - lo, scale, offset, weights, w_slot, r + lo, patch)
                if yy >= y0:
                    back_slot = w_slot - ty if w_slot >= ty else w_slot - ty + r + 1
                    fwd = (pad + yy + ty, pad + x0 + tx)  # u(p + t) of the row's first p
                    bwd = (pad + yy - ty, pad + x0 - tx)  # u(p − t)
                    w_fwd, w_bwd = (w_slot, r), (back_slot, r - tx)  # W_t(p), W_t(p − t)
                    if masked:
                        accumulate_masked(
                            values, mask, fwd, bwd, weights, w_fwd, w_bwd, cols,
                            part_numerator, part_denominator, yy - y0,
                        )  # fmt: skip
                    else:
                        accumulate(
                            padded, fwd, bwd, weights, w_fwd, w_bwd, cols,
                            part_numerator, part_denominator, yy - y0,
                        )  # fmt: skip
                w_slot = w_slot + 1 if w_slot < r else 0
        fold(numerator, part_numerator)
        fold(denominator, part_denominator)
    # û_c(p) = Σ w u_c / Σ w; the denominator is at least the centre weight 1.
    for c in range(n_channels):
        for i in range(rows):
            row = np.uint64(y0 + i)
            col = np.uint64(x0)
            for x in range(np.uint64(cols)):
                out[c, row, col + x] = numerator[c, i, x] / denominator[i, x]


@njit(parallel=True, cache=True, nogil=True, fastmath=FMA)
def pixelwise_kernel(padded, f, r, scale, offset, tile_rows, tile_cols, out):
    """Pixelwise NLM of ``padded`` (C, H+2(r+f), W+2(r+f)) into ``out`` (C, H, W).

    ``scale`` = log2(e) / (C (2f+1)² h²) and ``offset`` = log2(e) 2σ²/h², so
    w = exp(−max(d² − 2σ², 0) / h²) = 2^(−max(sum·scale − offset, 0)). Tiles of
    ``tile_rows`` × ``tile_cols`` output pixels run in parallel.
    """
    _, height, width = out.shape
    n_tile_rows = (height + tile_rows - 1) // tile_rows
    n_tile_cols = (width + tile_cols - 1) // tile_cols
    no_mask = np.empty((0, 0), dtype=np.float32)
    for tile in prange(n_tile_rows * n_tile_cols):
        y0 = (tile // n_tile_cols) * tile_rows
        x0 = (tile % n_tile_cols) * tile_cols
        y1 = min(y0 + tile_rows, height)
        x1 = min(x0 + tile_cols, width)
        denoise_tile(padded, padded, no_mask, False, f, r, scale, offset, y0, y1, x0, x1, out)


def pixelwise(
    padded: np.ndarray,
    f: int,
    r: int,
    sigma: float,
    h: float,
    tile_rows: int = TILE_ROWS,
    tile_cols: int = TILE_COLS,
) -> np.ndarray:
    """Pixelwise NLM of a float32 (C, H+2(r+f), W+2(r+f)) stack; returns (C, H, W) float32.

    One strength ``h``, square radii; ``tile_rows`` × ``tile_cols`` is the
    work unit of one thread (tests use small tiles to cover the tile borders).
    """
    pad = r + f
    padded = np.ascontiguousarray(padded, dtype=np.float32)
    n_channels = padded.shape[0]
    out = np.empty(
        (n_channels, padded.shape[1] - 2 * pad, padded.shape[2] - 2 * pad), dtype=np.float32
    )
    scales, offsets = weight_constants([h], sigma, (f, f), n_channels)
    # The kernel computes W = 2^y, so it takes scale and offset times log2(e).
    scale, offset = np.float32(scales[0] * LOG2_E), np.float32(offsets[0] * LOG2_E)
    # Plain ints and float32 scalars: one compiled specialisation for every call.
    sizes = int(f), int(r), int(tile_rows), int(tile_cols)
    pixelwise_kernel(padded, sizes[0], sizes[1], scale, offset, sizes[2], sizes[3], out)
    return out
