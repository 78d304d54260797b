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

import math
from dataclasses import dataclass

import numpy as np

from ..backends import Backend, padding, select

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
    f: int
    r: int
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
    """

    method: str
    f: int
    r: int
    hs: tuple[float, ...]
    residual: np.ndarray
    divergence: np.ndarray
    tile_divergence: np.ndarray
    count: int
    estimates: np.ndarray | None = None

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
):
    """Evenly spread ``(y, x, rows, cols)`` tiles covering about ``fraction`` of the image.

    At least ``min_pixels`` are covered; the whole image is one tile when the
    tiles would cover at least half of it.
    """
    target = max(fraction * height * width, min_pixels)
    if target * 2 >= height * width or height < 2 * TILE or width < 2 * TILE:
        return [(0, 0, height, width)]
    count = math.ceil(target / (TILE * TILE))
    n_y = max(1, min(height // TILE, round(math.sqrt(count * height / width))))
    n_x = max(1, min(width // TILE, math.ceil(count / n_y)))
    ys = np.linspace(0, height - TILE, n_y).round().astype(int)
    xs = np.linspace(0, width - TILE, n_x).round().astype(int)
    return [(int(y), int(x), TILE, TILE) for y in ys for x in xs]


def probe_for(shape, seed: int) -> np.ndarray:
    """The float32 standard normal probe b of the Monte-Carlo divergence."""
    probe = np.random.default_rng((PROBE_KEY, seed)).standard_normal(shape)
    return probe.astype(np.float32)


def epsilon_for(planes: np.ndarray, sigma: float) -> float:
    """The divergence step ε: a hundredth of σ (of the image's spread when σ = 0)."""
    return EPSILON_RATIO * sigma if sigma > 0 else 1e-3 * float(np.std(planes) or 1.0)


def tile_pixels(planes: np.ndarray, tiles) -> np.ndarray:
    """(C, n) float64: the tiles' pixels of ``planes``, tile after tile."""
    return np.concatenate(
        [planes[:, y : y + rows, x : x + cols].reshape(planes.shape[0], -1)
         for y, x, rows, cols in tiles],
        axis=1,
    ).astype(np.float64)  # fmt: skip


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

    Each candidate is one run of its method with all its strengths on each
    tile with its surroundings, plus one on the perturbed image u + εb.
    ``keep`` also keeps the estimates on the tiles (:attr:`Sweep.estimates`).
    """
    planes = np.asarray(planes, dtype=np.float32)
    probe = probe_for(planes.shape, seed)
    epsilon = epsilon_for(planes, sigma)
    perturbed = planes + np.float32(epsilon) * probe
    outer = max(padding(m, (f,), (r,))[0] for m, f, r, _ in candidates)
    margins = ((0, 0), (outer, outer), (outer, outer))
    padded = np.pad(planes, margins, mode="reflect")
    padded_perturbed = np.pad(perturbed, margins, mode="reflect")
    channels = planes.shape[0]
    count = sum(rows * cols for _, _, rows, cols in tiles)

    sweeps = []
    for method, f, r, hs in candidates:
        compute = backend.methods[method]
        pad = padding(method, (f,), (r,))[0]
        hs = tuple(float(h) for h in hs)
        residual = np.zeros((len(hs), channels))
        tile_divergence = np.zeros((len(hs), channels, len(tiles)))
        estimates = np.empty((len(hs), channels, count), np.float32) if keep else None
        start = 0
        for t, (y, x, rows, cols) in enumerate(tiles):
            # The tile with its candidate's padding, cut from the padded image.
            window = np.s_[
                :,
                outer + y - pad : outer + y + rows + pad,
                outer + x - pad : outer + x + cols + pad,
            ]
            tile_u = planes[:, y : y + rows, x : x + cols].astype(np.float64)
            tile_b = probe[:, y : y + rows, x : x + cols].astype(np.float64)
            radii = (f, f), (r, r)
            base = compute(padded[window], *radii, sigma, hs)
            moved = compute(padded_perturbed[window], *radii, sigma, hs).astype(np.float64)
            if keep:
                estimates[:, :, start : start + rows * cols] = base.reshape(len(hs), channels, -1)
            base = base.astype(np.float64)
            # ‖D(u) − u‖² and bᵀ(D(u + εb) − D(u)) / ε, per h and channel.
            residual += ((base - tile_u) ** 2).sum(axis=(2, 3))
            tile_divergence[:, :, t] = (tile_b * (moved - base)).sum(axis=(2, 3)) / epsilon
            start += rows * cols
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
    """SURE of every candidate on the (C, H, W) stack ``planes`` with noise ``sigma``.

    ``candidates`` is an iterable of ``(method, f, r, hs)``; each yields one
    :class:`Candidate` per h (SURE of the channel mean and of each channel),
    computed in a single sweep (plus one on the perturbed image for the
    Monte-Carlo divergence) on ``backend`` (default: the best available one)
    over tiles covering ``fraction`` of the image. ``seed`` fixes the probe b.
    """
    backend = select("auto") if backend is None else backend
    candidates = [(m, int(f), int(r), [float(h) for h in hs]) for m, f, r, hs in candidates]
    planes = np.asarray(planes, dtype=np.float32)
    tiles = sample_tiles(planes.shape[1], planes.shape[2], fraction)
    sweeps = sweep_tiles(planes, sigma, candidates, tiles, seed=seed, backend=backend)
    return [candidate for sweep in sweeps for candidate in sweep.candidates(sigma)]
