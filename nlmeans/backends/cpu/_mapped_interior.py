"""A mask on a 2-D image, computed by the 2-D pixelwise kernel's tiles.

Where a pixel p and all its candidates p + t, |t|_∞ ≤ r, lie inside the mask
(the mask's *interior*), M(p, q) = 1 for every q and the mapped formula without
a σ map (:func:`nlmeans.backends.reference_mapped.mapped_pixelwise`) is the
plain pixelwise one:

    û_c(p) = Σ_q w(p, q) u_c(q) / Σ_q w(p, q),  w = exp(−max(d² − 2σ², 0) / h²).

The image is cut into bands of rows; in each band the columns holding a mask
pixel are cut into boxes: runs of columns interior on every row of the band go
to the plain tile (:func:`~nlmeans.backends.cpu._pixelwise.denoise_tile`), the
rest to the same tile with ``masked=True``.
Columns without a mask pixel in the band are skipped: the work falls with the
mask's area.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import njit, prange

from ..._kernel_cache import ensure_kernel_cache
from .._contract import weight_constants
from ._fastexp import LOG2_E
from ._pixelwise import TILE_COLS, TILE_ROWS
from ._pixelwise_masked import boxes_kernel
from ._shares import equal_shares

ensure_kernel_cache(__file__)  # before the first cached kernel is defined

#: Rows of one band: a band's interior columns are those interior on all its rows.
BAND_ROWS = TILE_ROWS
#: Shortest run of interior columns given to the plain tile (shorter: the masked one).
MIN_COLS = 16
#: Masked boxes narrower than this run transposed (the tile's row loops want long rows).
NARROW = 32


@njit(cache=True)
def _window_full_rows(mask, r, lo, y_start, y_stop, out):
    """Set out[y, x] = all of mask[lo + y + a, lo + x + b], |a|, |b| <= r, y_start <= y < y_stop.

    Running counts: ``column[j]`` counts the inside pixels of padded column
    lo − r + j over the rows of the current window.
    """
    width = out.shape[1]
    side = 2 * r + 1
    column = np.zeros(width + 2 * r, np.float32)  # small integers: exact
    for row in range(lo + y_start - r, lo + y_start + r):
        for j in range(width + 2 * r):
            column[j] += mask[row, lo - r + j]
    for y in range(y_start, y_stop):
        for j in range(width + 2 * r):
            column[j] += mask[lo + y + r, lo - r + j]  # the window's last row enters
        count = np.float32(0.0)
        for j in range(side):
            count += column[j]
        for x in range(width):
            out[y, x] = count == side * side
            if x + 1 < width:
                count += column[x + side] - column[x]
        for j in range(width + 2 * r):
            column[j] -= mask[lo + y - r, lo - r + j]  # its first row leaves


@njit(parallel=True, cache=True, nogil=True)
def _window_full(mask, r, lo, chunks, out):
    """:func:`_window_full_rows` over all rows, in ``chunks`` blocks of rows run in parallel."""
    height = out.shape[0]
    for k in prange(chunks):
        _window_full_rows(mask, r, lo, k * height // chunks, (k + 1) * height // chunks, out)


def interior(mask: np.ndarray, r: int, shape) -> np.ndarray:
    """Return the image pixels (bool, H × W) whose whole search window lies inside the mask.

    ``mask`` (H + 2(r + f), W + 2(r + f)), 0 or 1, is padded like the image;
    pixel (y, x) of the image is at (pad + y, pad + x).
    """
    out = np.empty(shape, np.bool_)
    pad = (mask.shape[0] - shape[0]) // 2
    # Each block of rows first sums 2r rows of the mask: blocks of 4r rows or more.
    chunks = max(1, min(4 * numba.get_num_threads(), shape[0] // max(4 * int(r), 1)))
    _window_full(np.ascontiguousarray(mask, dtype=np.float32), int(r), int(pad), chunks, out)
    return out


@njit(cache=True, nogil=True)
def _band_runs(inside, inner, rows, min_cols):
    """int64 (n, 5) runs (y0, y1, x0, x1, kind) of the bands of ``rows`` rows of ``inside``.

    In a band, a column is plain (kind 0) when it is interior (``inner``) on
    every row of the band, masked (kind 1) when it holds a pixel inside but is
    not plain, skipped otherwise; runs of plain columns shorter than
    ``min_cols`` become masked. A run holds the adjacent columns of one kind.
    """
    height, width = inside.shape
    kind = np.empty(width, np.int64)  # -1 skip, 0 plain, 1 masked
    live, clean = np.empty(width, np.bool_), np.empty(width, np.bool_)
    runs = np.empty((((height + rows - 1) // rows) * width, 5), np.int64)
    n = 0
    for y0 in range(0, height, rows):
        y1 = min(y0 + rows, height)
        live[:] = False
        clean[:] = True
        for y in range(y0, y1):  # along the rows: contiguous reads
            for x in range(width):
                live[x] |= inside[y, x]
                clean[x] &= inner[y, x]
        for x in range(width):
            kind[x] = 0 if clean[x] else (1 if live[x] else -1)
        start = 0
        for x in range(1, width + 1):  # plain runs too short for the plain tile
            if x == width or kind[x] != kind[start]:
                if kind[start] == 0 and x - start < min_cols:
                    kind[start:x] = 1
                start = x
        start = 0
        for x in range(1, width + 1):
            if x == width or kind[x] != kind[start]:
                if kind[start] >= 0:
                    runs[n, 0], runs[n, 1], runs[n, 2], runs[n, 3] = y0, y1, start, x
                    runs[n, 4] = kind[start]
                    n += 1
                start = x
    return runs[:n]


def _stack_narrow(boxes: list) -> list:
    """Mark the masked boxes narrower than :data:`NARROW` as transposed (kind 2).

    Such boxes one above the other with the same columns are joined, up to
    :data:`~nlmeans.backends.cpu._pixelwise.TILE_COLS` rows: transposed, their
    rows become the long rows the tile's loops need.
    """
    out, open_at = [], {}  # open_at: (x0, x1) -> index in out of a joinable box
    for y0, y1, x0, x1, kind in boxes:
        if kind != 1 or x1 - x0 >= NARROW:
            out.append((y0, y1, x0, x1, kind))
            continue
        at = open_at.get((x0, x1))
        if at is not None and out[at][1] == y0 and y1 - out[at][0] <= TILE_COLS:
            out[at] = (out[at][0], y1, x0, x1, 2)
        else:
            open_at[(x0, x1)] = len(out)
            out.append((y0, y1, x0, x1, 2))
    return out


def _cut(y0, y1, x0, x1, kind) -> list:
    """Cut the box [y0, y1) × [x0, x1) in pieces of at most TILE_COLS columns."""
    if x1 - x0 <= TILE_COLS:
        return [(y0, y1, x0, x1, kind)]
    cuts = np.linspace(x0, x1, -(-(x1 - x0) // TILE_COLS) + 1).round().astype(np.int64)
    return [(y0, y1, a, b, kind) for a, b in zip(cuts[:-1], cuts[1:], strict=True)]


def plan_boxes(inside: np.ndarray, inner: np.ndarray, rows: int = BAND_ROWS) -> np.ndarray:
    """int64 (n, 5) boxes (y0, y1, x0, x1, kind) covering every pixel of ``inside`` (H, W) once.

    Bands of ``rows`` rows: the runs of columns of ``inner`` (interior) on every
    row of the band, at least :data:`MIN_COLS` long, are kind 0 (the plain
    tile); the band's other columns holding a pixel of ``inside`` are kind 1
    (the masked tile), or kind 2 (the masked tile on the transposed box, for the
    narrow ones, see :func:`_stack_narrow`). Every box has at most
    :data:`~nlmeans.backends.cpu._pixelwise.TILE_COLS` columns. (Shorter bands
    at the mask's edge were tried: the tiles' row halo costs more than they save.)
    """
    inside = np.ascontiguousarray(inside, np.bool_)
    runs = _band_runs(inside, np.ascontiguousarray(inner, np.bool_), int(rows), MIN_COLS)
    boxes = [box for run in runs.tolist() for box in _cut(*run)]
    return _trim_rows(inside, np.array(_stack_narrow(boxes), np.int64).reshape(-1, 5))


def _trim_rows(inside: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Cut the masked boxes (kind 1 and 2) down to their first and last row holding a pixel inside.

    At the top and bottom of a round mask a band's masked box is wide and mostly
    outside: its rows without a pixel inside would be computed for nothing.
    """
    for box in boxes:
        y0, y1, x0, x1, kind = box
        if kind:
            rows = np.flatnonzero(inside[y0:y1, x0:x1].any(axis=1))
            box[0], box[1] = y0 + rows[0], y0 + rows[-1] + 1
    return boxes


def balance(boxes: np.ndarray, f: int, r: int, n_threads: int) -> tuple[np.ndarray, np.ndarray]:
    """Order ``boxes`` in ``n_threads`` shares of about equal work; return (boxes, starts).

    Share k is ``boxes[starts[k]:starts[k + 1]]`` (:func:`~._shares.equal_shares`).
    A box's work is taken as its rows (plus the r rows of weights above them)
    times its columns (plus the 2(r + f) of the patches and windows beside
    them), twice that for a masked box (narrower rows: the loops' fixed costs
    weigh more).
    """
    rows, cols = boxes[:, 1] - boxes[:, 0], boxes[:, 3] - boxes[:, 2]
    work = (rows + r) * (cols + 2 * (r + f)) * np.where(boxes[:, 4] > 0, 2, 1)
    order, starts = equal_shares(work, n_threads)
    return boxes[order], starts


def masked_2d(padded, values, mask, f: int, r: int, sigma: float, h: float, out) -> None:
    """Write the mapped estimate (no σ map) of every pixel inside ``mask`` into ``out`` (C, H, W).

    ``padded`` (C, H + 2(r + f), W + 2(r + f)) float32 guide, ``values`` μ u_c
    (same shape), ``mask`` (H + 2(r + f), W + 2(r + f)) float32 μ, padded alike;
    one strength ``h``, square radii f and r. Pixels outside keep what ``out`` holds
    where no box covers them.
    """
    shape = out.shape[1:]
    pad = f + r
    inside = mask[pad : pad + shape[0], pad : pad + shape[1]] > 0
    boxes = plan_boxes(inside, interior(mask, r, shape), min(TILE_ROWS, BAND_ROWS))
    if len(boxes) == 0:
        return
    scales, offsets = weight_constants([h], sigma, (f, f), padded.shape[0])
    # The 2-D tiles compute W = 2^y: scale and offset times log2(e).
    scale, offset = np.float32(scales[0] * LOG2_E), np.float32(offsets[0] * LOG2_E)
    boxes, starts = balance(boxes, f, r, numba.get_num_threads())
    boxes_kernel(padded, values, mask, int(f), int(r), scale, offset, boxes, starts, out)
