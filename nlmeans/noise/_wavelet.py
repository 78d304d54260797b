"""The wavelet noise estimate (``estimate_sigma(method="wavelet")``): the flattest HH blocks.

The finest diagonal wavelet band (HH) of Gaussian noise of deviation σ is
Gaussian noise of deviation σ (orthonormal wavelet), while the image adds
energy there only at edges and in texture. Donoho & Johnstone's robust
median, σ = median(|HH|) / 0.6745 (what scikit-image's ``estimate_sigma``
computes), still counts texture spread over the whole picture and overestimates
σ at low noise. Following the weak-texture idea of Liu, Tanaka & Okutomi
(IEEE TIP 2013) in a simple form, this estimator splits HH into small blocks,
takes a low quantile of the blocks' mean energies (the flattest blocks) and
removes the quantile's own bias: for pure noise a block's mean energy is
σ² χ²_n / n with n coefficients.
"""

from __future__ import annotations

import warnings

import numpy as np

from ._slices import sample_slices

#: Side of a block of HH coefficients, and the quantile of the block energies kept.
BLOCK = 8
QUANTILE = 0.1
#: Φ⁻¹(QUANTILE), the standard normal quantile, for the Wilson–Hilferty formula.
_NORMAL_QUANTILE = -1.2815515655446004
#: Fewer usable blocks than this: fall back to the robust median of all of HH.
MIN_BLOCKS = 16


def chi2_quantile_over_n(n: int) -> float:
    """Return the QUANTILE quantile of χ²_n / n (Wilson & Hilferty 1931; 1e-3 accurate, n ≥ 30)."""
    a = 2.0 / (9.0 * n)
    return (1.0 - a + _NORMAL_QUANTILE * np.sqrt(a)) ** 3


def plane_sigma(plane: np.ndarray) -> float:
    """Gaussian noise deviation of one 2-D plane, raw units, from its flattest HH blocks.

    Blocks over saturated pixels (the plane's minimum or maximum, where clipping
    removed noise) are skipped. Small or almost fully saturated planes fall back to
    scikit-image's ``estimate_sigma`` (the robust median of all of HH).
    """
    import pywt

    plane = np.asarray(plane, dtype=np.float64)
    hh = pywt.dwt2(plane, "db2")[1][2][1:-1, 1:-1]  # without the boundary-extended rows
    side = 2 * BLOCK  # pixels under a block of HH coefficients, see below
    # Whole blocks of HH whose pixels (from pixel 2 on) lie inside the plane.
    ny = min(hh.shape[0] // BLOCK, (plane.shape[0] - 2) // side)
    nx = min(hh.shape[1] // BLOCK, (plane.shape[1] - 2) // side)
    if ny * nx >= MIN_BLOCKS:
        blocks = hh[: ny * BLOCK, : nx * BLOCK].reshape(ny, BLOCK, nx, BLOCK)
        energy = (blocks**2).mean(axis=(1, 3))
        # HH coefficient k (after the dropped one) sits on pixels 2k+2 … 2k+5: each
        # block covers about 2·BLOCK pixels from pixel 2 on.
        pixels = plane[2 : 2 + side * ny, 2 : 2 + side * nx]
        saturated = (pixels <= plane.min()) | (pixels >= plane.max())
        clipped = saturated.reshape(ny, side, nx, side).any(axis=(1, 3))
        usable = energy[~clipped]
        if usable.size >= MIN_BLOCKS:
            level = np.quantile(usable, QUANTILE)
            return float(np.sqrt(level / chi2_quantile_over_n(BLOCK * BLOCK)))
    from skimage.restoration import estimate_sigma

    return float(estimate_sigma(plane))


def wavelet_sigma(channel: np.ndarray) -> float:
    """Noise deviation of one channel: the mean of :func:`plane_sigma` over its sampled slices."""
    with warnings.catch_warnings():
        # Each plane is 2-D gray, so skimage's "is this a color image?" guess does not
        # apply; planes too small for a wavelet detail band give NaN, taken as 0 (no noise).
        warnings.filterwarnings("ignore", "image is size", UserWarning)
        warnings.filterwarnings("ignore", category=RuntimeWarning)
        sigmas = [plane_sigma(plane) for plane in sample_slices(channel)]
    return float(np.mean(np.nan_to_num(sigmas, nan=0.0, posinf=0.0)))
