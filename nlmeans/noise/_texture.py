"""The default noise estimate: eigenvalues of the covariance of weakly textured patches.

Liu, Tanaka & Okutomi (IEEE TIP 2013): a patch of pure noise (or of a smooth
region plus noise) has a small gradient energy ξ = Σ (horizontal and vertical
neighbour differences)² whose distribution is known up to σ², so the patches
with ξ below that distribution's 99 % quantile at the current σ̂ are the weakly
textured ones; the noise variance is read from the covariance of those patches,
and the selection is repeated with the new σ̂ until it settles. Liu et al. read
σ² from the smallest eigenvalue, which is biased low by sampling (the spread of
a Wishart matrix's eigenvalues); here it is read with the statistic of Chen,
Zhu & Heng (ICCV 2015): the eigenvalues are sorted and the noise ones are the
longest tail whose mean does not exceed its median, σ² their mean (the
Marchenko–Pastur spread of pure-noise eigenvalues keeps their mean at σ²).
On the evaluation set (``benchmarks/bench_noise.py``) texture fools it far
less than the wavelet estimates; the variants tried while choosing it (Liu et
al.'s smallest eigenvalue, a 50 % selection quantile, 5 × 5 or 9 × 9 patches,
more patches) did worse there.
"""

from __future__ import annotations

from functools import cache

import numpy as np
from numba import njit
from numpy.lib.stride_tricks import sliding_window_view

from .._kernel_cache import ensure_kernel_cache
from ._slices import sample_slices

ensure_kernel_cache(__file__)  # before the first cached kernel is defined

#: Patch sides tried in turn (the first that leaves enough patches): 7 × 7 by default.
SIDES = (7, 5, 3)
#: Quantile of the gradient energy of a pure-noise patch that selects weak texture.
DELTA = 0.99
#: Φ⁻¹(DELTA), for the Wilson–Hilferty quantile of χ².
_NORMAL_DELTA = 2.3263478740408408
#: Most patches per channel whose covariance is taken (a strided subsample beyond).
MAX_PATCHES = 1 << 14
#: Fewest patches, per patch dimension, for a covariance worth its eigenvalues.
MIN_PER_DIMENSION = 4
#: Most rounds of selecting patches and re-estimating σ.
ROUNDS = 4


@cache
def texture_threshold(side: int) -> float:
    """Return the DELTA quantile of ξ / σ² for a side × side patch of white noise.

    ξ / σ² = zᵀ M z with z standard normal and M = D_hᵀD_h + D_vᵀD_v the
    neighbour-difference operators of the patch; its first two moments
    (tr M and 2 tr M²) are matched by a Gamma law, as in Liu et al. (2013),
    whose quantile is (θ/2)·χ²_{2k} by the Wilson–Hilferty formula.
    """
    n = side * side
    index = np.arange(n).reshape(side, side)
    pairs = [(index[:, 1:], index[:, :-1]), (index[1:, :], index[:-1, :])]
    rows = []
    for a, b in pairs:
        for i, j in zip(a.ravel(), b.ravel(), strict=True):
            row = np.zeros(n)
            row[i], row[j] = 1.0, -1.0
            rows.append(row)
    d = np.array(rows)
    m = d.T @ d
    mean, variance = np.trace(m), 2.0 * np.sum(m * m)
    shape, scale = mean**2 / variance, variance / mean
    nu = 2.0 * shape
    a = 2.0 / (9.0 * nu)
    return float(scale / 2.0 * nu * (1.0 - a + _NORMAL_DELTA * np.sqrt(a)) ** 3)


def noise_eigenvalue_mean(eigenvalues: np.ndarray) -> float:
    """Chen, Zhu & Heng's (2015) σ²: the mean of the longest tail with mean ≤ median.

    ``eigenvalues`` of a patch covariance; the tail runs from the smallest up.
    """
    values = np.sort(np.asarray(eigenvalues, dtype=np.float64))[::-1]
    n = len(values)
    lengths = n - np.arange(n)  # the tail values[start:] for each start
    means = np.cumsum(values[::-1])[::-1] / lengths
    starts = np.arange(n)
    # values is sorted (descending): a tail's median is the mean of its middle one or two.
    medians = 0.5 * (values[starts + (lengths - 1) // 2] + values[starts + lengths // 2])
    longest = np.flatnonzero(means <= medians)
    if len(longest):
        return float(max(means[longest[0]], 0.0))
    return float(max(values[-1], 0.0))


def plane_patches(plane: np.ndarray, side: int, stride: int, low, high):
    """Return the usable patches of one 2-D plane: (patches, gradient energies).

    Patches (rows of ``side²`` float64 values) on a ``stride`` grid, taken
    from the plane as it is (no full-size copy); those holding a value at
    ``low`` or ``high`` (clipped pixels, whose noise is cut) are left out. A
    patch's gradient energy ξ is the sum of its squared horizontal and
    vertical neighbour differences.
    """
    if min(plane.shape) < side:
        return np.empty((0, side * side)), np.empty(0)
    windows = sliding_window_view(plane, (side, side))[::stride, ::stride]
    boxes = windows.reshape(-1, side, side).astype(np.float64)
    energy = (np.diff(boxes, axis=1) ** 2).sum(axis=(1, 2))
    energy += (np.diff(boxes, axis=2) ** 2).sum(axis=(1, 2))
    keep = ~((boxes <= low) | (boxes >= high)).any(axis=(1, 2))
    return boxes.reshape(len(boxes), side * side)[keep], energy[keep]


@njit(cache=True)
def prefix_moments(patches, step):  # pragma: no cover - compiled
    """Return the sums of the first k rows of ``patches`` and of their outer products.

    (s1, s2), s1[m] = Σ_{row < m·step} x_row and s2[m] = Σ x_row x_rowᵀ (float64),
    for k = m·step, m = 0 … ⌊n / step⌋. One thread and no BLAS (whose threads
    contend with the denoiser's).
    """
    n, p = patches.shape
    s1 = np.zeros((n // step + 1, p))
    s2 = np.zeros((n // step + 1, p, p))
    acc1 = np.zeros(p)
    acc2 = np.zeros((p, p))
    for row in range(n):
        if row % step == 0:
            s1[row // step] = acc1
            s2[row // step] = acc2
        for i in range(p):
            value = patches[row, i]
            acc1[i] += value
            for j in range(p):
                acc2[i, j] += value * patches[row, j]
    if n % step == 0:
        s1[n // step] = acc1
        s2[n // step] = acc2
    return s1, s2


@njit(cache=True)
def covariance_of_first(patches, k, s1, s2, step):  # pragma: no cover - compiled
    """Sample covariance (float64) of the first ``k`` rows of ``patches``.

    The sums of :func:`prefix_moments` up to the last multiple of ``step`` below
    k, the remaining rows added: Σ x xᵀ − k m mᵀ over k − 1, m the mean row.
    """
    p = patches.shape[1]
    base = k // step
    acc1 = s1[base].copy()
    acc2 = s2[base].copy()
    for row in range(base * step, k):
        for i in range(p):
            value = patches[row, i]
            acc1[i] += value
            for j in range(p):
                acc2[i, j] += value * patches[row, j]
    mean = acc1 / k
    return (acc2 - k * np.outer(mean, mean)) / max(k - 1, 1)


class WeakestPatches:
    """The patches sorted by gradient energy, with prefix sums for any weakest-k covariance.

    The weak-texture selection ξ < threshold always keeps the k patches of
    least ξ, so each round's covariance reuses the sums of the rounds before
    (about one pass over the patches in all, instead of one per round).
    """

    #: Rows between two stored prefix sums.
    STEP = 512

    def __init__(self, patches: np.ndarray, energy: np.ndarray) -> None:
        order = np.argsort(energy, kind="stable")
        # Centred on the mean value: the raw sums then lose no precision to the offset.
        self.patches = np.ascontiguousarray(patches[order] - patches.mean())
        self.energy = energy[order]
        self.sums = prefix_moments(self.patches, self.STEP)

    def count_below(self, threshold: float) -> int:
        """Return how many patches have ξ < ``threshold``."""
        return int(np.searchsorted(self.energy, threshold, side="left"))

    def variance(self, k: int) -> float:
        """σ² from the covariance of the ``k`` weakest patches (:func:`noise_eigenvalue_mean`)."""
        covariance = covariance_of_first(self.patches, k, *self.sums, self.STEP)
        return noise_eigenvalue_mean(np.linalg.eigvalsh(covariance))


def channel_variance(channel: np.ndarray, side: int) -> float | None:
    """σ² of one channel with side × side patches, or None when too few patches fit."""
    slices = sample_slices(channel)
    fitting = [s.shape for s in slices if min(s.shape) >= side]
    area = sum((rows - side + 1) * (columns - side + 1) for rows, columns in fitting)
    stride = max(1, int(np.ceil(np.sqrt(area / MAX_PATCHES))))
    low, high = channel.min(), channel.max()
    found = [plane_patches(s, side, stride, low, high) for s in slices]
    patches = np.concatenate([p for p, _ in found])
    energy = np.concatenate([e for _, e in found])
    least = MIN_PER_DIMENSION * side * side
    if len(patches) < least:
        return None
    weakest = WeakestPatches(patches, energy)
    variance = weakest.variance(len(patches))
    threshold = texture_threshold(side)
    chosen = None
    for _ in range(ROUNDS):
        weak = weakest.count_below(variance * threshold)  # the `weak` weakest patches
        if weak < least or weak == chosen:
            break
        chosen = weak
        variance = weakest.variance(weak)
    return variance


def texture_sigma(channel: np.ndarray) -> float | None:
    """Noise deviation of one channel (raw units), or None when it is too small for patches."""
    for side in SIDES:
        variance = channel_variance(channel, side)
        if variance is not None:
            return float(np.sqrt(variance))
    return None
