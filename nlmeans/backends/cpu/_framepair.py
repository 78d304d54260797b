"""Numba CPU backend: pixelwise NLM of a time stack (f_t = 0), one pair of frames at a time.

A time stack u(t, y, x) compared with 2-D patches (no patch extent along
time, f_t = 0) has the patch distance of two 2-D patches, one in frame a and
one in frame b:

    d²((a, p), (b, p + s)) = 1/(C (2f+1)²) Σ_c Σ_{j ∈ B(0,f)} (u_c(a, p+j) − u_c(b, p+s+j))²

so for a pair of frames (a, b) and a spatial shift s the squared differences
D_s(p) = Σ_c (u_c(a, p) − u_c(b, p + s))² are box-summed over the patch with the
row loops of the 2-D kernel (:mod:`.pixelwise`): a running sum down the rows
(independent of f), the horizontal sum and the weight in one vectorised loop
(:func:`~nlmeans.backends.cpu._pixelwise._weight_row`). The distance is
symmetric, so each unordered pair is computed once and serves both frames:

    W_s(p) = w((a, p), (b, p + s))  adds  W_s(p) u(b, p + s)  to frame a at p,
                                    and   W_s(p) u(a, p)      to frame b at p + s;

with b = a only the shifts s > 0 (raster order) are computed, as in 2-D. The
pairs are the (a, b) with 0 ≤ b − a ≤ r_t; a pixel's search box B(p, r) then
covers frames t − r_t … t + r_t and (2r+1)² positions in each, and

    û_c(t, p) = Σ_{(b, q)} w((t, p), (b, q)) u_c(b, q) / Σ_{(b, q)} w((t, p), (b, q))

is the pixelwise estimate of :mod:`nlmeans.backends.reference` with
f = (0, f, f), r = (r_t, r, r).

Threads take spatial tiles and run through the frames in order; a tile keeps
the sums of the r_t + 1 frames its pairs still touch (a ring), and writes a
frame out once the pairs with every later frame are done. The terms of one row
of shifts (one s_y) go to partial sums first, then to the totals (float32
rounding grows with the terms of a row, not with the whole window).
"""

from __future__ import annotations

import numba
import numpy as np
from numba import njit, prange

from ..._kernel_cache import ensure_kernel_cache
from .._contract import weight_constants
from ._fastexp import FMA, LOG2_E
from ._pixelwise import weight_row as _weight_row

ensure_kernel_cache(__file__)  # before the first cached kernel is defined

_ZERO = np.float32(0.0)
_ONE = np.float32(1.0)

#: Output rows and columns per tile at most (one thread's unit of work).
TILE_ROWS = 64
TILE_COLS = 512


@njit(cache=True, fastmath=FMA)
def _push_pair_row(padded, fa, fb, row, shifted_row, col, shifted_col, n, ring, slot, sums):
    """Slide the vertical patch sums one row: sums[0] += D − ring[slot]; ring[slot] = D.

    D[j] = Σ_c (u_c(fa, row, col + j) − u_c(fb, shifted_row, shifted_col + j))²,
    j < n, in padded indices: D_s of the row entering the patch; ring[slot] holds
    the row that leaves it (zeros while filling).
    """
    n_channels = padded.shape[0]
    fa, fb = np.uint64(fa), np.uint64(fb)
    row, shifted_row = np.uint64(row), np.uint64(shifted_row)
    col, shifted_col = np.uint64(col), np.uint64(shifted_col)
    slot = np.uint64(slot)
    n = np.uint64(n)
    zero = np.uint64(0)
    if n_channels == 1:
        for j in range(n):
            d = padded[zero, fa, row, col + j] - padded[zero, fb, shifted_row, shifted_col + j]
            new = d * d
            sums[zero, j] += new - ring[slot, j]
            ring[slot, j] = new
    else:
        # Σ_c into the spare row 1 of ``sums`` (free until the horizontal sum), then slide.
        one = np.uint64(1)
        for j in range(n):
            sums[one, j] = _ZERO
        for c in range(np.uint64(n_channels)):
            for j in range(n):
                d = padded[c, fa, row, col + j] - padded[c, fb, shifted_row, shifted_col + j]
                sums[one, j] += d * d
        for j in range(n):
            new = sums[one, j]
            sums[zero, j] += new - ring[slot, j]
            ring[slot, j] = new


@njit(cache=True, fastmath=FMA)
def _add_weighted(padded, frame, row, col, weights, w_col, n, num, den, slot, i):
    """num[slot, c, i, x] += W[x] u_c(frame, row, col + x); den[slot, i, x] += W[x], x < n.

    W[x] = weights[0, w_col + x]: the Σ_q w u_c(q) and Σ_q w terms of one output row.
    """
    n_channels = padded.shape[0]
    frame, row, col = np.uint64(frame), np.uint64(row), np.uint64(col)
    w_col, n, slot, i = np.uint64(w_col), np.uint64(n), np.uint64(slot), np.uint64(i)
    zero = np.uint64(0)
    if n_channels == 1:
        for x in range(n):
            w = weights[zero, w_col + x]
            den[slot, i, x] += w
            num[slot, zero, i, x] += w * padded[zero, frame, row, col + x]
    else:
        for x in range(n):
            den[slot, i, x] += weights[zero, w_col + x]
        for c in range(np.uint64(n_channels)):
            for x in range(n):
                num[slot, c, i, x] += weights[zero, w_col + x] * padded[c, frame, row, col + x]


@njit(cache=True)
def _fold(total, partial, slot):
    """total[slot] += partial[slot], then partial[slot] = 0."""
    flat_total = total[slot].reshape(-1)
    flat_partial = partial[slot].reshape(-1)
    for k in range(flat_total.size):
        flat_total[k] += flat_partial[k]
        flat_partial[k] = _ZERO


@njit(cache=True, fastmath=FMA)
def _pair_tile(
    padded, fa, fb, sa, sb, use_a, use_b, f, r, margin, dy, dx, scale, offset, y0, y1, x0,
    x1, part_num, part_den, num, den, diff_ring, sums, patch, weights,
):  # fmt: skip
    """Add the terms of the pair of frames (fa, fb) for the tile [y0, y1) × [x0, x1).

    Adds W_s(p) u(fb, p + s) to the partial sums of slot ``sa`` at p and
    W_s(p) u(fa, p) to those of slot ``sb`` at p + s, for every shift s of the
    window (s > 0 only when fa == fb), folding them into the totals after each
    row of shifts. ``use_a`` / ``use_b``: whether frame a / b is an output frame
    (a padding frame's terms are skipped). Coordinates are the output image's;
    padded = image + r + f + ``margin``. (dy, dx): the displacement of the search
    box in frame b (motion compensation): candidates (fb, p + v + s); only with
    ``use_b`` false unless v = 0 (frame b's pixels take the symmetric terms only
    when their own box is not displaced either).
    """
    pad = r + f + margin
    side = 2 * f + 1
    cols = x1 - x0
    same = fa == fb
    for sy in range(0 if same else -r, r + 1):
        for sx in range(-r, r + 1):
            if same and sy == 0 and sx <= 0:
                continue  # s ≤ 0 in raster order: the mirror of a shift > 0 (or the centre)
            # W_s is needed at p (the tile) and at p − s (for frame b's pixels of the tile).
            if use_b:
                lo, hi = min(0, -sx), cols + max(0, -sx)
                first, last = min(y0, y0 - sy), max(y1, y1 - sy)
            else:
                lo, hi, first, last = 0, cols, y0, y1
            n_diff = hi - lo + 2 * f
            diff_col = pad + x0 + lo - f  # padded column of D_s's first entry
            diff_ring[:, :n_diff] = _ZERO
            sums[0, :n_diff] = _ZERO
            slot = 0
            for a in range(first - f, first + f):
                _push_pair_row(
                    padded, fa, fb, pad + a, pad + a + sy + dy, diff_col, diff_col + sx + dx,
                    n_diff, diff_ring, slot, sums,
                )  # fmt: skip
                slot += 1
            for yy in range(first, last):
                # Running vertical sum: row yy + f enters, row yy − f − 1 leaves.
                a = yy + f
                _push_pair_row(
                    padded, fa, fb, pad + a, pad + a + sy + dy, diff_col, diff_col + sx + dx,
                    n_diff, diff_ring, slot, sums,
                )  # fmt: skip
                slot = slot + 1 if slot + 1 < side else 0
                # W_s(p) = exp(−max(d² − 2σ², 0) / h²) on columns [lo, hi), at weights[0, x − lo].
                _weight_row(sums, f, hi - lo, scale, offset, weights, 0, 0, patch)
                if use_a and y0 <= yy < y1:  # frame a at p = (yy, x): candidate (fb, p + v + s)
                    _add_weighted(
                        padded, fb, pad + yy + sy + dy, pad + x0 + sx + dx, weights, -lo, cols,
                        part_num, part_den, sa, yy - y0,
                    )  # fmt: skip
                q = yy + sy
                if use_b and y0 <= q < y1:  # frame b at q = p + s: candidate (fa, q − s)
                    _add_weighted(
                        padded, fa, pad + yy, pad + x0 - sx, weights, -sx - lo, cols,
                        part_num, part_den, sb, q - y0,
                    )  # fmt: skip
        if use_a:
            _fold(num, part_num, sa)
            _fold(den, part_den, sa)
        if use_b and not same:
            _fold(num, part_num, sb)
            _fold(den, part_den, sb)


@njit(parallel=True, cache=True, nogil=True, fastmath=FMA)
def _framepair_kernel(
    padded, rt, f, r, margin, scale, offset, tile_rows, tile_cols, motion, moves, out
):  # fmt: skip
    """Pixelwise NLM of ``padded`` into ``out``.

    ``padded`` is (C, T + 2 r_t, H + 2 m, W + 2 m), m = r + f + ``margin``;
    ``out`` is (C, T, H, W).

    ``scale`` = log2(e) / (C (2f+1)² h²), ``offset`` = log2(e) 2σ²/h². Tiles of
    ``tile_rows`` × ``tile_cols`` output pixels run in parallel, each through
    every frame. With ``motion``, ``moves[t, r_t + k, i, j]`` is the (dy, dx)
    displacement of the search box of output frame t's tile (i, j) in frame
    t + k: a pair whose two boxes are not both undisplaced is computed once in
    each direction, each frame with its own displaced box.
    """
    n_channels, n_frames, height, width = out.shape
    pad = r + f + margin
    n_tile_rows = (height + tile_rows - 1) // tile_rows
    n_tile_cols = (width + tile_cols - 1) // tile_cols
    slots = rt + 1
    for tile in prange(n_tile_rows * n_tile_cols):
        ti = tile // n_tile_cols
        tj = tile % n_tile_cols
        y0 = ti * tile_rows
        x0 = tj * tile_cols
        y1 = min(y0 + tile_rows, height)
        x1 = min(x0 + tile_cols, width)
        rows = y1 - y0
        cols = x1 - x0
        span = cols + r + 2 * f
        num = np.empty((slots, n_channels, rows, cols), dtype=np.float32)
        den = np.empty((slots, rows, cols), dtype=np.float32)
        part_num = np.zeros((slots, n_channels, rows, cols), dtype=np.float32)
        part_den = np.zeros((slots, rows, cols), dtype=np.float32)
        diff_ring = np.empty((2 * f + 1, span), dtype=np.float32)
        sums = np.empty((3, span), dtype=np.float32)
        patch = np.empty(span, dtype=np.float32)
        weights = np.empty((1, span), dtype=np.float32)
        # Padded frame a = output frame a − r_t; pairs (a, b), a ≤ b ≤ a + r_t, with an
        # output frame among them.
        for a in range(n_frames + rt):
            b_new = a + rt  # the frame whose first pair starts now: the centre term
            if b_new < n_frames + rt:
                s = b_new % slots
                for i in range(rows):
                    for c in range(n_channels):
                        for x in range(cols):
                            num[s, c, i, x] = padded[c, b_new, pad + y0 + i, pad + x0 + x]
                    for x in range(cols):
                        den[s, i, x] = _ONE  # w((t, p), (t, p)) = 1
            a_out = a >= rt
            for b in range(a, min(a + rt, n_frames + 2 * rt - 1) + 1):
                b_out = rt <= b < n_frames + rt
                if not (a_out or b_out):
                    continue  # both frames in the padding: no output needs them
                ay = ax = by = bx = 0  # the displacements a -> b and b -> a
                if motion and b != a:
                    k = b - a
                    if a_out:
                        ay, ax = moves[a - rt, rt + k, ti, tj, 0], moves[a - rt, rt + k, ti, tj, 1]
                    if b_out:
                        by, bx = moves[b - rt, rt - k, ti, tj, 0], moves[b - rt, rt - k, ti, tj, 1]
                if ay == 0 and ax == 0 and by == 0 and bx == 0:
                    # One pass serves both frames (d² is symmetric).
                    _pair_tile(
                        padded, a, b, a % slots, b % slots, a_out, b_out, f, r, margin, 0, 0,
                        scale, offset, y0, y1, x0, x1,
                        part_num, part_den, num, den, diff_ring, sums, patch, weights,
                    )  # fmt: skip
                    continue
                if a_out:  # frame a's box in frame b, displaced by (ay, ax)
                    _pair_tile(
                        padded, a, b, a % slots, b % slots, True, False, f, r, margin, ay, ax,
                        scale, offset, y0, y1, x0, x1,
                        part_num, part_den, num, den, diff_ring, sums, patch, weights,
                    )  # fmt: skip
                if b_out:  # frame b's box in frame a, displaced by (by, bx)
                    _pair_tile(
                        padded, b, a, b % slots, a % slots, True, False, f, r, margin, by, bx,
                        scale, offset, y0, y1, x0, x1,
                        part_num, part_den, num, den, diff_ring, sums, patch, weights,
                    )  # fmt: skip
            if a_out:
                # Every pair with frame a is done: û_c = Σ w u_c / Σ w (Σ w ≥ 1).
                s = a % slots
                for c in range(n_channels):
                    for i in range(rows):
                        for x in range(cols):
                            out[c, a - rt, y0 + i, x0 + x] = num[s, c, i, x] / den[s, i, x]


def tile_rows_for(height: int, width: int) -> int:
    """Rows per tile: :data:`TILE_ROWS`, fewer (down to 16) for at least 2 tiles per thread.

    Threads of the machine's pool, not those in use: a tile's running sums round
    on their own, so the tiles must not change with ``--threads``.
    """
    col_tiles = -(-width // TILE_COLS)
    wanted = 2 * numba.config.NUMBA_NUM_THREADS
    rows = -(-height * col_tiles // wanted)
    return int(max(16, min(TILE_ROWS, rows)))


def framepair(
    padded: np.ndarray,
    rt: int,
    f: int,
    r: int,
    sigma: float,
    h: float,
    tile_rows: int | None = None,
    tile_cols: int = TILE_COLS,
) -> np.ndarray:
    """Pixelwise NLM of a time stack with f = (0, f, f), r = (r_t, r, r), one strength h.

    Parameters
    ----------
    padded : ndarray, float32, shape (C, T + 2 r_t, H + 2(r + f), W + 2(r + f))
        The frames, channels first, reflect-padded (time by r_t, space by r + f).
    rt, f, r : int
        Search radius in time; patch and search radius in space (both spatial axes).
    sigma, h : float
        Noise standard deviation and filtering strength, in pixel-value units.
    tile_rows, tile_cols : int, optional
        One thread's output tile (tests use small tiles to cover the tile borders).

    Returns
    -------
    ndarray, float32, shape (C, T, H, W)
        The estimate of :func:`nlmeans.backends.reference.pixelwise` with
        f = (0, f, f), r = (r_t, r, r).

    References
    ----------
    A. Buades, B. Coll, J.-M. Morel, "Non-Local Means Denoising", IPOL 1 (2011).
    J. Darbon, A. Cunha, T. F. Chan, S. Osher, G. J. Jensen, "Fast nonlocal
    filtering applied to electron cryomicroscopy", ISBI 2008.
    """
    return _run(padded, rt, f, r, 0, sigma, h, tile_rows, tile_cols, None)


def framepair_motion(
    padded: np.ndarray,
    rt: int,
    f: int,
    r: int,
    sigma: float,
    h: float,
    moves: np.ndarray,
    block: int,
    margin: int,
) -> np.ndarray:
    """Motion-compensated pixelwise NLM of a time stack, f = (0, f, f), r = (r_t, r, r).

    Parameters
    ----------
    padded : ndarray, float32, shape (C, T + 2 r_t, H + 2 m, W + 2 m)
        The frames reflect-padded by r_t in time and m = r + f + ``margin`` in space.
    rt, f, r, sigma, h
        As in :func:`framepair`.
    moves : ndarray, int, shape (T, 2 r_t + 1, ⌈H / block⌉, ⌈W / block⌉, 2)
        ``moves[t, r_t + k, i, j]``: the (dy, dx) displacement, at most ``margin``
        in size, of the search box in frame t + k of the pixels of block (i, j)
        of frame t (:func:`nlmeans.backends._motion.displacements`).
    block : int
        Side of the blocks of ``moves`` (the kernel's tiles).
    margin : int
        The largest displacement.

    Returns
    -------
    ndarray, float32, shape (C, T, H, W)
        The estimate of :func:`nlmeans.backends.reference.motion_pixelwise`.

    References
    ----------
    A. Buades, B. Coll, J.-M. Morel, "Denoising image sequences does not require
    motion estimation", AVSS 2005 (the static window this one displaces).
    """
    moves = np.ascontiguousarray(moves, dtype=np.int64)
    return _run(padded, rt, f, r, margin, sigma, h, block, block, moves)


def _run(padded, rt, f, r, margin, sigma, h, tile_rows, tile_cols, moves) -> np.ndarray:
    padded = np.ascontiguousarray(padded, dtype=np.float32)
    n_channels, frames, rows, cols = padded.shape
    pad = r + f + margin
    shape = (n_channels, frames - 2 * rt, rows - 2 * pad, cols - 2 * pad)
    if min(shape[1:]) < 1:
        raise ValueError(f"padded stack {padded.shape} is too small for r_t={rt}, f={f}, r={r}")
    out = np.empty(shape, dtype=np.float32)
    scales, offsets = weight_constants([h], sigma, (0, f, f), n_channels)
    scale, offset = np.float32(scales[0] * LOG2_E), np.float32(offsets[0] * LOG2_E)
    if tile_rows is None:
        tile_rows = tile_rows_for(shape[2], shape[3])
    motion = moves is not None
    if not motion:
        moves = np.zeros((1, 1, 1, 1, 2), np.int64)
    sizes = int(rt), int(f), int(r), int(margin), int(tile_rows), int(tile_cols)
    with numba.parallel_chunksize(1):  # tiles handed out one at a time, not in equal shares
        _framepair_kernel(padded, *sizes[:4], scale, offset, *sizes[4:], motion, moves, out)
    return out
