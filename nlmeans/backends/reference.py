"""The NumPy oracle: a literal, slow transcription of the formulas (README, "The algorithm").

Buades, Coll & Morel, "Non-Local Means Denoising", IPOL 2011, eqs. for the
pixelwise estimate. Every fast backend is tested against this on small images.
Computed in float64; the loops follow the formulas term by term.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from .contract import Backend, square_radii


def _weight(u: np.ndarray, top: int, left: int, rows: int, cols: int, t, params):
    """w(p, p + t) for the patch centres p of the rows × cols block at (top, left) of u."""
    f = params.f
    ty, tx = t

    def at(dy: int, dx: int) -> np.ndarray:
        """u(p + (dy, dx)) for every centre p of the block, all channels."""
        return u[:, top + dy : top + dy + rows, left + dx : left + dx + cols]

    # d²(p, q) with q = p + t: mean over channels c and patch offsets j
    # of (u_c(p + j) - u_c(q + j))².
    squared = np.zeros((rows, cols))
    for jy in range(-f, f + 1):
        for jx in range(-f, f + 1):
            diff = at(jy, jx) - at(ty + jy, tx + jx)
            squared += (diff**2).sum(axis=0)
    d2 = squared / (u.shape[0] * (2 * f + 1) ** 2)
    # w(p, q) = exp(-max(d² - 2σ², 0) / h²); where the max is 0 that is 1 for
    # every h > 0, also when h² underflows (its h → 0 limit elsewhere is 0).
    excess = np.maximum(d2 - 2.0 * params.sigma * params.sigma, 0.0)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        return np.where(excess == 0.0, 1.0, np.exp(-excess / (params.h * params.h)))


def denoise_padded(padded: np.ndarray, params) -> np.ndarray:
    """Pixelwise NLM of a (C, H + 2(r+f), W + 2(r+f)) reflect-padded stack.

    Returns the (C, H, W) estimate as float32.
    """
    f, r = params.f, params.r
    u = padded.astype(np.float64)
    n_channels = u.shape[0]
    pad = r + f
    height = u.shape[1] - 2 * pad
    width = u.shape[2] - 2 * pad

    numerator = np.zeros((n_channels, height, width))
    denominator = np.zeros((height, width))
    for ty in range(-r, r + 1):
        for tx in range(-r, r + 1):
            weight = _weight(u, pad, pad, height, width, (ty, tx), params)
            # û_c(p) = Σ_q w(p, q) u_c(q) / Σ_q w(p, q)
            numerator += weight * u[:, pad + ty : pad + ty + height, pad + tx : pad + tx + width]
            denominator += weight
    # w(p, p) = 1, so the denominator is at least 1: no division by zero.
    return (numerator / denominator).astype(np.float32)


def denoise_padded_patchwise(padded: np.ndarray, params) -> np.ndarray:
    """Patchwise NLM of a (C, H + 2(r+2f), W + 2(r+2f)) reflect-padded stack.

    Buades, Coll & Morel, IPOL 2011, "patchwise" variant: every patch B(p, f)
    gets the weighted mean of the candidate patches,

        B̂_c(p)(j) = Σ_{q ∈ B(p,r)} w(p, q) u_c(q + j) / C(p),  C(p) = Σ_{q ∈ B(p,r)} w(p, q),

    and every pixel averages the estimates of the N = (2f+1)² patches that contain it,

        û_c(x) = 1/N Σ_{j ∈ B(0,f)} B̂_c(x − j)(j).

    Patch centres x − j may lie up to f outside the image (in the mirror
    extension), hence the padding r + 2f. Returns the (C, H, W) estimate as float32.
    """
    f, r = params.f, params.r
    u = padded.astype(np.float64)
    n_channels = u.shape[0]
    pad = r + 2 * f
    height = u.shape[1] - 2 * pad
    width = u.shape[2] - 2 * pad
    # Patch centres p cover the image plus an f margin: index (i, k) is pixel (i − f, k − f).
    centre_h, centre_w = height + 2 * f, width + 2 * f

    shifts = [(ty, tx) for ty in range(-r, r + 1) for tx in range(-r, r + 1)]
    # w(p, p + t) for every patch centre p (the block starts f before the image).
    weights = {t: _weight(u, pad - f, pad - f, centre_h, centre_w, t, params) for t in shifts}
    # C(p) = Σ_t w(p, p + t) ≥ w(p, p) = 1: no division by zero.
    norm = sum(weights.values())

    estimate = np.zeros((n_channels, height, width))
    for jy in range(-f, f + 1):
        for jx in range(-f, f + 1):
            # The patch containing x at offset j is centred at p = x − j: centre index x − j + f.
            rows = slice(f - jy, f - jy + height)
            cols = slice(f - jx, f - jx + width)
            for ty, tx in shifts:
                # B̂_c(x − j)(j) accumulates w(p, p+t) u_c(p + t + j) / C(p); p + t + j = x + t.
                share = weights[ty, tx][rows, cols] / norm[rows, cols]
                source = u[:, pad + ty : pad + ty + height, pad + tx : pad + tx + width]
                estimate += share * source
    # û_c(x) = 1/N Σ_j B̂_c(x − j)(j)
    return (estimate / (2 * f + 1) ** 2).astype(np.float32)


def _per_strength(transcription, padded, f, r, sigma, hs) -> np.ndarray:
    """(K, C, H, W): ``transcription`` run once per h (square 2-D radii)."""
    f1, r1 = square_radii(f, r)
    return np.stack(
        [transcription(padded, SimpleNamespace(f=f1, r=r1, h=h, sigma=sigma)) for h in hs]
    )


def pixelwise(padded, f, r, sigma, hs) -> np.ndarray:
    """Pixelwise NLM of a reflect-padded (C, H + 2(r+f), W + 2(r+f)) stack for each h in ``hs``."""
    return _per_strength(denoise_padded, padded, f, r, sigma, hs)


def patchwise(padded, f, r, sigma, hs) -> np.ndarray:
    """Patchwise NLM of a reflect-padded (C, H + 2(r+2f), W + 2(r+2f)) stack for each h."""
    return _per_strength(denoise_padded_patchwise, padded, f, r, sigma, hs)


BACKEND = Backend(
    name="reference",
    summary="NumPy oracle, slow; for tests and small images",
    methods={"pixel": pixelwise, "patch": patchwise},
    max_dims=2,
)
