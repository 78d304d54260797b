"""Host side of the CPU mapped pixelwise method: guide vs values, a σ map and a mask.

Builds the per-centre variance ratios and mask (:mod:`nlmeans.backends._maps`),
lists the tiles holding a pixel inside the mask, each cut down to the
bounding box of those pixels (the rest is skipped: the time falls with the
mask's area) and runs
:func:`~nlmeans.backends.cpu._ndim_mapped.mapped_kernel`. A mask on a 2-D image with
one h, square radii, no σ map and values = guide goes to the 2-D kernel's
tiles instead (:mod:`~nlmeans.backends.cpu._mapped_interior`), faster per pixel.
"""

from __future__ import annotations

import numba
import numpy as np

from .._contract import patch_profiles, weight_constants
from .._maps import centre_ratio, finish_outside
from ._mapped_interior import masked_2d
from ._mapped_tiles import live_tiles
from ._ndim import as_4d, image_shape, raster_shifts, tile_for, tile_origins
from ._ndim_mapped import mapped_kernel
from ._ndim_sums import AXES
from ._shares import equal_shares


def _plain_2d(dims, f4, r4, hs, sigma_map, values) -> bool:
    """Say whether the 2-D tiles compute the masked image (the module docstring)."""
    square = f4[2] == f4[3] and r4[2] == r4[3]
    return dims == 2 and square and len(hs) == 1 and sigma_map is None and values is None


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
    if mask is not None and _plain_2d(dims, f4, r4, hs, sigma_map, values):
        # Every pixel inside the mask by the 2-D tiles (the mapped kernel not needed).
        plane, inside = view[:, 0, 0], np.asarray(mask, dtype=np.float32)
        spatial = tuple(n - 2 * (int(f[0]) + int(r[0])) for n in inside.shape)
        out = np.empty((1, plane.shape[0]) + spatial, np.float32)
        masked_2d(plane, plane * inside, inside, int(f[0]), int(r[0]), sigma, hs[0], out[0])
        return finish_outside(out, guide, mask, f, r)
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
    out = np.empty((len(scales), vals.shape[0]) + shape, np.float32)
    if mask is None:
        inside = np.ones((1,) * (1 + AXES), np.float32)  # unused
        masked = vals
        extents = np.minimum(tile[None], np.array(shape, np.int64)[None] - origins)
        partial = np.zeros(len(origins), np.bool_)
    else:
        inside = np.asarray(mask, dtype=np.float32).reshape((1,) + vals.shape[1:])
        todo = inside[0][centre] > 0
        origins, extents, partial = live_tiles(todo, inside[0] > 0, origins, tile, f4, r4)
        masked = vals * inside  # μ v_c: candidates outside add nothing
        out[:] = vals[(slice(None),) + centre]  # skipped tiles keep v(p); the kernel: the rest
    # A tile's work: its block of patch centres for a shift, about n_k + r_k + 2 f_k per axis.
    order, starts = equal_shares(np.prod(extents + r4 + 2 * f4, axis=1), numba.get_num_threads())
    mapped_kernel(
        view, masked, ratio, inside, f4, r4, shifts, fold_after, scales, offsets, origins[order],
        tile, out, extents[order], profiles, sigma_map is not None, partial[order], starts,
    )  # fmt: skip
    out = out.reshape(out.shape[:2] + shape[AXES - dims :])
    return finish_outside(out, values if values is not None else guide, mask, f, r)
