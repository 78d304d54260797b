"""Host-side pieces of the mapped pixelwise method that the fast backends share.

The mapped method (:func:`nlmeans.backends.reference.mapped_pixelwise`) takes a
σ map and a mask padded like the image. The kernels read them on the grid of
patch centres within r of the image (S_k + 2 r_k per axis): the variance ratio
m(x) = s²(x) / σ₀², s² the patch's mean of σ², and the mask μ(x) as 0 or 1.
"""

from __future__ import annotations

import numpy as np


def _box_mean(x: np.ndarray, f) -> np.ndarray:
    """1/N Σ_{j ∈ B(0,f)} x(· + j) (float64), each axis shrinking by 2 f_k (cumulative sums)."""
    for axis, fk in enumerate(f):
        if fk == 0:
            continue
        c = np.cumsum(x, axis=axis)
        zero = np.zeros_like(np.take(c, [0], axis=axis))
        c = np.concatenate([zero, c], axis=axis)
        n = x.shape[axis] - 2 * fk
        x = (np.take(c, range(2 * fk + 1, 2 * fk + 1 + n), axis=axis)
             - np.take(c, range(n), axis=axis)) / (2 * fk + 1)  # fmt: skip
    return x


def _centres(spatial, f, r) -> tuple[slice, ...]:
    """Index the centre grid (within r of the image) inside a padded spatial shape."""
    return tuple(slice(fk, n - fk) for n, fk in zip(spatial, f, strict=True))


def centre_ratio(sigma_map, f, r, sigma: float, spatial) -> np.ndarray:
    """float32 m(x) = s²(x) / σ₀² on the centre grid (ones without a map).

    ``sigma_map`` is padded like the image (spatial shape ``spatial``);
    s²(x) = 1/N Σ_{j ∈ B(0,f)} σ²(x + j).
    """
    grid = tuple(n - 2 * fk for n, fk in zip(spatial, f, strict=True))
    if sigma_map is None:
        return np.ones(grid, np.float32)
    var = np.asarray(sigma_map, dtype=np.float64) ** 2
    return np.ascontiguousarray(_box_mean(var, f) / (float(sigma) ** 2), dtype=np.float32)


def centre_mask(mask, f, r, spatial) -> np.ndarray:
    """float32 μ(x) (1 inside, 0 outside) on the centre grid (ones without a mask)."""
    grid = tuple(n - 2 * fk for n, fk in zip(spatial, f, strict=True))
    if mask is None:
        return np.ones(grid, np.float32)
    return np.ascontiguousarray(np.asarray(mask, dtype=bool)[_centres(spatial, f, r)], np.float32)


def finish_outside(out: np.ndarray, values: np.ndarray, mask, f, r) -> np.ndarray:
    """``out`` (K, C_v, *S) with v(p) at the pixels p outside the mask."""
    if mask is None:
        return out
    image = tuple(
        slice(fk + rk, n - fk - rk) for n, fk, rk in zip(np.shape(mask), f, r, strict=True)
    )
    outside = ~np.asarray(mask, dtype=bool)[image]
    centre = np.asarray(values)[(slice(None),) + image]
    np.copyto(out, centre[None], where=outside[None, None])
    return out
