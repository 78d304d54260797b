"""The Rician (noncentral χ) model of magnitude images: σ from the background, the bias removed.

A magnitude image m = |y + n| with n complex Gaussian noise of σ per component,
summed over N coils (sum of squares), has E[m²] = y² + 2Nσ². Non-local means
of m² (weights computed on m) estimates E[m²] locally, so

    ŷ = sqrt(max(NLM(m²) − 2Nσ², 0)).

In the background (y = 0) m/σ follows a χ distribution with 2N degrees of
freedom, whose mode is sqrt(2N − 1): σ is read from the mode of the dark
values' histogram.
"""

from __future__ import annotations

import numpy as np

from .errors import NLMeansError

#: Histogram bins over the darker half of the values, for the background mode.
BACKGROUND_BINS = 128


def background_sigma(magnitude: np.ndarray, coils: int = 1) -> float:
    """σ of the Gaussian noise under a magnitude image, from its background.

    The mode of the histogram of the values below the median (the background of
    an MRI volume is usually the larger dark part) is σ sqrt(2N − 1), the mode
    of a noncentral χ with 2N degrees of freedom at zero signal.

    Parameters
    ----------
    magnitude : ndarray
        Magnitude values (>= 0), any shape.
    coils : int
        N, the coils combined by sum of squares (1: Rician).

    Returns
    -------
    float
        σ, in the units of ``magnitude``.

    References
    ----------
    H. Gudbjartsson, S. Patz, "The Rician distribution of noisy MRI data",
    Magn. Reson. Med. 34 (1995); C. D. Constantinides, E. Atalar, E. R. McVeigh,
    "Signal-to-noise measurements in magnitude images from NMR phased arrays",
    Magn. Reson. Med. 38 (1997).
    """
    values = np.asarray(magnitude, dtype=np.float64).ravel()
    top = float(np.median(values))
    if not top > 0:
        raise NLMeansError(
            "cannot estimate sigma from the background: half the values are 0 or less "
            "(a masked or clipped background); give sigma"
        )
    counts, edges = np.histogram(values[values <= top], bins=BACKGROUND_BINS, range=(0.0, top))
    # A 5-bin moving average steadies the mode of a sparse histogram.
    smooth = np.convolve(counts, np.ones(5) / 5.0, mode="same")
    peak = int(np.argmax(smooth))
    # Exact zeros (a zero-filled or clipped region) fill the first bin, and the
    # average spreads them over the next ones: refuse on either sign.
    if peak == 0 or counts[0] == counts.max():
        raise NLMeansError(
            "cannot estimate sigma from the background: the darkest values peak at 0 "
            "(no noisy background); give sigma"
        )
    mode = 0.5 * (edges[peak] + edges[peak + 1])
    return float(mode / np.sqrt(2.0 * coils - 1.0))


def rician_sigma(planes: np.ndarray, inside: np.ndarray | None, coils: int = 1) -> float:
    """σ of a magnitude image's noise, read from its background (:func:`background_sigma`).

    The noise is the acquisition's, the same inside and outside a mask, and the
    background of a volume lies mostly outside its (brain, object) mask: the
    whole image is read first. Only where the whole image shows no noisy
    background (its dark values exactly 0: outside a field of view, zero-filled)
    are the pixels inside the mask read instead.

    ``planes`` (C, *S) magnitudes, ``inside`` (*S) bool or None.
    """
    try:
        return background_sigma(planes, coils)
    except NLMeansError:
        if inside is None:
            raise
        return background_sigma(planes[:, inside], coils)


def remove_bias(mean_square: np.ndarray, variance, coils: int) -> np.ndarray:
    """sqrt(max(mean_square − 2Nσ², 0)), float32; ``variance`` σ² (a scalar or per pixel).

    A float32 ``mean_square`` is overwritten (the estimate is the caller's own).
    """
    excess = np.asarray(mean_square, dtype=np.float32)
    excess -= np.float32(2.0 * coils) * np.asarray(variance, dtype=np.float32)
    np.maximum(excess, np.float32(0.0), out=excess)
    return np.sqrt(excess, out=excess)
