"""The generalized Anscombe transform and its exact unbiased inverse.

Poisson-Gaussian data z = a·P(y/a) + N(μ, σ_r²) (gain a, offset μ, read noise
σ_r, y ≥ 0 the clean signal above the offset). In counts, z' = (z − μ)/a is
P(y') + N(0, s²) with y' = y/a and s = σ_r/a, and the generalized Anscombe
transform (GAT) of t = z' + 3/8 + s² (z' floored at −3s when s > 0, see below)

    f(z) = 2·sqrt(t)                     for t ≥ s²  (z' ≥ −3/8)
    f(z) = 2s + (t − s²)/s               for t < s²  (s > 0)

makes the noise nearly Gaussian of unit variance. Below z' = −3/8 (where read
noise takes a dark pixel below zero) the square root steepens towards an
infinite slope at t = 0, and the textbook GAT, 2·sqrt(max(t, 0)), clips there:
with read noise of 2 counts and no photons, 1.4 % of the values land on 0,
four standard deviations below the rest, and the stabilised noise has a
standard deviation of 1.09 and a kurtosis of 4.8. Continued along its tangent
at t = s², whose slope 1/s gives pure read noise unit variance, the transform
gives 0.92 and 2.9 there (a Gaussian's kurtosis is 3), and nlmeans' results at
1–10 counts with read noise gain up to 8 dB (``benchmarks/bench_noise.py pg``).
The two transforms agree wherever z' ≥ −3/8, so everywhere when s = 0.

A value more than three read-noise deviations below zero counts (0.13 % of the
dark pixels under the model) is taken as at that bound (:data:`FLOOR_DEVIATIONS`):
the tangent's slope 1/s would otherwise turn a value the model cannot explain
(an offset set too high, a dead pixel) into an outlier of (its depth)/s, huge
for a small s. On the benchmark's rows with read noise the bound moved the
default's PSNR by −0.16 … +0.99 dB and the presets' by −0.40 … +2.78 dB.

After denoising f(z) to D, the clean value is read through the exact unbiased
inverse of Mäkitalo & Foi: the y' whose expected transform E[f(z) | y']
equals D, where

    E[f(z) | y'] = Σ_k Pois(k; y') · ∫ f(k + x) φ_s(x) dx

(φ_s the density of N(0, s²)), exact for the transform above. The algebraic
inverse ((D/2)² − 3/8 − s²) is biased at low counts. :class:`ExpectedTransform`
tabulates E once per s on a dense grid of y' and inverts it by monotone
interpolation; beyond the table the closed-form asymptotic inverse of
Mäkitalo & Foi (2011, 2013) is used, which agrees with the exact one there to
far better than 1e-4. The plain-NumPy reference of the same formulas (a
direct sum, integral and bisection per value) is :func:`reference_expected` /
:func:`reference_inverse`.

References
----------
M. Mäkitalo, A. Foi, "Optimal inversion of the Anscombe transformation in
low-count Poisson image denoising", IEEE TIP 20(1), 2011; "Optimal inversion
of the generalized Anscombe transformation for Poisson-Gaussian noise", IEEE
TIP 22(1), 2013. F. J. Anscombe, "The transformation of Poisson, binomial and
negative-binomial data", Biometrika 35, 1948.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

#: With read noise s, z' is floored at −FLOOR_DEVIATIONS·s before the transform.
FLOOR_DEVIATIONS = 3.0
#: The exact table covers y' in [0, TABLE_COUNTS] counts; the asymptotic inverse beyond.
TABLE_COUNTS = 400.0
#: Table nodes (dense where E bends most, at low counts: y' = TABLE_COUNTS · t², t uniform).
TABLE_NODES = 8001
#: Gaussian integral: nodes per standard deviation, and the half-width in deviations.
_NODES_PER_SD = 200
_HALF_WIDTH = 8.0


def transform_counts(t: np.ndarray, s: float) -> np.ndarray:
    """Return f of t = z' + 3/8 + s² (counts): 2·sqrt(t), continued along its tangent below s².

    With read noise (s > 0), z' is floored at −FLOOR_DEVIATIONS·s first.
    """
    t = np.asarray(t, dtype=np.float64)
    if s <= 0.0:
        return 2.0 * np.sqrt(np.maximum(t, 0.0))
    t = np.maximum(t, 0.375 + s * s - FLOOR_DEVIATIONS * s)
    root = 2.0 * np.sqrt(np.maximum(t, s * s))
    return np.where(t >= s * s, root, 2.0 * s + (t - s * s) / s)


def forward(z: np.ndarray, gain: float, read_noise: float, offset: float) -> np.ndarray:
    """Apply the generalized Anscombe transform f(z) (float64): unit-variance noise."""
    s = read_noise / gain
    counts = (np.asarray(z, dtype=np.float64) - offset) / gain
    return transform_counts(counts + 0.375 + s * s, s)


def _gaussian_nodes(s: float) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights (summing to 1) of ∫ g(x) φ_s(x) dx; one node at 0 when s = 0."""
    if s <= 0.0:
        return np.zeros(1), np.ones(1)
    count = int(2 * _HALF_WIDTH * _NODES_PER_SD) + 1
    x = np.linspace(-_HALF_WIDTH * s, _HALF_WIDTH * s, count)
    w = np.exp(-0.5 * (x / s) ** 2)
    return x, w / w.sum()


def _transformed_counts(k: np.ndarray, s: float) -> np.ndarray:
    """g(k) = ∫ f(k + x) φ_s(x) dx for each integer count k."""
    x, w = _gaussian_nodes(s)
    return transform_counts(k[:, None] + x[None, :] + 0.375 + s * s, s) @ w


def _poisson_pmf(k: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """Pois(k; mean) as a (len(mean), len(k)) matrix, computed in logs."""
    from scipy.special import gammaln

    mean = np.asarray(mean, dtype=np.float64)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        log = k[None, :] * np.log(mean) - mean - gammaln(k[None, :] + 1.0)
    # A zero mean: all the mass at k = 0 (0·log 0 taken as 0).
    log = np.where(mean == 0.0, np.where(k[None, :] == 0, 0.0, -np.inf), log)
    return np.exp(log)


def asymptotic_inverse(d: np.ndarray, s: float) -> np.ndarray:
    """Mäkitalo & Foi's closed-form approximation of the exact unbiased inverse, y' ≥ 0.

    y' = D²/4 + sqrt(3/2)/(4D) − 11/(8D²) + 5·sqrt(3/2)/(8D³) − 1/8 − s², accurate
    at large D (where the table hands over to it).
    """
    d = np.maximum(np.asarray(d, dtype=np.float64), 1e-6)
    r = np.sqrt(1.5)
    y = d * d / 4 + r / (4 * d) - 11 / (8 * d * d) + 5 * r / (8 * d**3) - 0.125 - s * s
    return np.maximum(y, 0.0)


def algebraic_inverse(d: np.ndarray, gain: float, read_noise: float, offset: float):
    """Invert the GAT algebraically, in raw units: biased at low counts (a baseline only)."""
    s = read_noise / gain
    counts = np.maximum((np.asarray(d, dtype=np.float64) / 2.0) ** 2 - 0.375 - s * s, 0.0)
    return gain * counts + offset


class ExpectedTransform:
    """E[f(z) | y'] tabulated for one normalised read noise s = σ_r / a, and its inverse."""

    def __init__(self, s: float):
        self.s = float(s)
        t = np.linspace(0.0, 1.0, TABLE_NODES)
        self.counts = TABLE_COUNTS * t * t
        top = int(TABLE_COUNTS + 12 * np.sqrt(TABLE_COUNTS) + 20)
        k = np.arange(top + 1, dtype=np.float64)
        g = _transformed_counts(k, self.s)
        # Blocks of table rows, so the pmf matrix stays small.
        values = [_poisson_pmf(k, part) @ g for part in np.array_split(self.counts, 16)]
        self.expected = np.concatenate(values)

    def inverse(self, d: np.ndarray) -> np.ndarray:
        """Find y' (counts, ≥ 0) with E[f(z) | y'] = d; 0 below E(0), asymptotic past the table."""
        d = np.asarray(d, dtype=np.float64)
        inside = np.interp(d, self.expected, self.counts)
        beyond = d > self.expected[-1]
        if beyond.any():
            inside[beyond] = asymptotic_inverse(d[beyond], self.s)
        return inside


@lru_cache(maxsize=8)
def expected_transform(s: float) -> ExpectedTransform:
    """Return the table for ``s`` (built once per value, about 0.1 s)."""
    return ExpectedTransform(s)


def exact_unbiased_inverse(
    d: np.ndarray, gain: float, read_noise: float, offset: float
) -> np.ndarray:
    """Raw-unit clean values a·y' + μ from denoised transformed values ``d`` (float64)."""
    counts = expected_transform(round(float(read_noise) / float(gain), 12)).inverse(d)
    return gain * counts + offset


def reference_expected(counts: float, s: float) -> float:
    """E[f(z) | y' = counts]: the direct sum over k of Pois(k; y') times the Gaussian integral.

    Plain NumPy transcription of the formula (the oracle of
    :class:`ExpectedTransform`): the Poisson probabilities from their
    definition, each Gaussian integral a fine trapezoid over ±10 s.
    """
    from math import exp, lgamma, log

    top = int(counts + 15 * np.sqrt(counts) + 30)
    k = np.arange(top + 1, dtype=np.float64)
    if counts == 0.0:
        p = (k == 0).astype(np.float64)
    else:
        p = np.array([exp(j * log(counts) - counts - lgamma(j + 1)) for j in range(top + 1)])
    if s > 0:
        x = np.linspace(-10 * s, 10 * s, 10001)
        density = np.exp(-0.5 * (x / s) ** 2)
        density /= np.trapezoid(density, x)
        # f(k + x): z' = k + x floored at −3s, the square root of t = z' + 3/8 + s²,
        # continued along its tangent below t = s².
        t = np.maximum(k[:, None] + x[None, :], -FLOOR_DEVIATIONS * s) + 0.375 + s * s
        f = np.where(t >= s * s, 2 * np.sqrt(np.maximum(t, 0.0)), 2 * s + (t - s * s) / s)
        values = np.trapezoid(f * density, x, axis=1)
    else:
        values = 2 * np.sqrt(k + 0.375)
    return float(np.sum(p * values))


def reference_inverse(d: float, s: float) -> float:
    """Find y' with :func:`reference_expected` (y', s) = d, by bisection (0 below E(0))."""
    if d <= reference_expected(0.0, s):
        return 0.0
    # Bracket around the algebraic inverse, widened until it holds the root.
    guess = max((d / 2) ** 2 - 0.375 - s * s, 0.0)
    low, high = max(guess - 1.0, 0.0), guess + 1.0
    while low > 0 and reference_expected(low, s) > d:
        low = max(low - 2.0, 0.0)
    while reference_expected(high, s) < d:
        high += 2.0
    while high - low > 1e-7 * high:
        middle = 0.5 * (low + high)
        if reference_expected(middle, s) < d:
            low = middle
        else:
            high = middle
    return 0.5 * (low + high)
