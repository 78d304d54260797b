"""The NumPy oracle: a literal, slow float64 transcription of the NLM formulas, any dimension.

This module is the package's statement of the algorithm. Every fast backend
(CPU, CUDA, pixelwise and patchwise, one strength h or several) is tested
against it to 1e-4 of the data range on small inputs.

Notation. ``u`` is the noisy image with C channels and D spatial axes; p, q, x
are pixel positions, t = q − p a shift, j an offset inside a patch. Patch radii
f = (f_1, …, f_D) and search radii r = (r_1, …, r_D) are given per axis, in
pixels; 0 is allowed (radius 0 on an axis means no patch, or no search, along
it). B(p, f) is the box Π_k [p_k − f_k, p_k + f_k], with N = Π_k (2 f_k + 1)
pixels. σ (noise standard deviation) and h (filtering strength) are in the
units of the pixel values.

Patch distance and weight (Buades, Coll & Morel, IPOL 2011)::

    d²(p, q) = 1/(C N) Σ_c Σ_{j ∈ B(0,f)} (u_c(p+j) − u_c(q+j))²
    w(p, q)  = exp(−max(d²(p, q) − 2σ², 0) / h²)

so w(p, p) = 1, every normalising sum below is at least 1, and a weight that
underflows is 0 (never NaN or Inf).

Gaussian patch kernel (``patch_kernel="gaussian"``; Buades, Coll & Morel, CVPR
2005). The mean over the patch becomes a weighted mean::

    d²_g(p, q) = 1/C Σ_c Σ_{j ∈ B(0,f)} g(j) (u_c(p+j) − u_c(q+j))²
    g(j)       = G(j) / Σ_{i ∈ B(0,f)} G(i),   G(j) = Π_k G_k(j_k)
    G_k(j_k)   = exp(−j_k² / (2 σ_k²)),  σ_k = f_k / 2   (G_k = 1 when f_k = 0)

so Σ_j g(j) = 1 and d²_g of two patches that differ by a constant a is a², as
for the uniform d² (whose g is 1/N everywhere). σ_k = f_k / 2 puts the patch
edge at 2 σ_k, the width scikit-image's ``fast_mode=False`` gives a patch of
side 2 f_k + 1. The weight, the estimates and the patchwise aggregation (a
uniform 1/N average of the patch estimates) are unchanged.

Pixelwise estimate ("pixel")::

    û_c(p) = Σ_{q ∈ B(p,r)} w(p, q) u_c(q) / Σ_{q ∈ B(p,r)} w(p, q)

Patchwise estimate ("patch"): every patch B(p, f) is replaced by the weighted
mean of its candidate patches, and every pixel averages the N estimates of the
patches that contain it::

    B̂_c(p)(j) = Σ_{q ∈ B(p,r)} w(p, q) u_c(q + j) / C(p),   C(p) = Σ_{q ∈ B(p,r)} w(p, q)
    û_c(x)    = 1/N Σ_{j ∈ B(0,f)} B̂_c(x − j)(j)

Patch centres x − j may lie up to f outside the image.

Borders. The caller reflect-pads the image (``np.pad(mode="reflect")``) by
r_k + f_k on axis k for "pixel" and r_k + 2 f_k for "patch"; values outside the
image are those of the mirror extension. Functions here, like every backend,
receive the padded stack.

Signature (shared by all backends)::

    fn(padded, f, r, sigma, hs, *, patch_kernel="uniform") -> float32 array (K, C, S_1, …, S_D)

``padded`` is (C, S_1 + 2 pad_1, …, S_D + 2 pad_D); ``f``, ``r`` are tuples of D
ints; ``sigma`` a float; ``hs`` a sequence of K strengths h > 0, one estimate
each; ``patch_kernel`` "uniform" (d²) or "gaussian" (d²_g). The arithmetic
here is float64; the result is returned as float32.

The other methods have transcriptions of their own:
:mod:`nlmeans.backends.reference_bayes` (NL-Bayes, ``method="bayes"``),
:mod:`nlmeans.backends.reference_mapped` (a guide, a σ map and a mask) and
:mod:`nlmeans.backends.reference_motion` (motion-compensated time stacks); the
patch distance and weight they share are in :mod:`nlmeans.backends._oracle_terms`.
"""

from __future__ import annotations

import numpy as np

from ._contract import Backend
from ._oracle_terms import block, box, check_padded, distances, nlm_weight
from .reference_bayes import bayes
from .reference_mapped import mapped_pixelwise
from .reference_motion import motion_pixelwise

__all__ = ["BACKEND", "mapped_pixelwise", "motion_pixelwise", "patchwise", "pixelwise"]


def pixelwise(padded: np.ndarray, f, r, sigma: float, hs, *, patch_kernel="uniform") -> np.ndarray:
    """Pixelwise NLM of a reflect-padded stack, one estimate per strength h.

    Parameters
    ----------
    padded : ndarray, shape (C, S_1 + 2(r_1 + f_1), …, S_D + 2(r_D + f_D))
        The image, channels first, reflect-padded by r_k + f_k on axis k.
    f, r : sequence of D ints
        Patch and search radii per axis (0 allowed).
    sigma : float
        Noise standard deviation, in pixel-value units.
    hs : sequence of K floats > 0
        Filtering strengths.
    patch_kernel : {"uniform", "gaussian"}
        The patch distance: d² (mean over the patch) or d²_g (Gaussian-weighted).

    Returns
    -------
    ndarray, float32, shape (K, C, S_1, …, S_D)
        ``û_c(p) = Σ_{q ∈ B(p,r)} w(p, q) u_c(q) / Σ_q w(p, q)`` for each h.

    References
    ----------
    A. Buades, B. Coll, J.-M. Morel, "Non-Local Means Denoising",
    Image Processing On Line 1 (2011), pixelwise implementation; "A non-local
    algorithm for image denoising", CVPR 2005 (the Gaussian patch distance).
    """
    u, f, r, shape = check_padded(padded, f, r, 1)
    pad = tuple(rk + fk for rk, fk in zip(r, f, strict=True))
    hs = [float(h) for h in hs]
    numerator = np.zeros((len(hs), u.shape[0]) + shape)
    denominator = np.zeros((len(hs),) + shape)
    for t in box(r):
        # d²(p, q) with q = p + t for every pixel p of the image (index pad + p of u).
        d2 = distances(u, pad, shape, t, f, patch_kernel)
        source = block(u, [a + tk for a, tk in zip(pad, t, strict=True)], shape)  # u_c(q)
        for k, h in enumerate(hs):
            weight = nlm_weight(d2, sigma, h)
            # Σ_q w(p, q) u_c(q) and Σ_q w(p, q)
            numerator[k] += weight * source
            denominator[k] += weight
    # w(p, p) = 1, so every denominator is at least 1.
    return (numerator / denominator[:, None]).astype(np.float32)


def patchwise(padded: np.ndarray, f, r, sigma: float, hs, *, patch_kernel="uniform") -> np.ndarray:
    """Patchwise NLM of a reflect-padded stack, one estimate per strength h.

    Parameters
    ----------
    padded : ndarray, shape (C, S_1 + 2(r_1 + 2 f_1), …, S_D + 2(r_D + 2 f_D))
        The image, channels first, reflect-padded by r_k + 2 f_k on axis k.
    f, r : sequence of D ints
        Patch and search radii per axis (0 allowed).
    sigma : float
        Noise standard deviation, in pixel-value units.
    hs : sequence of K floats > 0
        Filtering strengths.
    patch_kernel : {"uniform", "gaussian"}
        The patch distance: d² (mean over the patch) or d²_g (Gaussian-weighted).

    Returns
    -------
    ndarray, float32, shape (K, C, S_1, …, S_D)
        ``û_c(x) = 1/N Σ_{j ∈ B(0,f)} B̂_c(x − j)(j)`` with
        ``B̂_c(p)(j) = Σ_{q ∈ B(p,r)} w(p, q) u_c(q + j) / C(p)`` for each h.

    References
    ----------
    A. Buades, B. Coll, J.-M. Morel, "Non-Local Means Denoising",
    Image Processing On Line 1 (2011), patchwise implementation.
    """
    u, f, r, shape = check_padded(padded, f, r, 2)
    pad = tuple(rk + 2 * fk for rk, fk in zip(r, f, strict=True))
    n_patch = int(np.prod([2 * k + 1 for k in f]))
    hs = [float(h) for h in hs]
    shifts = list(box(r))
    # Patch centres p cover the image plus an f margin: centre index i is pixel i − f.
    centres = tuple(s + 2 * fk for s, fk in zip(shape, f, strict=True))
    # Index of u of centre index 0.
    first_centre = tuple(a - fk for a, fk in zip(pad, f, strict=True))
    d2 = {t: distances(u, first_centre, centres, t, f, patch_kernel) for t in shifts}

    estimate = np.zeros((len(hs), u.shape[0]) + shape)
    for k, h in enumerate(hs):
        weights = {t: nlm_weight(d2[t], sigma, h) for t in shifts}  # w(p, p + t)
        # C(p) = Σ_t w(p, p + t) ≥ w(p, p) = 1.
        norm = sum(weights.values())
        for j in box(f):
            # The patch holding x at offset j is centred at p = x − j: centre index x − j + f.
            centre = tuple(
                slice(fk - jk, fk - jk + s) for fk, jk, s in zip(f, j, shape, strict=True)
            )
            for t in shifts:
                # B̂_c(x − j)(j) gathers w(p, p + t) u_c(p + t + j) / C(p); p + t + j = x + t.
                share = weights[t][centre] / norm[centre]
                source = block(u, [a + tk for a, tk in zip(pad, t, strict=True)], shape)
                estimate[k] += share * source
    # û_c(x) = 1/N Σ_j B̂_c(x − j)(j)
    return (estimate / n_patch).astype(np.float32)


BACKEND = Backend(
    name="reference",
    summary="NumPy oracle, slow; for tests and small images",
    methods={"pixel": pixelwise, "patch": patchwise, "bayes": bayes},
    max_dims=4,
    patch_kernels=("uniform", "gaussian"),
    mapped=mapped_pixelwise,
    motion=motion_pixelwise,
)
