"""The tiles the mapped kernel runs on when a mask is given, found in one compiled pass.

A tile of the regular grid is kept when it holds a pixel still to compute, and
cut down to the bounding box of those pixels; it is *partial* when the
candidates of its pixels (the box grown by r on each axis) meet the outside of
the mask, so that the kernel must read the mask in the denominator.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..._kernel_cache import ensure_kernel_cache

ensure_kernel_cache(__file__)  # before the first cached kernel is defined


@njit(cache=True)
def _bounds(todo, o, tile, lo, hi):
    """Bounding box [lo, hi] of the True pixels of ``todo`` in the tile at ``o``; False if none."""
    found = False
    for k in range(4):
        lo[k] = o[k] + tile[k]
        hi[k] = -1
    for a0 in range(o[0], min(o[0] + tile[0], todo.shape[0])):
        for a1 in range(o[1], min(o[1] + tile[1], todo.shape[1])):
            for a2 in range(o[2], min(o[2] + tile[2], todo.shape[2])):
                for a3 in range(o[3], min(o[3] + tile[3], todo.shape[3])):
                    if todo[a0, a1, a2, a3]:
                        found = True
                        at = (a0, a1, a2, a3)
                        for k in range(4):
                            lo[k] = min(lo[k], at[k])
                            hi[k] = max(hi[k], at[k])
    return found


@njit(cache=True)
def _meets_outside(inside, start, stop) -> bool:
    """Say whether ``inside`` (padded) holds a False in the box [start, stop)."""
    for a0 in range(start[0], stop[0]):
        for a1 in range(start[1], stop[1]):
            for a2 in range(start[2], stop[2]):
                for a3 in range(start[3], stop[3]):
                    if not inside[a0, a1, a2, a3]:
                        return True
    return False


@njit(cache=True)
def live_tiles(todo, inside, origins, tile, f, r):
    """(origins, extents, partial) of the tiles at ``origins`` holding a pixel of ``todo``.

    ``todo`` (4 axes, the image's shape) marks the pixels to compute, ``inside``
    (4 axes, padded by r + f) the mask. Each kept tile is cut to the bounding box
    of its ``todo`` pixels; ``partial`` says whether the candidates of that box,
    padded positions f + o … f + o + n + 2r − 1 per axis, meet the outside.
    """
    n = origins.shape[0]
    kept_origins = np.empty((n, 4), np.int64)
    kept_extents = np.empty((n, 4), np.int64)
    partial = np.empty(n, np.bool_)
    lo = np.empty(4, np.int64)
    hi = np.empty(4, np.int64)
    start = np.empty(4, np.int64)
    stop = np.empty(4, np.int64)
    kept = 0
    for i in range(n):
        if not _bounds(todo, origins[i], tile, lo, hi):
            continue
        for k in range(4):
            kept_origins[kept, k] = lo[k]
            kept_extents[kept, k] = hi[k] - lo[k] + 1
            start[k] = f[k] + lo[k]
            stop[k] = f[k] + hi[k] + 1 + 2 * r[k]
        partial[kept] = _meets_outside(inside, start, stop)
        kept += 1
    return kept_origins[:kept], kept_extents[:kept], partial[:kept]
