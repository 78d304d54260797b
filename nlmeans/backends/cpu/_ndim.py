"""Numba CPU kernels for NLM on 1 to 4 spatial axes with per-axis patch and search radii.

The formulas are those of :mod:`nlmeans.backends.reference` (Buades, Coll &
Morel, IPOL 2011): for a shift t, d²(p, p + t) = Σ_c Σ_{j ∈ B(0,f)} D_t(p + j) /
(C N) with D_t(y) = Σ_c (u_c(y) − u_c(y + t))², and w = exp(−max(d² − 2σ², 0) / h²).

Every input is viewed with 4 spatial axes (leading axes of size 1, f = r = 0),
so one compiled kernel serves D = 1 … 4. Threads take tiles of the output (a
block of at most ``tile`` pixels per axis). Within a tile, for each shift:

1. D_t on the tile's region plus a halo of f_k per axis, summed at once along
   the last axis over the patch (2 f_3 + 1 shifted, vectorised adds);
2. box sums along the other axes with running sums (add the slab entering the
   patch, subtract the one leaving), so the cost does not grow with f
   (Darbon, Cunha, Chan, Osher & Jensen, 2008);
3. the weights, then the weighted sums of the estimate.

With the Gaussian patch kernel (d²_g of :mod:`nlmeans.backends.reference`) the
patch sums of steps 1 and 2 are weighted: Σ_j g(j) D_t(p + j) with
g(j) = Π_k g_k(j_k) is separable, a weighted sum of 2 f_k + 1 terms along each
axis in turn (O(Σ_k (2 f_k + 1)) per pixel and shift instead of running sums).

Pixelwise, the distance is symmetric, d²(p, p + t) = d²(p + t, p): only the
shifts t > 0 (after 0 in raster order) are computed, on the tile extended by
|t_k| so that W_t(p) = w(p, p + t) is known at p and at p − t, and

    û_c(p) = [u_c(p) + Σ_{t>0} W_t(p) u_c(p + t) + W_t(p − t) u_c(p − t)]
             / [1 + Σ_{t>0} W_t(p) + W_t(p − t)].

Patchwise, pass 1 computes C(p) = Σ_t w(p, p + t) the same way (the
denominator alone) for the patch centres of the image plus an f margin; pass 2
adds, for every shift, u_c(x + t) · Σ_{j ∈ B(0,f)} V_t(x − j) with V_t = W_t / C
(box sums over the patch again), and divides by N.

K strengths h at once (SURE sweeps) share the patch sums of each shift. Sums
over the shifts are two-level in float32: the terms of one line of shifts (the
last axis of t) go into per-tile partial sums, which are then added to the
totals. Working memory: the input, the output and O(tile) per thread.

This module holds the host side (checks, the 4-axis view, shifts, tiles) and
:func:`pixelwise` and :func:`patchwise`; the kernels are in
:mod:`~nlmeans.backends.cpu._ndim_symmetric` (pixelwise, and pass 1 of
patchwise) and :mod:`~nlmeans.backends.cpu._ndim_aggregation` (pass 2), the
steps they share in :mod:`~nlmeans.backends.cpu._ndim_sums`.
"""

from __future__ import annotations

import itertools

import numba
import numpy as np

from .._contract import patch_profiles, weight_constants
from ._ndim_aggregation import aggregation_kernel
from ._ndim_sums import AXES
from ._ndim_symmetric import symmetric_kernel

#: Output pixels per tile (before clipping to the image), see :func:`tile_shape`.
TILE_PIXELS = 65536


def as_4d(padded: np.ndarray, f, r) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """View ``padded`` as (C, 4 spatial axes) float32, f and r as 4 int64 (leading f = r = 0)."""
    padded = np.ascontiguousarray(padded, dtype=np.float32)
    f = tuple(int(v) for v in f)
    r = tuple(int(v) for v in r)
    dims = padded.ndim - 1
    if not 1 <= dims <= AXES:
        raise ValueError(f"expected 1 to {AXES} spatial axes, got a {padded.shape} stack")
    if len(f) != dims or len(r) != dims:
        raise ValueError(f"f={f} and r={r} need {dims} entries for a {padded.shape} stack")
    if min(f + r) < 0:
        raise ValueError(f"radii must be >= 0, got f={f}, r={r}")
    lead = AXES - dims
    view = padded.reshape((padded.shape[0],) + (1,) * lead + padded.shape[1:])
    return view, np.array((0,) * lead + f, np.int64), np.array((0,) * lead + r, np.int64)


def raster_shifts(r: np.ndarray, half: bool) -> tuple[np.ndarray, np.ndarray]:
    """Shifts t of B(0, r) in raster order (only t > 0 when ``half``), and where to fold.

    ``fold_after[s]`` is true at the end of each line of shifts (last axis of t),
    where the tiles add their partial sums to their totals.
    """
    every = np.array(list(itertools.product(*(range(-k, k + 1) for k in r))), np.int64)
    every = every.reshape(-1, AXES)
    if half:
        every = every[len(every) // 2 + 1 :]  # raster order is symmetric about t = 0
    fold_after = np.ones(len(every), np.bool_)
    if len(every) > 1:
        fold_after[:-1] = np.any(every[1:, :3] != every[:-1, :3], axis=1)
    return every, fold_after


def tile_shape(shape, f, r, pixels: int = TILE_PIXELS) -> np.ndarray:
    """Tile (output pixels per axis, 4 axes) for an image of ``shape`` (1 to 4 axes).

    Grows the tile, starting from a line of the last axis, by doubling the axis
    whose halo (about r_k / 2 + 2 f_k recomputed pixels per side) costs most
    relative to its size, up to ``pixels`` pixels; then splits it again while
    there are fewer tiles than twice the machine's threads. That count is
    Numba's thread pool (``NUMBA_NUM_THREADS``), not the threads in use: a
    tile's running sums round on their own, so the tiles (and the last bits of
    the patchwise result, and SURE's choices from it) must not change with
    ``--threads`` or a Dask worker's share.
    """
    lead = AXES - len(shape)
    shape = [1] * lead + [int(v) for v in shape]
    f = [0] * lead + [int(v) for v in f]
    r = [0] * lead + [int(v) for v in r]
    halo = [rk / 2 + 2 * fk for fk, rk in zip(f, r, strict=True)]
    tile = [1, 1, 1, min(shape[3], 128)]
    while int(np.prod(tile)) < pixels:
        growable = [k for k in range(AXES) if tile[k] < shape[k]]
        if not growable:
            break
        k = max(growable, key=lambda a: (halo[a] / tile[a], a))
        tile[k] = min(2 * tile[k], shape[k])
    threads = numba.config.NUMBA_NUM_THREADS

    def n_tiles() -> int:
        return int(np.prod([-(-s // n) for s, n in zip(shape, tile, strict=True)]))

    while n_tiles() < 2 * threads and max(tile[:3] + [tile[3] // 16]) > 1:
        k = max(range(AXES), key=lambda a: tile[a] if a < 3 else tile[a] // 16)
        tile[k] = -(-tile[k] // 2)
    # Even tiles: as many per axis, none left short (40 rows in tiles of 32 gave
    # one of 32 and one of 8, and the thread with the long ones worked alone).
    tile = [-(-s // -(-s // n)) for s, n in zip(shape, tile, strict=True)]
    return np.array(tile, np.int64)


def tile_origins(shape, tile) -> np.ndarray:
    """First pixel of every tile."""
    ranges = [range(0, s, n) for s, n in zip(shape, tile, strict=True)]
    return np.array(list(itertools.product(*ranges)), np.int64).reshape(-1, AXES)


def image_shape(view: np.ndarray, f: np.ndarray, r: np.ndarray, extra: int) -> tuple:
    """Image shape (4 axes) of a 4-axis padded view with pad_k = r_k + extra · f_k."""
    shape = tuple(
        int(n - 2 * (rk + extra * fk)) for n, fk, rk in zip(view.shape[1:], f, r, strict=True)
    )
    if min(shape) < 1:
        raise ValueError(f"padded stack {view.shape} is too small for f={f}, r={r}")
    return shape


def _profiles(f4: np.ndarray, patch_kernel: str) -> tuple[np.ndarray, bool]:
    """((4, W) float32 patch weights g_k, row k holding 2 f_k + 1 entries; gaussian?)."""
    rows = patch_profiles(f4, patch_kernel)
    table = np.zeros((AXES, max(len(g) for g in rows)), np.float32)
    for k, g in enumerate(rows):
        table[k, : len(g)] = g
    return table, patch_kernel == "gaussian"


def tile_for(shape, f, r, tile) -> np.ndarray:
    if tile is None:
        return tile_shape(shape, f, r)
    tile = tuple(int(v) for v in np.atleast_1d(tile))
    tile = (1,) * (AXES - len(tile)) + tile
    return np.minimum(np.maximum(np.array(tile, np.int64), 1), np.array(shape, np.int64))


def pixelwise(
    padded: np.ndarray, f, r, sigma: float, hs, tile=None, *, patch_kernel: str = "uniform"
) -> np.ndarray:
    """Pixelwise NLM on 1 to 4 spatial axes, one estimate per strength h.

    Parameters
    ----------
    padded : ndarray, float32, shape (C, S_1 + 2(r_1 + f_1), …, S_D + 2(r_D + f_D))
        The image, channels first, reflect-padded by r_k + f_k on axis k.
    f, r : sequence of D ints
        Patch and search radii per axis (0 allowed).
    sigma : float
        Noise standard deviation, in pixel-value units.
    hs : sequence of K floats > 0
        Filtering strengths; the patch distances are shared between them.
    tile : sequence of ints, optional
        Output pixels per axis of one thread's unit of work (trailing axes;
        tests use small tiles to cover the tile borders). Default: :func:`tile_shape`.
    patch_kernel : {"uniform", "gaussian"}
        The patch distance: the mean over the patch (running box sums) or the
        Gaussian-weighted mean of :mod:`nlmeans.backends.reference` (separable
        weighted sums, O(Σ_k (2 f_k + 1)) per pixel and shift).

    Returns
    -------
    ndarray, float32, shape (K, C, S_1, …, S_D)
        ``û_c(p) = Σ_{q ∈ B(p,r)} w(p, q) u_c(q) / Σ_q w(p, q)`` for each h, as
        :func:`nlmeans.backends.reference.pixelwise`.

    References
    ----------
    A. Buades, B. Coll, J.-M. Morel, "Non-Local Means Denoising", IPOL 1 (2011).
    J. Darbon, A. Cunha, T. F. Chan, S. Osher, G. J. Jensen, "Fast nonlocal
    filtering applied to electron cryomicroscopy", ISBI 2008.
    """
    view, f4, r4 = as_4d(padded, f, r)
    n_channels = view.shape[0]
    shape = image_shape(view, f4, r4, 1)
    scales, offsets = weight_constants(hs, sigma, f4, n_channels, patch_kernel)
    profiles, gaussian = _profiles(f4, patch_kernel)
    shifts, fold_after = raster_shifts(r4, half=True)
    tile = tile_for(shape, f4, r4, tile)
    out = np.empty((len(scales), n_channels) + shape, np.float32)
    with numba.parallel_chunksize(1):  # tiles handed out one at a time
        symmetric_kernel(
            view, f4, r4, shifts, fold_after, scales, offsets, tile_origins(shape, tile), tile,
            False, out, profiles, gaussian,
        )  # fmt: skip
    return out.reshape(out.shape[:2] + shape[AXES + 1 - np.ndim(padded) :])


def patchwise(
    padded: np.ndarray, f, r, sigma: float, hs, tile=None, *, patch_kernel: str = "uniform"
) -> np.ndarray:
    """Patchwise NLM on 1 to 4 spatial axes, one estimate per strength h.

    Parameters
    ----------
    padded : ndarray, float32, shape (C, S_1 + 2(r_1 + 2 f_1), …, S_D + 2(r_D + 2 f_D))
        The image, channels first, reflect-padded by r_k + 2 f_k on axis k.
    f, r : sequence of D ints
        Patch and search radii per axis (0 allowed).
    sigma : float
        Noise standard deviation, in pixel-value units.
    hs : sequence of K floats > 0
        Filtering strengths; the patch distances are shared between them.
    tile : sequence of ints, optional
        Output pixels per axis of one thread's unit of work. Default: :func:`tile_shape`.
    patch_kernel : {"uniform", "gaussian"}
        The patch distance, as for :func:`pixelwise`.

    Returns
    -------
    ndarray, float32, shape (K, C, S_1, …, S_D)
        ``û_c(x) = 1/N Σ_{j ∈ B(0,f)} B̂_c(x − j)(j)`` for each h, as
        :func:`nlmeans.backends.reference.patchwise`.

    References
    ----------
    A. Buades, B. Coll, J.-M. Morel, "Non-Local Means Denoising", IPOL 1 (2011),
    patchwise implementation.
    """
    view, f4, r4 = as_4d(padded, f, r)
    n_channels = view.shape[0]
    shape = image_shape(view, f4, r4, 2)
    scales, offsets = weight_constants(hs, sigma, f4, n_channels, patch_kernel)
    profiles, gaussian = _profiles(f4, patch_kernel)
    n_h = len(scales)
    # Pass 1: 1 / C_k(p), C_k(p) = Σ_t w_k(p, p + t), for the centres p of the image plus
    # an f margin: a pixelwise denominator on the stack seen with r_k + f_k of padding.
    centres = tuple(s + 2 * int(fk) for s, fk in zip(shape, f4, strict=True))
    half, fold_half = raster_shifts(r4, half=True)
    tile_c = tile_for(centres, f4, r4, tile)
    inv_norm = np.empty((n_h, 1) + centres, np.float32)
    with numba.parallel_chunksize(1):
        symmetric_kernel(
            view, f4, r4, half, fold_half, scales, offsets, tile_origins(centres, tile_c), tile_c,
            True, inv_norm, profiles, gaussian,
        )  # fmt: skip
    # Pass 2: every shift t, the patch estimates spread over the pixels they cover.
    every, fold_every = raster_shifts(r4, half=False)
    tile = tile_for(shape, f4, r4, tile)
    out = np.empty((n_h, n_channels) + shape, np.float32)
    with numba.parallel_chunksize(1):
        aggregation_kernel(
            view, f4, r4, every, fold_every, scales, offsets, inv_norm, tile_origins(shape, tile),
            tile, out, profiles, gaussian,
        )  # fmt: skip
    return out.reshape(out.shape[:2] + shape[AXES + 1 - np.ndim(padded) :])
