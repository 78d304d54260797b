"""The NumPy oracle: a literal, slow transcription of DESIGN.md §1.

Buades, Coll & Morel, "Non-Local Means Denoising", IPOL 2011, eqs. for the
pixelwise estimate. Every fast backend is tested against this on small images.
Computed in float64; the loops follow the formulas term by term.
"""

from __future__ import annotations

import numpy as np

from .params import Params


def denoise_padded(padded: np.ndarray, params: Params) -> np.ndarray:
    """Pixelwise NLM of a (C, H + 2(r+f), W + 2(r+f)) reflect-padded stack.

    Returns the (C, H, W) estimate as float32.
    """
    f, r = params.f, params.r
    u = padded.astype(np.float64)
    n_channels = u.shape[0]
    pad = r + f
    height = u.shape[1] - 2 * pad
    width = u.shape[2] - 2 * pad

    def window(dy: int, dx: int) -> np.ndarray:
        """u(p + (dy, dx)) for every output pixel p, all channels."""
        return u[:, pad + dy : pad + dy + height, pad + dx : pad + dx + width]

    numerator = np.zeros((n_channels, height, width))
    denominator = np.zeros((height, width))
    for ty in range(-r, r + 1):
        for tx in range(-r, r + 1):
            # d²(p, q) with q = p + t: mean over channels c and patch offsets j
            # of (u_c(p + j) - u_c(q + j))².
            squared = np.zeros((height, width))
            for jy in range(-f, f + 1):
                for jx in range(-f, f + 1):
                    diff = window(jy, jx) - window(ty + jy, tx + jx)
                    squared += (diff**2).sum(axis=0)
            d2 = squared / (n_channels * (2 * f + 1) ** 2)
            # w(p, q) = exp(-max(d² - 2σ², 0) / h²)
            weight = np.exp(-np.maximum(d2 - 2.0 * params.sigma**2, 0.0) / params.h**2)
            # û_c(p) = Σ_q w(p, q) u_c(q) / Σ_q w(p, q)
            numerator += weight * window(ty, tx)
            denominator += weight
    # w(p, p) = 1, so the denominator is at least 1: no division by zero.
    return (numerator / denominator).astype(np.float32)
