"""The Poisson-Gaussian parameters of one image: local variance against local mean.

After Foi, Trimeche, Katkovnik & Egiazarian (2008): the variance of
z = a·P(y/a) + N(μ, σ_r²) is a·(y) + σ_r² = a·E[z] + (σ_r² − a·μ), affine in
the local mean. The image (each sampled 2-D slice of each channel) is cut
into 8 × 8 blocks. In each block, the 16 finest Haar diagonal coefficients
d = (z₀₀ − z₀₁ − z₁₀ + z₁₁)/2 of its 2 × 2 cells measure the noise variance
without the smooth signal (E[d²] = the local variance), and the cell means
give the local mean and, on the coarser grid, the block's texture (the squared
differences of neighbouring cell means, which are independent of the
diagonal coefficients for noise, so selecting on them does not bias the
variance). Blocks are grouped into level sets of equal count by their mean;
in each level set the least textured half is kept, and its mean d² and mean
level form one point. The line var = a·mean + b is fitted to the points by
least squares weighted with their inverse variance (count / var²), twice (the
weights from the first fit). Offset μ (default 0) then gives σ_r² = b + a·μ;
a negative σ_r² means the offset is larger: σ_r = 0 and μ = −b / a.

References
----------
A. Foi, M. Trimeche, V. Katkovnik, K. Egiazarian, "Practical
Poissonian-Gaussian noise modeling and fitting for single-image raw-data",
IEEE TIP 17(10), 2008.
"""

from __future__ import annotations

import numpy as np

from ..errors import NLMeansError
from ._slices import sample_slices

#: Block side (pixels) and number of level sets.
BLOCK = 8
LEVELS = 24
#: Fewest blocks for a fit.
MIN_BLOCKS = 64


def block_statistics(plane: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mean, mean d², texture) of each whole 8 × 8 block of one 2-D plane."""
    plane = np.asarray(plane, dtype=np.float64)
    ny, nx = plane.shape[0] // BLOCK, plane.shape[1] // BLOCK
    if ny == 0 or nx == 0:
        return np.empty(0), np.empty(0), np.empty(0)
    cells = plane[: ny * BLOCK, : nx * BLOCK].reshape(ny * BLOCK // 2, 2, nx * BLOCK // 2, 2)
    diagonal = (cells[:, 0, :, 0] - cells[:, 0, :, 1] - cells[:, 1, :, 0] + cells[:, 1, :, 1]) / 2
    means = cells.mean(axis=(1, 3))
    side = BLOCK // 2
    per_block = (ny, side, nx, side)
    energy = (diagonal**2).reshape(per_block).mean(axis=(1, 3))
    level = means.reshape(per_block).mean(axis=(1, 3))
    blocks = means.reshape(per_block)
    texture = (np.diff(blocks, axis=1) ** 2).mean(axis=(1, 3)) + (
        np.diff(blocks, axis=3) ** 2
    ).mean(axis=(1, 3))
    return level.ravel(), energy.ravel(), texture.ravel()


def level_points(level, energy, texture) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mean, variance, count) per level set: the least textured half of its blocks.

    LEVELS sets, fewer for small images (at least 16 blocks each, two sets at least).
    """
    order = np.argsort(level, kind="stable")
    points = []
    for group in np.array_split(order, max(2, min(LEVELS, len(order) // 16))):
        calm = group[texture[group] <= np.median(texture[group])]
        points.append((level[calm].mean(), energy[calm].mean(), len(calm)))
    return tuple(np.array(column) for column in zip(*points, strict=True))


def fit_line(means, variances, counts, gain=None) -> tuple[float, float]:
    """Fit (a, b) of variance = a·mean + b, least squares weighted by count / variance².

    With ``gain`` given, a is that and only b is fitted.
    """
    weights = counts / np.maximum(variances, 1e-12) ** 2
    for _ in range(2):
        if gain is None:
            design = np.stack([means, np.ones_like(means)], axis=1) * np.sqrt(weights)[:, None]
            (a, b), *_ = np.linalg.lstsq(design, variances * np.sqrt(weights), rcond=None)
        else:
            a = gain
            b = np.sum(weights * (variances - a * means)) / np.sum(weights)
        fitted = np.maximum(a * means + b, 1e-12)
        weights = counts / fitted**2
    return float(a), float(b)


def estimate_poisson_gaussian(
    planes: np.ndarray, offset: float | None = None, gain: float | None = None
) -> tuple[float, float, float]:
    """(gain, read_noise, offset) of channels-first ``planes`` (raw units).

    Parameters
    ----------
    planes : ndarray
        (C, *spatial) image; every channel is assumed to share the parameters.
    offset : float, optional
        The known offset μ (the dark level); default 0.
    gain : float, optional
        The known gain: only the read noise is then fitted.

    Returns
    -------
    tuple of float
        Gain a > 0, read noise σ_r ≥ 0 and offset μ, raw units.

    Raises
    ------
    NLMeansError
        When the image is too small for the fit or its variance does not grow with
        its mean (no Poisson component to measure).
    """
    stats = [block_statistics(s) for channel in planes for s in sample_slices(channel)]
    level, energy, texture = (np.concatenate(column) for column in zip(*stats, strict=True))
    if level.size < MIN_BLOCKS:
        raise NLMeansError(
            f"noise='poisson-gaussian': the image has {level.size} blocks of {BLOCK}×{BLOCK} "
            f"pixels, too few to estimate the gain (at least {MIN_BLOCKS}); give gain= and "
            "read_noise="
        )
    a, b = fit_line(*level_points(level, energy, texture), gain=gain)
    if not np.isfinite(a) or a <= 0:
        raise NLMeansError(
            "noise='poisson-gaussian': the image's variance does not grow with its mean, "
            "so no gain can be estimated; give gain= (and read_noise=), or use noise='gaussian'"
        )
    mu = 0.0 if offset is None else float(offset)
    variance = b + a * mu
    if variance < 0:
        return a, 0.0, -b / a
    return a, float(np.sqrt(variance)), mu
