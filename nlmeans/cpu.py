"""Numba CPU backend: pixelwise NLM with per-shift box sums and symmetric weights.

For each shift t of the search window the squared differences
D_t(p) = Σ_c (u_c(p) − u_c(p + t))² are box-summed over the (2f+1)² patch
(Darbon, Cunha, Chan, Osher & Jensen, 2008), so the cost is O(pixels × (2r+1)²)
whatever the patch size: vertically with a running sum, horizontally with
power-of-two partial sums, so that every inner loop is a branch-free float32
loop over a contiguous row that LLVM vectorises.

The patch distance is symmetric, d²(p, p+t) = d²(p+t, p), so only half of the
shifts are computed: the weight W_t(p) = w(p, p+t) serves p (candidate p+t)
and p+t (candidate p), as in the pixelwise estimate of Buades, Coll & Morel
(IPOL 2011):

    û_c(p) = [u_c(p) + Σ_{t>0} W_t(p) u_c(p+t) + W_t(p−t) u_c(p−t)]
             / [1 + Σ_{t>0} W_t(p) + W_t(p−t)]

with t > 0 the shifts after 0 in raster order. Threads take rectangular tiles
of the output; a tile computes W_t on its own rows and the ty rows above it,
so tiles never write to each other and the working memory is the output plus
O(tile) per thread.
"""

from __future__ import annotations

import numba
import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.extending import intrinsic

from .params import Params

#: Output rows and columns per tile (one thread's unit of work). A tile keeps
#: its numerator and denominator, (C+1) × rows × cols float32, in the L2 cache
#: while it runs through all the shifts.
TILE_ROWS = 64
TILE_COLS = 512

#: exp(−x) is evaluated for x in [0, EXP_ARG_MAX]; e^−87 ≈ 1.6e-38 is the
#: smallest normal float32 it reaches, below that a weight is negligible.
EXP_ARG_MAX = np.float32(87.0)
_MINUS_LOG2_E = np.float32(-1.4426950408889634)
# 2^x on [−0.5, 0.5] (degree-5 fit, relative error < 3e-7 in float32).
_P0 = np.float32(1.00000007)
_P1 = np.float32(0.69314695)
_P2 = np.float32(0.24022122)
_P3 = np.float32(0.05550743)
_P4 = np.float32(0.00967546)
_P5 = np.float32(0.0013267)
_HALF = np.float32(0.5)
_ZERO = np.float32(0.0)
_EXPONENT_ONE = np.float32(127 * 2**23)  # IEEE-754 bits of 1.0f
_EXPONENT_STEP = np.float32(2**23)  # one unit of the float32 exponent field


@intrinsic
def _float32_from_bits(typingctx, bits):
    """Reinterpret the bits of an int32 as a float32 (no numeric conversion)."""
    if bits != types.int32:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.FloatType())

    return types.float32(types.int32), codegen


@njit(cache=True, inline="always")
def _exp_minus(x):
    """exp(−x) for float32 x in [0, EXP_ARG_MAX], vectorisable, relative error < 5e-7.

    exp(−x) = 2^n · 2^g with y = −x·log2(e), n = round(y), g = y − n in
    [−0.5, 0.5]: 2^g by a polynomial, 2^n by writing n + 127 into the
    exponent bits of a float32.
    """
    y = x * _MINUS_LOG2_E
    n = np.floor(y + _HALF)
    g = y - n
    p = _P5 * g + _P4
    p = p * g + _P3
    p = p * g + _P2
    p = p * g + _P1
    p = p * g + _P0
    return p * _float32_from_bits(np.int32(n * _EXPONENT_STEP + _EXPONENT_ONE))


@njit(cache=True)
def _box_sum(values, side, out, scratch_a, scratch_b):
    """out[i] = Σ_{k<side} values[i + k] for i < len(out) (the patch's horizontal sum).

    Built from partial sums S_m[i] = Σ_{k<m} values[i + k] for m = 1, 2, 4, …
    (S_2m[i] = S_m[i] + S_m[i + m]) added at the offsets given by the binary
    digits of ``side``: about log2(side) vectorised passes instead of a serial
    running sum or side passes.
    """
    n_out = out.shape[0]
    n_in = values.shape[0]
    partial = values
    m = 1
    offset = 0
    first = True
    while True:
        if side & m:
            shifted = partial[offset : offset + n_out]
            if first:
                for i in range(n_out):
                    out[i] = shifted[i]
                first = False
            else:
                for i in range(n_out):
                    out[i] += shifted[i]
            offset += m
        if 2 * m > side:
            break
        # S_2m from S_m, valid for i < n_in − 2m + 1.
        n_next = n_in - 2 * m + 1
        spare = scratch_a if m & 0x55555555 else scratch_b  # alternate: never read and write one
        ahead = partial[m : m + n_next]
        for i in range(n_next):
            spare[i] = partial[i] + ahead[i]
        partial = spare
        m *= 2


@njit(cache=True)
def _squared_differences(padded, row, shifted_row, col, shifted_col, out, tmp):
    """out[j] = Σ_c (u_c(row, col + j) − u_c(shifted_row, shifted_col + j))², j < len(out).

    ``row``, ``col`` index the padded stack; one specialised loop for 1 and 3 channels.
    """
    n = out.shape[0]
    n_channels = padded.shape[0]
    if n_channels == 1:
        a = padded[0, row, col : col + n]
        b = padded[0, shifted_row, shifted_col : shifted_col + n]
        for j in range(n):
            d = a[j] - b[j]
            out[j] = d * d
    elif n_channels == 3:
        a0 = padded[0, row, col : col + n]
        b0 = padded[0, shifted_row, shifted_col : shifted_col + n]
        a1 = padded[1, row, col : col + n]
        b1 = padded[1, shifted_row, shifted_col : shifted_col + n]
        a2 = padded[2, row, col : col + n]
        b2 = padded[2, shifted_row, shifted_col : shifted_col + n]
        for j in range(n):
            d0 = a0[j] - b0[j]
            d1 = a1[j] - b1[j]
            d2 = a2[j] - b2[j]
            out[j] = d0 * d0 + d1 * d1 + d2 * d2
    else:
        for j in range(n):
            out[j] = _ZERO
        for c in range(n_channels):
            a = padded[c, row, col : col + n]
            b = padded[c, shifted_row, shifted_col : shifted_col + n]
            for j in range(n):
                d = a[j] - b[j]
                tmp[j] = d * d
            for j in range(n):
                out[j] += tmp[j]


@njit(cache=True)
def _accumulate(padded, fwd_row, fwd_col, bwd_row, bwd_col, w_fwd, w_bwd, numerator, denominator):
    """Σ w u(q) and Σ w for one output row: += W_t(p) u(p+t) + W_t(p−t) u(p−t).

    ``numerator`` is the tile's (C, cols) row, ``fwd_*`` / ``bwd_*`` index
    u(p+t) / u(p−t) of the row's first pixel in the padded stack.
    """
    n = denominator.shape[0]
    n_channels = padded.shape[0]
    for x in range(n):
        denominator[x] += w_fwd[x] + w_bwd[x]
    if n_channels == 1:
        num = numerator[0]
        a = padded[0, fwd_row, fwd_col : fwd_col + n]
        b = padded[0, bwd_row, bwd_col : bwd_col + n]
        for x in range(n):
            num[x] += w_fwd[x] * a[x] + w_bwd[x] * b[x]
    elif n_channels == 3:
        num0 = numerator[0]
        num1 = numerator[1]
        num2 = numerator[2]
        a0 = padded[0, fwd_row, fwd_col : fwd_col + n]
        b0 = padded[0, bwd_row, bwd_col : bwd_col + n]
        a1 = padded[1, fwd_row, fwd_col : fwd_col + n]
        b1 = padded[1, bwd_row, bwd_col : bwd_col + n]
        a2 = padded[2, fwd_row, fwd_col : fwd_col + n]
        b2 = padded[2, bwd_row, bwd_col : bwd_col + n]
        for x in range(n):
            wf = w_fwd[x]
            wb = w_bwd[x]
            num0[x] += wf * a0[x] + wb * b0[x]
            num1[x] += wf * a1[x] + wb * b1[x]
            num2[x] += wf * a2[x] + wb * b2[x]
    else:
        for c in range(n_channels):
            num = numerator[c]
            a = padded[c, fwd_row, fwd_col : fwd_col + n]
            b = padded[c, bwd_row, bwd_col : bwd_col + n]
            for x in range(n):
                num[x] += w_fwd[x] * a[x] + w_bwd[x] * b[x]


@njit(cache=True)
def _denoise_tile(padded, f, r, scale, offset, y0, y1, x0, x1, out):
    """Pixelwise NLM of output rows [y0, y1) × columns [x0, x1) into ``out``.

    Coordinates are those of the output image; the padded stack holds
    u(y, x) at [pad + y, pad + x] with pad = r + f.
    """
    n_channels = padded.shape[0]
    pad = r + f
    side = 2 * f + 1
    rows = y1 - y0
    cols = x1 - x0
    span = cols + 2 * r  # a weight row covers columns [x0 − r, x1 + r)
    numerator = np.empty((rows, n_channels, cols), dtype=np.float32)
    denominator = np.empty((rows, cols), dtype=np.float32)
    # The t = 0 term: w(p, p) = exp(0) = 1.
    for i in range(rows):
        for c in range(n_channels):
            centre = padded[c, pad + y0 + i, pad + x0 : pad + x1]
            num = numerator[i, c]
            for x in range(cols):
                num[x] = centre[x]
        den = denominator[i]
        for x in range(cols):
            den[x] = 1.0
    # D_t rows of the patch (a ring of 2f+1 rows), their vertical sums, the
    # box sums and the last r+1 rows of weights W_t (a ring indexed by row).
    diff_ring = np.empty((side, span + 2 * f), dtype=np.float32)
    diff_new = np.empty(span + 2 * f, dtype=np.float32)
    diff_tmp = np.empty(span + 2 * f, dtype=np.float32)
    column_sum = np.empty(span + 2 * f, dtype=np.float32)
    scratch_a = np.empty(span + 2 * f, dtype=np.float32)
    scratch_b = np.empty(span + 2 * f, dtype=np.float32)
    box = np.empty(span, dtype=np.float32)
    weight_ring = np.empty((r + 1, span), dtype=np.float32)
    top = y0 - r - f  # ring rows are numbered from here so that indices stay >= 0
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
            sums = column_sum[:n_diff]
            for yy in range(y0 - ty, y1):
                if yy == y0 - ty:
                    # Vertical sum over the patch rows yy − f … yy + f, from scratch.
                    for j in range(n_diff):
                        sums[j] = _ZERO
                    for k in range(side):
                        a = yy - f + k
                        ring = diff_ring[(a - top) % side, :n_diff]
                        _squared_differences(
                            padded, pad + a, pad + a + ty, diff_col, diff_col + tx, ring, diff_tmp
                        )
                        for j in range(n_diff):
                            sums[j] += ring[j]
                else:
                    # Running vertical sum: add row yy + f, drop row yy − f − 1
                    # (they share a ring slot).
                    a = yy + f
                    ring = diff_ring[(a - top) % side, :n_diff]
                    new = diff_new[:n_diff]
                    _squared_differences(
                        padded, pad + a, pad + a + ty, diff_col, diff_col + tx, new, diff_tmp
                    )
                    for j in range(n_diff):
                        d = new[j]
                        sums[j] += d - ring[j]
                        ring[j] = d
                # Patch sum Σ_j D_t(p + j) = C (2f+1)² d²(p, p + t), columns [lo, hi).
                patch = box[: hi - lo]
                _box_sum(sums, side, patch, scratch_a, scratch_b)
                # W_t(p) = exp(−max(d² − 2σ², 0) / h²), stored at column r + x.
                weights = weight_ring[(yy - top) % (r + 1), r + lo : r + hi]
                for j in range(hi - lo):
                    arg = min(max(patch[j] * scale - offset, _ZERO), EXP_ARG_MAX)
                    weights[j] = _exp_minus(arg)
                if yy >= y0:
                    w_fwd = weight_ring[(yy - top) % (r + 1), r : r + cols]
                    w_bwd = weight_ring[(yy - ty - top) % (r + 1), r - tx : r - tx + cols]
                    _accumulate(
                        padded,
                        pad + yy + ty,
                        pad + x0 + tx,
                        pad + yy - ty,
                        pad + x0 - tx,
                        w_fwd,
                        w_bwd,
                        numerator[yy - y0],
                        denominator[yy - y0],
                    )
    # û_c(p) = Σ w u_c / Σ w; the denominator is at least the centre weight 1.
    for i in range(rows):
        den = denominator[i]
        for c in range(n_channels):
            num = numerator[i, c]
            dest = out[c, y0 + i, x0:x1]
            for x in range(cols):
                dest[x] = num[x] / den[x]


@njit(parallel=True, cache=True, nogil=True)
def _pixelwise_kernel(padded, f, r, scale, offset, tile_rows, tile_cols, out):
    """Pixelwise NLM of ``padded`` (C, H+2(r+f), W+2(r+f)) into ``out`` (C, H, W).

    ``scale`` = 1 / (C (2f+1)² h²) turns a patch sum of squared differences into
    d²/h², and ``offset`` = 2σ²/h², so w = exp(-max(sum·scale − offset, 0)).
    Tiles of ``tile_rows`` × ``tile_cols`` output pixels run in parallel.
    """
    _, height, width = out.shape
    n_tile_rows = (height + tile_rows - 1) // tile_rows
    n_tile_cols = (width + tile_cols - 1) // tile_cols
    for tile in prange(n_tile_rows * n_tile_cols):
        y0 = (tile // n_tile_cols) * tile_rows
        x0 = (tile % n_tile_cols) * tile_cols
        y1 = min(y0 + tile_rows, height)
        x1 = min(x0 + tile_cols, width)
        _denoise_tile(padded, f, r, scale, offset, y0, y1, x0, x1, out)


def kernel_constants(params: Params, n_channels: int) -> tuple[np.float32, np.float32]:
    """(scale, offset) with d²/h² = patch_sum · scale and offset = 2σ²/h² (DESIGN.md §1)."""
    h2 = params.h * params.h
    scale = 1.0 / (n_channels * (2 * params.f + 1) ** 2 * h2)
    offset = 2.0 * params.sigma * params.sigma / h2
    return np.float32(scale), np.float32(offset)


def denoise_padded(
    padded: np.ndarray,
    params: Params,
    tile_rows: int = TILE_ROWS,
    tile_cols: int = TILE_COLS,
) -> np.ndarray:
    """Pixelwise NLM of a float32 (C, H+2(r+f), W+2(r+f)) stack; returns (C, H, W) float32.

    ``tile_rows`` × ``tile_cols`` is the work unit of one thread (tests use
    small tiles to cover the tile borders).
    """
    pad = params.r + params.f
    padded = np.ascontiguousarray(padded, dtype=np.float32)
    n_channels = padded.shape[0]
    out = np.empty(
        (n_channels, padded.shape[1] - 2 * pad, padded.shape[2] - 2 * pad), dtype=np.float32
    )
    scale, offset = kernel_constants(params, n_channels)
    _pixelwise_kernel(padded, params.f, params.r, scale, offset, tile_rows, tile_cols, out)
    return out


def warm_up() -> None:
    """Compile (or load from the cache) the kernel on a tiny image."""
    tiny = np.zeros((1, 3, 3), dtype=np.float32)
    denoise_padded(tiny, Params(f=1, r=0, h=1.0, sigma=0.0))


def set_threads(n: int) -> None:
    """Limit the Numba threads used by the CPU backend."""
    numba.set_num_threads(n)
