"""The samples the chunked path decides from: tiles for sigma and SURE, points for the range.

:func:`sample_tiles` picks an evenly spread sub-grid of whole tiles (sigma is
estimated, and SURE tunes, on it); :func:`strided_sample` the values the
front door's :func:`nlmeans.params.image_data_range` samples.
"""

from __future__ import annotations

import math

import numpy as np

#: Tiles sampled for sigma (and SURE with ``tune``) by default.
DEFAULT_SAMPLE_CHUNKS = 16

#: Least side of a sampled tile per spatial axis (a tile is at least a chunk).
MIN_SAMPLE_TILE = 256

#: Points of the strided sample that picks a float image's default data_range;
#: the front door's :func:`nlmeans.params.image_data_range` takes the same ones.
_DATA_RANGE_POINTS = 1_000_000


def strided_sample(x):
    """Lazily, the values ``image_data_range`` samples: every step-th value in C order."""
    step = max(1, x.size // _DATA_RANGE_POINTS)
    flat = np.arange(0, x.size, step, dtype=np.int64)
    return x.vindex[np.unravel_index(flat, x.shape)]


def sample_tiles(planes, count: int = DEFAULT_SAMPLE_CHUNKS):
    """Lazily, an evenly spread sub-grid of up to ``count`` tiles of ``planes``, as one array.

    Each spatial axis is cut into tiles of its largest chunk (at least
    :data:`MIN_SAMPLE_TILE` pixels, at most the axis); the axes get tile counts
    whose product is at most ``count``, added one at a time to the axis with the
    most tiles per sampled tile, and whole tiles evenly spread along each axis are
    kept, side by side in their order. With all tiles kept the sample is ``planes`` itself.
    """
    shape = planes.shape[1:]
    sides = [
        min(n, max(MIN_SAMPLE_TILE, max(c))) for n, c in zip(shape, planes.chunks[1:], strict=True)
    ]
    tiles = [math.ceil(n / s) for n, s in zip(shape, sides, strict=True)]
    kept = [1] * len(shape)
    while True:
        growable = [k for k in range(len(shape)) if kept[k] < tiles[k]]
        if not growable:
            break
        k = max(growable, key=lambda k: tiles[k] / kept[k])
        if math.prod(kept) // kept[k] * (kept[k] + 1) > count:
            break
        kept[k] += 1
    sample = planes
    for k, (n, side, total, keep) in enumerate(zip(shape, sides, tiles, kept, strict=True)):
        if keep == total:
            continue
        # Whole tiles, evenly spread from the start to the end of the axis (never overlapping).
        starts = np.linspace(0, n - side, keep).round().astype(int)
        index = np.concatenate([np.arange(s, s + side) for s in starts])
        sample = sample[(slice(None),) * (k + 1) + (index,)]
    return sample
