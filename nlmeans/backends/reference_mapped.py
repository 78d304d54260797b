"""The NumPy oracle of the mapped method: a guide, a σ map and a mask (pixelwise).

A literal float64 transcription, any dimension, in the notation of
:mod:`nlmeans.backends.reference` (whose patch distance d² and borders it uses).

Guide, values, σ map and mask (``mapped``: pixelwise only). The weights are
computed on a guide image u (C channels) as above, the averages taken of a
values image v (C_v channels on the same pixels; v = u unless given, v = u² for
the Rician model)::

    v̂_c(p) = Σ_{q ∈ B(p,r)} M(p, q) w(p, q) v_c(q) / Σ_{q ∈ B(p,r)} M(p, q) w(p, q)

A mask μ (1 inside, 0 outside) gives M(p, q) = 1 for q = p and μ(q) otherwise:
candidates outside are never averaged in; a pixel p outside the mask keeps
v(p). A σ map σ(x) > 0 (one value per pixel) replaces σ in the weight by the
pair's mean patch variance, and h by h scaled with it::

    s²(p)      = 1/N Σ_{j ∈ B(0,f)} σ²(p + j)          (the patch's mean variance)
    σ̄²(p, q)   = (s²(p) + s²(q)) / 2                  (the mean of σ² over both patches)
    w(p, q)    = exp(−max(d²(p, q) − 2σ̄²(p, q), 0) / (h² σ̄²(p, q) / σ₀²))

where σ₀ is the ``sigma`` argument (the front door passes the map's root mean
square, sqrt(mean σ²), and resolves h for it). 2σ̄² is the expected d² of two
patches of one signal under that noise, and h grows with the local noise as the
presets' h ∝ σ. The rule is symmetric in p and q, and for a constant map
σ ≡ σ₀ it is σ̄ = σ₀: exactly the weight above.
"""

from __future__ import annotations

import numpy as np

from ._oracle_terms import block, box, check_padded, distances

__all__ = ["mapped_pixelwise"]


def mapped_pixelwise(
    guide: np.ndarray,
    values: np.ndarray | None,
    f,
    r,
    sigma: float,
    hs,
    *,
    sigma_map: np.ndarray | None = None,
    mask: np.ndarray | None = None,
) -> np.ndarray:
    """Pixelwise NLM of the values with weights from the guide, a σ map and a mask.

    Parameters
    ----------
    guide : ndarray, shape (C, S_1 + 2(r_1 + f_1), …, S_D + 2(r_D + f_D))
        The image whose patches give the weights, channels first, reflect-padded.
    values : ndarray, shape (C_v, same spatial shape), or None
        What is averaged (padded the same way); None: the guide.
    f, r : sequence of D ints
        Patch and search radii per axis (0 allowed).
    sigma : float
        σ₀: the noise standard deviation (raw units); with a map, the one h is given for.
    hs : sequence of K floats > 0
        Filtering strengths.
    sigma_map : ndarray, shape (same spatial shape), optional
        σ(x) > 0 per pixel, padded like the guide.
    mask : ndarray of bool, shape (same spatial shape), optional
        μ(x), padded like the guide.

    Returns
    -------
    ndarray, float32, shape (K, C_v, S_1, …, S_D)
        ``v̂_c(p)`` of the module docstring for each h; ``v(p)`` outside the mask.

    References
    ----------
    A. Buades, B. Coll, J.-M. Morel, "Non-Local Means Denoising", IPOL 1 (2011);
    P. Coupé et al., "An optimized blockwise nonlocal means denoising filter for
    3-D magnetic resonance images", IEEE TMI 27 (2008) (averaging squared
    magnitudes for Rician data).
    """
    u, f, r, shape = check_padded(guide, f, r, 1)
    v = u if values is None else np.asarray(values, dtype=np.float64)
    if v.shape[1:] != u.shape[1:]:
        raise ValueError(f"values {v.shape} and guide {u.shape} differ in their spatial shape")
    pad = tuple(rk + fk for rk, fk in zip(r, f, strict=True))
    hs = [float(h) for h in hs]
    inside = None if mask is None else np.asarray(mask, dtype=bool)
    if sigma_map is not None:
        var = np.asarray(sigma_map, dtype=np.float64) ** 2
        # s²(x) = 1/N Σ_{j ∈ B(0,f)} σ²(x + j) for every centre x within r of the image
        # (s2 index x + r).
        centres = tuple(n - 2 * fk for n, fk in zip(var.shape, f, strict=True))
        offsets = list(box(f))
        s2 = sum(block(var[None], [fk + jk for fk, jk in zip(f, j, strict=True)], centres)[0]
                 for j in offsets) / len(offsets)  # fmt: skip
    numerator = np.zeros((len(hs), v.shape[0]) + shape)
    denominator = np.zeros((len(hs),) + shape)
    for t in box(r):
        d2 = distances(u, pad, shape, t, f)
        q_at = [a + tk for a, tk in zip(pad, t, strict=True)]  # index of q = p + t
        source = block(v, q_at, shape)  # v_c(q)
        if sigma_map is None:
            mean_var = np.full(shape, float(sigma) ** 2)
            h_scale = np.ones(shape)
        else:
            # σ̄²(p, q) = (s²(p) + s²(q)) / 2, q = p + t.
            here = block(s2[None], r, shape)[0]
            there = block(s2[None], [rk + tk for rk, tk in zip(r, t, strict=True)], shape)[0]
            mean_var = (here + there) / 2.0
            h_scale = mean_var / (float(sigma) ** 2)  # h² σ̄² / σ₀² = h² · h_scale
        # M(p, q): 1 for q = p, μ(q) otherwise.
        if inside is None or not any(t):
            candidate = np.ones(shape)
        else:
            candidate = block(inside[None], q_at, shape)[0]
        for k, h in enumerate(hs):
            excess = np.maximum(d2 - 2.0 * mean_var, 0.0)
            with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
                weight = np.where(excess == 0.0, 1.0, np.exp(-excess / (h * h * h_scale)))
            weight = weight * candidate
            numerator[k] += weight * source
            denominator[k] += weight
    estimate = numerator / denominator[:, None]
    if inside is not None:
        # p outside the mask keeps v(p).
        centre = block(v, pad, shape)
        outside = ~block(inside[None], pad, shape)[0]
        estimate[:, :, outside] = centre[:, outside]
    return estimate.astype(np.float32)
