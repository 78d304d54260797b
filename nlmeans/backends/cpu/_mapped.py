"""Host side of the CPU mapped pixelwise method: guide vs values, a σ map and a mask.

Builds the per-centre variance ratios and mask (:mod:`nlmeans.backends._maps`),
lists the tiles holding a pixel inside the mask, each cut down to the
bounding box of those pixels (the rest is skipped: the time falls with the
mask's area) and runs
:func:`~nlmeans.backends.cpu._ndim_mapped.mapped_kernel`.
"""

from __future__ import annotations

import numba
import numpy as np

from .._contract import patch_profiles, weight_constants
from .._maps import centre_ratio, finish_outside
from ._ndim import as_4d, image_shape, raster_shifts, tile_for, tile_origins
from ._ndim_mapped import mapped_kernel
from ._ndim_sums import AXES


def _live_tiles(origins: np.ndarray, tile: np.ndarray, inside: np.ndarray):
    """Cut the tiles down to the bounding box of their pixels of ``inside``.

    Returns (origins, extents); ``inside`` has 4 axes, the image's shape; tiles
    without such a pixel are left out.
    """
    kept_origins, kept_extents = [], []
    for o in origins:
        block = inside[tuple(slice(a, a + n) for a, n in zip(o, tile, strict=True))]
        if not block.any():
            continue
        first, last = [], []
        for axis in range(AXES):
            hit = np.flatnonzero(block.any(axis=tuple(k for k in range(AXES) if k != axis)))
            first.append(hit[0])
            last.append(hit[-1])
        kept_origins.append(o + np.array(first))
        kept_extents.append(np.array(last) - np.array(first) + 1)
    shape = (len(kept_origins), AXES)
    return (
        np.array(kept_origins, np.int64).reshape(shape),
        np.array(kept_extents, np.int64).reshape(shape),
    )


def mapped_pixelwise(
    guide: np.ndarray,
    values: np.ndarray | None,
    f,
    r,
    sigma: float,
    hs,
    *,
    sigma_map: np.ndarray | None = None,
    mask: np.ndarray | None = None,
    tile=None,
) -> np.ndarray:
    """Pixelwise NLM of ``values`` weighted on ``guide``, with a σ map and a mask, on 1–4 axes.

    Parameters
    ----------
    guide, values, f, r, sigma, hs, sigma_map, mask
        As in :func:`nlmeans.backends.reference.mapped_pixelwise`.
    tile : sequence of ints, optional
        Output pixels per axis of one thread's unit of work (tests use small
        tiles); default :func:`~nlmeans.backends.cpu._ndim.tile_shape`.

    Returns
    -------
    ndarray, float32, shape (K, C_v, S_1, …, S_D)
        As :func:`nlmeans.backends.reference.mapped_pixelwise`.

    References
    ----------
    A. Buades, B. Coll, J.-M. Morel, "Non-Local Means Denoising", IPOL 1 (2011).
    J. Darbon, A. Cunha, T. F. Chan, S. Osher, G. J. Jensen, "Fast nonlocal
    filtering applied to electron cryomicroscopy", ISBI 2008.
    """
    dims = np.ndim(guide) - 1
    view, f4, r4 = as_4d(guide, f, r)
    vals = view if values is None else as_4d(values, f, r)[0]
    if vals.shape[1:] != view.shape[1:]:
        raise ValueError(f"values {np.shape(values)} and guide {np.shape(guide)} differ")
    shape = image_shape(view, f4, r4, 1)
    lead = (1,) * (AXES - dims)
    scales, offsets = weight_constants(hs, sigma, f4, view.shape[0])
    profiles = np.ones((AXES, 1 + 2 * int(f4.max())), np.float32)
    patch_profiles(f4)  # the uniform kernel only
    spatial = np.shape(guide)[1:]
    ratio = centre_ratio(sigma_map, f, r, sigma, spatial)
    ratio = ratio.reshape(lead + ratio.shape)
    shifts, fold_after = raster_shifts(r4, half=True)
    tile = tile_for(shape, f4, r4, tile)
    origins = tile_origins(shape, tile)
    centre = tuple(slice(int(k), int(k) + n) for k, n in zip(f4 + r4, shape, strict=True))
    # Pixels of skipped tiles keep v(p); the kernel writes the others.
    out = np.empty((len(scales), vals.shape[0]) + shape, np.float32)
    out[:] = vals[(slice(None),) + centre]
    if mask is None:
        inside = np.ones((1,) * (1 + AXES), np.float32)  # unused
        masked = vals
        extents = np.minimum(tile[None], np.array(shape, np.int64)[None] - origins)
        partial = np.zeros(len(origins), np.bool_)
    else:
        inside = np.asarray(mask, dtype=np.float32).reshape((1,) + vals.shape[1:])
        origins, extents = _live_tiles(origins, tile, inside[0][centre] > 0)
        # The candidates of a tile's pixels: padded f + o … f + o + n + 2r − 1 per axis.
        partial = np.array(
            [
                not inside[0][
                    tuple(
                        slice(fk + a, fk + a + n + 2 * rk)
                        for fk, rk, a, n in zip(f4, r4, o, e, strict=True)
                    )
                ].all()
                for o, e in zip(origins, extents, strict=True)
            ],
            np.bool_,
        )
        masked = vals * inside  # μ v_c: candidates outside add nothing
    with numba.parallel_chunksize(1):
        mapped_kernel(
            view, masked, ratio, inside, f4, r4, shifts, fold_after, scales, offsets, origins,
            tile, out, extents, profiles, sigma_map is not None, partial,
        )  # fmt: skip
    out = out.reshape(out.shape[:2] + shape[AXES - dims :])
    return finish_outside(out, values if values is not None else guide, mask, f, r)
