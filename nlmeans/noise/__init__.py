"""Noise: estimating the Gaussian noise level, and the Poisson-Gaussian model.

- :func:`estimate_sigma`: the Gaussian noise deviation of an image, by default
  from the covariance of its weakly textured patches (:mod:`._texture`), or
  from its flattest wavelet blocks (:mod:`._wavelet`), measured on the 2-D
  slices :mod:`._slices` picks;
- :mod:`._anscombe`: the generalized Anscombe transform and its exact unbiased
  inverse;
- :mod:`._poisson_fit`: the Poisson-Gaussian parameters of one image;
- :mod:`._models`: the noise-model names and record, and their resolution
  from the image.
"""

from __future__ import annotations

import numpy as np

from .._arrays import check_image, to_channels_first
from ..errors import NLMeansError
from ._texture import texture_sigma
from ._wavelet import wavelet_sigma

#: The estimators of :func:`estimate_sigma`.
SIGMA_METHODS = ("pca", "wavelet")


def estimate_sigma(
    image: np.ndarray, *, channel_axis: int | None = None, method: str = "pca"
) -> float:
    """Estimate the Gaussian noise standard deviation of ``image``.

    Each channel is measured on its own and the channels' deviations are
    averaged. ``method="pca"`` (the default): the covariance of the weakly
    textured 7 × 7 patches (selected as in Liu, Tanaka & Okutomi, 2013),
    σ² the mean of its noise eigenvalues (Chen, Zhu & Heng, 2015); see
    :mod:`nlmeans.noise._texture`. ``method="wavelet"``: a low quantile of the
    energies of blocks of the finest diagonal wavelet band
    (:mod:`nlmeans.noise._wavelet`), which texture fools more at low noise.
    Patches or blocks over the channel's minimum or maximum (clipped pixels)
    are left out; channels too small for 3 × 3 patches fall back to the robust
    median of the wavelet band (Donoho & Johnstone, 1994).

    Parameters
    ----------
    image : ndarray
        Any supported dtype; 2, 3 or 4 spatial axes, with channels along
        ``channel_axis`` (None: gray). Volumes and stacks are measured on up to
        16 evenly spread 2-D slices (the last two axes) per channel.
    channel_axis : int or None
        Axis holding the channels, or None for a gray image.
    method : {"pca", "wavelet"}
        The estimator.

    Returns
    -------
    float
        Noise standard deviation in the raw intensity units of ``image``.

    References
    ----------
    X. Liu, M. Tanaka, M. Okutomi, "Single-image noise level estimation for
    blind denoising", IEEE Trans. Image Processing 22(12), 2013.
    G. Chen, F. Zhu, P. A. Heng, "An efficient statistical method for image
    noise level estimation", ICCV 2015.
    D. L. Donoho, I. M. Johnstone, "Ideal spatial adaptation by wavelet
    shrinkage", Biometrika 81(3), 1994.

    Examples
    --------
    >>> import numpy as np
    >>> noisy = np.random.default_rng(0).normal(100.0, 10.0, (256, 256))
    >>> round(estimate_sigma(noisy))
    10
    """
    if method not in SIGMA_METHODS:
        raise NLMeansError(
            f"estimate_sigma method={method!r} is not one of {', '.join(SIGMA_METHODS)}"
        )
    planes = to_channels_first(check_image(image), channel_axis)
    sigmas = []
    for channel in planes:
        sigma = texture_sigma(channel) if method == "pca" else None
        sigmas.append(wavelet_sigma(channel) if sigma is None else sigma)
    return float(np.mean(sigmas))


__all__ = ["SIGMA_METHODS", "estimate_sigma"]
