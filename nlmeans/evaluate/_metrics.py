"""Quality measures and noise synthesis, on the 8-bit scale.

Images are converted to float64 with 255 for the integer dtype's maximum,
noise is added in those units without clipping, and PSNR uses
``data_range=255``.
"""

from __future__ import annotations

import numpy as np


def to_8bit_scale(array: np.ndarray) -> np.ndarray:
    """``array`` as float64 on the 8-bit scale: 255 is the integer dtype's maximum.

    Float input is taken to be on the 8-bit scale already.
    """
    if np.issubdtype(array.dtype, np.integer):
        return array.astype(np.float64) * (255.0 / np.iinfo(array.dtype).max)
    return array.astype(np.float64)


def add_noise(clean: np.ndarray, sigma: float, seed: int) -> np.ndarray:
    """Additive white Gaussian noise of standard deviation ``sigma``, float, unclipped.

    Uses ``numpy.random.default_rng(seed)`` so the same seed gives the same noise.
    """
    rng = np.random.default_rng(seed)
    return clean.astype(np.float64) + rng.normal(0.0, sigma, clean.shape)


def psnr(clean: np.ndarray, estimate: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB, ``data_range=255`` (8-bit scale)."""
    from skimage.metrics import peak_signal_noise_ratio

    return float(peak_signal_noise_ratio(clean, estimate, data_range=255.0))


#: Side of scikit-image's SSIM window: images smaller than it have no SSIM.
SSIM_WINDOW = 7


def ssim(clean: np.ndarray, estimate: np.ndarray) -> float | None:
    """Structural similarity (Wang et al. 2004) from ``skimage.metrics``, 8-bit scale.

    None for an image narrower or lower than the 7×7 window (``SSIM_WINDOW``):
    SSIM is not defined there, and the report shows "-".

    References
    ----------
    Wang, Bovik, Sheikh & Simoncelli, "Image quality assessment: from error
    visibility to structural similarity", IEEE TIP 13(4), 2004.
    """
    from skimage.metrics import structural_similarity

    if min(clean.shape[:2]) < SSIM_WINDOW:
        return None
    channel_axis = None if clean.ndim == 2 else -1
    return float(
        structural_similarity(clean, estimate, data_range=255.0, channel_axis=channel_axis)
    )
