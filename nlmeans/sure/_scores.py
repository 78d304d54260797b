"""SURE of NLM estimates on sampled tiles, several strengths per sweep.

For Gaussian noise of standard deviation σ, u = u₀ + n, and a denoiser D,

    SURE(D) = ‖D(u) − u‖² / n − σ² + 2σ² div D(u) / n

is an unbiased estimate of the mean squared error ‖D(u) − u₀‖² / n (Stein
1981; applied to non-local means by Van De Ville & Kocher, "SURE-based
non-local means", IEEE SPL 2009). The divergence is estimated by the
Monte-Carlo formula of Ramani, Blu & Unser (IEEE TIP 2008): with b a standard
normal vector and a small ε,

    div D(u) ≈ bᵀ (D(u + εb) − D(u)) / ε,

which needs one more run of the denoiser and works for both methods. The cost
is kept to a few denoising runs:

- every candidate h of one (method, f, r) is computed in the same sweep over
  the shifts (a backend method takes several h at once), the patch distances
  being shared;
- SURE is evaluated on evenly spread tiles covering a fraction of the image
  (each tile denoised with its true surroundings, so its pixels get exactly
  the values the full image would), which is unbiased for the tiles' MSE.

The MSE and SURE are sums over channels, so each channel's share is kept
apart (:attr:`Sweep.residual`, :attr:`Sweep.divergence` per channel).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from .._arrays import pad_reflect
from .._interrupts import interruptible
from ..backends import Backend, padding, select
from ..params import Radii, radii

#: Side of the square tiles SURE is evaluated on.
TILE = 64

#: Fraction of the image covered by the tiles, and the least number of pixels
#: they cover; below twice that the whole image is used.
SAMPLE_FRACTION = 0.2
MIN_SAMPLE_PIXELS = 48 * 1024

#: Monte-Carlo divergence step ε, relative to σ.
EPSILON_RATIO = 0.01

#: Mixed into the probe's seed, so that the probe b is never the very stream a
#: caller drew the noise from with ``default_rng(seed)`` (b = n/σ would bias SURE).
PROBE_KEY = 0x5E4E


@dataclass(frozen=True)
class Candidate:
    """One candidate parameter set and its SURE estimate of the MSE (raw units squared)."""

    method: str
    f: Radii
    r: Radii
    h: float
    sure: float
    channel_sure: tuple[float, ...] = ()


@dataclass
class Sweep:
    """One (method, f, r) swept over K strengths on the tiles.

    Attributes
    ----------
    residual : ndarray (K, C)
        ‖D(u) − u‖² per h and channel, summed over the tiles' pixels.
    divergence : ndarray (K, C)
        The Monte-Carlo bᵀ(D(u + εb) − D(u)) / ε per h and channel.
    tile_divergence : ndarray (K, C, T)
        The same per tile.
    count : int
        Pixels per channel on the tiles.
    estimates : ndarray (K, C, count) or None
        D(u) on the tiles' pixels (tile after tile), when kept for a combination.
    exact : bool
        Whether ``divergence`` is exact (:mod:`.exact`) rather than Monte-Carlo.
    """

    method: str
    f: Radii
    r: Radii
    hs: tuple[float, ...]
    residual: np.ndarray
    divergence: np.ndarray
    tile_divergence: np.ndarray
    count: int
    estimates: np.ndarray | None = None
    exact: bool = False

    def sure(self, sigma: float) -> np.ndarray:
        """(K, C) SURE per h and channel: ‖D(u) − u‖²/n − σ² + 2σ² div D(u)/n."""
        n = self.count
        return self.residual / n - sigma**2 + 2.0 * sigma**2 * self.divergence / n

    def candidates(self, sigma: float) -> list[Candidate]:
        """One :class:`Candidate` per h (SURE of the channel mean and of each channel)."""
        sure = self.sure(sigma)
        return [
            Candidate(self.method, self.f, self.r, h, float(s.mean()), tuple(map(float, s)))
            for h, s in zip(self.hs, sure, strict=True)
        ]


def sample_tiles(
    height: int,
    width: int,
    fraction: float = SAMPLE_FRACTION,
    min_pixels: int = MIN_SAMPLE_PIXELS,
    tile=TILE,
):
    """Evenly spread ``(y, x, rows, cols)`` tiles covering about ``fraction`` of the image.

    At least ``min_pixels`` are covered; the whole image is one tile when the
    tiles would cover at least half of it.

    Parameters
    ----------
    height, width : int
        The image's size.
    fraction : float
        Share of the image covered.
    min_pixels : int
        Fewest pixels covered.
    tile : int or (int, int)
        The tiles' side, or their rows and columns.

    Returns
    -------
    list of (y, x, rows, cols)
    """
    rows, cols = (tile, tile) if isinstance(tile, int) else tile
    target = max(fraction * height * width, min_pixels)
    if target * 2 >= height * width or height < 2 * rows or width < 2 * cols:
        return [(0, 0, height, width)]
    count = math.ceil(target / (rows * cols))
    n_y = max(1, min(height // rows, round(math.sqrt(count * height / width))))
    n_x = max(1, min(width // cols, math.ceil(count / n_y)))
    ys = np.linspace(0, height - rows, n_y).round().astype(int)
    xs = np.linspace(0, width - cols, n_x).round().astype(int)
    return [(int(y), int(x), rows, cols) for y in ys for x in xs]


#: Side of the cubic blocks SURE is evaluated on in 3-D and 4-D (2-D: :data:`TILE`).
VOLUME_TILE = {3: 16, 4: 8}


def sample_blocks(
    shape,
    fraction: float = SAMPLE_FRACTION,
    min_pixels: int = MIN_SAMPLE_PIXELS,
    tile=TILE,
):
    """Evenly spread ``(origin, size)`` blocks covering about ``fraction`` of ``shape``.

    2-D: the tiles of :func:`sample_tiles` (side ``tile``). With 3 or 4 axes,
    blocks of ``tile`` when it is a tuple with one side per axis, else cubes
    of side :data:`VOLUME_TILE` (cut to the whole extent of a shorter axis,
    such as the few frames of a time stack), on a regular grid. At least
    ``min_pixels`` are covered; the whole array is one block when the blocks
    would cover at least half of it.

    Parameters
    ----------
    shape : tuple of int
        The spatial shape (2 to 4 axes).
    fraction : float
        Share of the image covered.
    min_pixels : int
        Fewest pixels covered.
    tile : int or tuple of int
        Side (or rows and columns) of the 2-D tiles; the sides of the blocks of
        a volume.

    Returns
    -------
    list of (origin, size)
    """
    if len(shape) == 2:
        return [
            ((y, x), (rows, cols))
            for y, x, rows, cols in sample_tiles(*shape, fraction, min_pixels, tile)
        ]
    total = math.prod(shape)
    target = max(fraction * total, min_pixels)
    if target * 2 >= total:
        return [((0,) * len(shape), tuple(shape))]
    sides = tile if isinstance(tile, tuple) and len(tile) == len(shape) else None
    sides = sides or (VOLUME_TILE[len(shape)],) * len(shape)
    size = tuple(min(n, s) for n, s in zip(shape, sides, strict=True))
    count = math.ceil(target / math.prod(size))
    # Blocks per axis: spread over the axes with room for more than one.
    roomy = [k for k, n in enumerate(shape) if n >= 2 * size[k]]
    per_axis = [1] * len(shape)
    for k in roomy:
        per_axis[k] = min(shape[k] // size[k], max(1, round(count ** (1 / len(roomy)))))
    starts = [
        np.linspace(0, n - s, m).round().astype(int)
        for n, s, m in zip(shape, size, per_axis, strict=True)
    ]
    return [(tuple(int(v) for v in origin), size) for origin in itertools.product(*starts)]


def block_index(origin, size) -> tuple:
    """Index a block: all channels, ``size`` from ``origin`` on every spatial axis."""
    return (slice(None),) + tuple(slice(a, a + n) for a, n in zip(origin, size, strict=True))


def window_index(outer, origin, size, pad) -> tuple:
    """Index a block with ``pad`` around it in an image reflect-padded by ``outer`` (≥ pad)."""
    return (slice(None),) + tuple(
        slice(o + a - p, o + a + n + p) for o, a, n, p in zip(outer, origin, size, pad, strict=True)
    )


def probe_for(shape, seed: int) -> np.ndarray:
    """Draw the float32 standard normal probe b of the Monte-Carlo divergence."""
    probe = np.random.default_rng((PROBE_KEY, seed)).standard_normal(shape)
    return probe.astype(np.float32)


def epsilon_for(planes: np.ndarray, sigma: float) -> float:
    """Return the divergence step ε: a hundredth of σ (of the image's spread when σ = 0)."""
    return EPSILON_RATIO * sigma if sigma > 0 else 1e-3 * float(np.std(planes) or 1.0)


def tile_pixels(planes: np.ndarray, tiles) -> np.ndarray:
    """(C, n) float64: the pixels of the ``(origin, size)`` blocks of ``planes``, in order."""
    return np.concatenate(
        [planes[block_index(origin, size)].reshape(planes.shape[0], -1) for origin, size in tiles],
        axis=1,
    ).astype(np.float64)


def sweep_tiles(
    planes: np.ndarray,
    sigma: float,
    candidates,
    tiles,
    *,
    seed: int = 0,
    backend: Backend,
    keep: bool = False,
) -> list[Sweep]:
    """Sweep every ``(method, f, r, hs)`` of ``candidates`` over ``tiles`` of ``planes``.

    ``tiles`` are ``(origin, size)`` blocks (:func:`sample_blocks`); radii are
    an int for every spatial axis or a tuple per axis. Each candidate is one run
    of its method with all its strengths on each tile with its surroundings,
    plus one on the perturbed image u + εb.
    ``keep`` also keeps the estimates on the tiles (:attr:`Sweep.estimates`).

    Parameters
    ----------
    planes : ndarray, shape (C, *S)
        The noisy image, channels first.
    sigma : float
        Noise standard deviation.
    candidates : iterable of (method, f, r, hs)
        The candidates.
    tiles : list of (origin, size)
        Where SURE is taken.
    seed : int
        Seed of the probe b.
    backend : Backend
        Where the estimates are computed.
    keep : bool
        Keep the estimates on the tiles.

    Returns
    -------
    list of Sweep
        One per candidate.
    """
    planes = np.asarray(planes, dtype=np.float32)
    ndim = planes.ndim - 1
    probe = probe_for(planes.shape, seed)
    epsilon = epsilon_for(planes, sigma)
    perturbed = planes + np.float32(epsilon) * probe
    outer = np.max(
        [padding(m, radii(f, ndim), radii(r, ndim)) for m, f, r, _ in candidates], axis=0
    )
    padded = pad_reflect(planes, outer)
    padded_perturbed = pad_reflect(perturbed, outer)
    channels = planes.shape[0]
    count = sum(math.prod(size) for _, size in tiles)
    spatial = tuple(range(2, ndim + 2))

    sweeps = []
    for method, f, r, hs in candidates:
        compute = interruptible(backend.methods[method])
        fs, rs = radii(f, ndim), radii(r, ndim)
        pad = padding(method, fs, rs)
        hs = tuple(float(h) for h in hs)
        residual = np.zeros((len(hs), channels))
        tile_divergence = np.zeros((len(hs), channels, len(tiles)))
        estimates = np.empty((len(hs), channels, count), np.float32) if keep else None
        start = 0
        for t, (origin, size) in enumerate(tiles):
            # The tile with its candidate's padding, cut from the padded image.
            window = window_index(outer, origin, size, pad)
            tile_u = planes[block_index(origin, size)].astype(np.float64)
            tile_b = probe[block_index(origin, size)].astype(np.float64)
            base = compute(padded[window], fs, rs, sigma, hs)
            moved = compute(padded_perturbed[window], fs, rs, sigma, hs).astype(np.float64)
            n = math.prod(size)
            if keep:
                estimates[:, :, start : start + n] = base.reshape(len(hs), channels, -1)
            base = base.astype(np.float64)
            # ‖D(u) − u‖² and bᵀ(D(u + εb) − D(u)) / ε, per h and channel.
            residual += ((base - tile_u) ** 2).sum(axis=spatial)
            tile_divergence[:, :, t] = (tile_b * (moved - base)).sum(axis=spatial) / epsilon
            start += n
        sweeps.append(
            Sweep(method, f, r, hs, residual, tile_divergence.sum(axis=2), tile_divergence,
                  count, estimates)
        )  # fmt: skip
    return sweeps


def sure_scores(
    planes: np.ndarray,
    sigma: float,
    candidates,
    *,
    fraction: float = SAMPLE_FRACTION,
    seed: int = 0,
    backend: Backend | None = None,
) -> list[Candidate]:
    """SURE of every candidate on the (C, *S) stack ``planes`` with noise ``sigma``.

    ``candidates`` is an iterable of ``(method, f, r, hs)`` (radii an int for
    every spatial axis or a tuple per axis); each yields one
    :class:`Candidate` per h (SURE of the channel mean and of each channel),
    computed in a single sweep (plus one on the perturbed image for the
    Monte-Carlo divergence) on ``backend`` (default: the best available one)
    over tiles covering ``fraction`` of the image. ``seed`` fixes the probe b.

    Parameters
    ----------
    planes : ndarray, shape (C, *S)
        The noisy image, channels first.
    sigma : float
        Noise standard deviation.
    candidates : iterable of (method, f, r, hs)
        The candidates.
    fraction : float
        Share of the image the tiles cover.
    seed : int
        Seed of the probe b.
    backend : Backend, optional
        Where the estimates are computed.

    Returns
    -------
    list of Candidate
        One per (candidate, h).
    """
    backend = select("auto") if backend is None else backend
    planes = np.asarray(planes, dtype=np.float32)
    candidates = [(m, f, r, [float(h) for h in hs]) for m, f, r, hs in candidates]
    tiles = sample_blocks(planes.shape[1:], fraction)
    sweeps = sweep_tiles(planes, sigma, candidates, tiles, seed=seed, backend=backend)
    return [candidate for sweep in sweeps for candidate in sweep.candidates(sigma)]
