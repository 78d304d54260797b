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

NL-Bayes (``method="bayes"``) has its own transcription,
:mod:`nlmeans.backends.reference_bayes`.
"""

from __future__ import annotations

import itertools

import numpy as np

from ._contract import Backend
from .reference_bayes import bayes


def _check(padded: np.ndarray, f, r, extra_f: int) -> tuple[np.ndarray, tuple, tuple, tuple]:
    """(u as float64, f, r, image shape S) with pad_k = r_k + extra_f · f_k removed."""
    u = np.asarray(padded, dtype=np.float64)
    f = tuple(int(v) for v in f)
    r = tuple(int(v) for v in r)
    dims = u.ndim - 1
    if len(f) != dims or len(r) != dims:
        raise ValueError(f"f={f} and r={r} need {dims} entries for a {u.shape} stack")
    shape = tuple(n - 2 * (rk + extra_f * fk) for n, fk, rk in zip(u.shape[1:], f, r, strict=True))
    if min(shape) < 1:
        raise ValueError(f"padded shape {u.shape} is too small for f={f}, r={r}")
    return u, f, r, shape


def _box(radii) -> itertools.product:
    """Every offset j of B(0, radii), in raster order."""
    return itertools.product(*(range(-k, k + 1) for k in radii))


def _block(u: np.ndarray, start, size) -> np.ndarray:
    """u[:, start_k : start_k + size_k] for every axis k (all channels)."""
    return u[(slice(None),) + tuple(slice(a, a + n) for a, n in zip(start, size, strict=True))]


def _patch_weights(f, patch_kernel: str) -> dict:
    """g(j) for every offset j of B(0, f): 1/N ("uniform") or the normalised Gaussian."""
    offsets = list(_box(f))
    if patch_kernel == "uniform":
        return {j: 1.0 / len(offsets) for j in offsets}
    if patch_kernel != "gaussian":
        raise ValueError(f"patch_kernel={patch_kernel!r} is unknown; expected uniform or gaussian")

    def gauss(jk, fk):
        # G_k(j_k) = exp(−j_k² / (2 σ_k²)), σ_k = f_k / 2; 1 when f_k = 0.
        return 1.0 if fk == 0 else float(np.exp(-(jk * jk) / (2.0 * (fk / 2.0) ** 2)))

    raw = {j: float(np.prod([gauss(jk, fk) for jk, fk in zip(j, f, strict=True)])) for j in offsets}
    total = sum(raw.values())  # g(j) = G(j) / Σ_i G(i)
    return {j: value / total for j, value in raw.items()}


def _distances(u: np.ndarray, origin, size, t, f, patch_kernel: str = "uniform") -> np.ndarray:
    """d²(p, p + t) (or d²_g) for the block of patch centres p starting at index ``origin``."""
    g = _patch_weights(f, patch_kernel)
    total = np.zeros(size)
    # Σ_c Σ_{j ∈ B(0,f)} g(j) (u_c(p + j) − u_c(q + j))², q = p + t, g(j) = 1/N if uniform
    for j in _box(f):
        here = _block(u, [o + jk for o, jk in zip(origin, j, strict=True)], size)
        there = _block(u, [o + tk + jk for o, tk, jk in zip(origin, t, j, strict=True)], size)
        total += g[j] * ((here - there) ** 2).sum(axis=0)
    # … / C
    return total / u.shape[0]


def _weight(d2: np.ndarray, sigma: float, h: float) -> np.ndarray:
    """w = exp(−max(d² − 2σ², 0) / h²).

    Where the max is 0 that is 1 for every h > 0, also when h² underflows to 0
    (the formula's h → 0 limit is 1 there and 0 elsewhere).
    """
    excess = np.maximum(d2 - 2.0 * sigma * sigma, 0.0)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        return np.where(excess == 0.0, 1.0, np.exp(-excess / (h * h)))


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
    u, f, r, shape = _check(padded, f, r, 1)
    pad = tuple(rk + fk for rk, fk in zip(r, f, strict=True))
    hs = [float(h) for h in hs]
    numerator = np.zeros((len(hs), u.shape[0]) + shape)
    denominator = np.zeros((len(hs),) + shape)
    for t in _box(r):
        # d²(p, q) with q = p + t for every pixel p of the image (index pad + p of u).
        d2 = _distances(u, pad, shape, t, f, patch_kernel)
        source = _block(u, [a + tk for a, tk in zip(pad, t, strict=True)], shape)  # u_c(q)
        for k, h in enumerate(hs):
            weight = _weight(d2, sigma, h)
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
    u, f, r, shape = _check(padded, f, r, 2)
    pad = tuple(rk + 2 * fk for rk, fk in zip(r, f, strict=True))
    n_patch = int(np.prod([2 * k + 1 for k in f]))
    hs = [float(h) for h in hs]
    shifts = list(_box(r))
    # Patch centres p cover the image plus an f margin: centre index i is pixel i − f.
    centres = tuple(s + 2 * fk for s, fk in zip(shape, f, strict=True))
    # Index of u of centre index 0.
    first_centre = tuple(a - fk for a, fk in zip(pad, f, strict=True))
    d2 = {t: _distances(u, first_centre, centres, t, f, patch_kernel) for t in shifts}

    estimate = np.zeros((len(hs), u.shape[0]) + shape)
    for k, h in enumerate(hs):
        weights = {t: _weight(d2[t], sigma, h) for t in shifts}  # w(p, p + t)
        # C(p) = Σ_t w(p, p + t) ≥ w(p, p) = 1.
        norm = sum(weights.values())
        for j in _box(f):
            # The patch holding x at offset j is centred at p = x − j: centre index x − j + f.
            centre = tuple(
                slice(fk - jk, fk - jk + s) for fk, jk, s in zip(f, j, shape, strict=True)
            )
            for t in shifts:
                # B̂_c(x − j)(j) gathers w(p, p + t) u_c(p + t + j) / C(p); p + t + j = x + t.
                share = weights[t][centre] / norm[centre]
                source = _block(u, [a + tk for a, tk in zip(pad, t, strict=True)], shape)
                estimate[k] += share * source
    # û_c(x) = 1/N Σ_j B̂_c(x − j)(j)
    return (estimate / n_patch).astype(np.float32)


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
    u, f, r, shape = _check(guide, f, r, 1)
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
        offsets = list(_box(f))
        s2 = sum(_block(var[None], [fk + jk for fk, jk in zip(f, j, strict=True)], centres)[0]
                 for j in offsets) / len(offsets)  # fmt: skip
    numerator = np.zeros((len(hs), v.shape[0]) + shape)
    denominator = np.zeros((len(hs),) + shape)
    for t in _box(r):
        d2 = _distances(u, pad, shape, t, f)
        q_at = [a + tk for a, tk in zip(pad, t, strict=True)]  # index of q = p + t
        source = _block(v, q_at, shape)  # v_c(q)
        if sigma_map is None:
            mean_var = np.full(shape, float(sigma) ** 2)
            h_scale = np.ones(shape)
        else:
            # σ̄²(p, q) = (s²(p) + s²(q)) / 2, q = p + t.
            here = _block(s2[None], r, shape)[0]
            there = _block(s2[None], [rk + tk for rk, tk in zip(r, t, strict=True)], shape)[0]
            mean_var = (here + there) / 2.0
            h_scale = mean_var / (float(sigma) ** 2)  # h² σ̄² / σ₀² = h² · h_scale
        # M(p, q): 1 for q = p, μ(q) otherwise.
        if inside is None or not any(t):
            candidate = np.ones(shape)
        else:
            candidate = _block(inside[None], q_at, shape)[0]
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
        centre = _block(v, pad, shape)
        outside = ~_block(inside[None], pad, shape)[0]
        estimate[:, :, outside] = centre[:, outside]
    return estimate.astype(np.float32)


def motion_pixelwise(padded: np.ndarray, f, r, sigma: float, h: float, moves, block, margin):
    """Motion-compensated pixelwise NLM of a reflect-padded time stack (2-D patches).

    A time stack u(t, y, x) with f = (0, f_s, f_s) and r = (r_t, r_s, r_s): the
    search box of pixel p of frame t in frame t + k, |k| ≤ r_t, is centred on
    p + v(t, k, p) instead of p, with v the displacement of the block of side
    ``block`` that holds p (``moves[t, r_t + k, p_y // block, p_x // block]``,
    (dy, dx), |dy|, |dx| ≤ ``margin``; v(t, 0, p) = 0)::

        û_c(t, p) = Σ_k Σ_{s ∈ B(0, r_s)} w((t, p), (t + k, q)) u_c(t + k, q)
                    / Σ_k Σ_s w((t, p), (t + k, q)),     q = p + v(t, k, p) + s

    with the weight and the 2-D patch distance of :func:`pixelwise`; only the
    centre of the box moves.

    Parameters
    ----------
    padded : ndarray, shape (C, T + 2 r_t, H + 2 m, W + 2 m)
        The frames reflect-padded by r_t in time and by m = r_s + f_s + ``margin``
        in space (a displaced box and its patches reach ``margin`` further out).
    f, r : (0, f_s, f_s), (r_t, r_s, r_s)
    sigma, h : float
    moves : int array (T, 2 r_t + 1, ⌈H / block⌉, ⌈W / block⌉, 2)
    block, margin : int

    Returns
    -------
    ndarray, float32, shape (C, T, H, W)

    References
    ----------
    A. Buades, B. Coll, J.-M. Morel, "Non-Local Means Denoising", IPOL 1 (2011);
    "Denoising image sequences does not require motion estimation", AVSS 2005.
    """
    u = np.asarray(padded, dtype=np.float64)
    rt, fs, rs = int(r[0]), int(f[1]), int(r[1])
    m = rs + fs + int(margin)
    n_channels, frames, rows, cols = u.shape
    shape = (frames - 2 * rt, rows - 2 * m, cols - 2 * m)
    moves = np.asarray(moves)
    y, x = np.indices(shape[1:])
    numerator = np.zeros((n_channels,) + shape)
    denominator = np.zeros(shape)
    for t in range(shape[0]):
        for k in range(-rt, rt + 1):
            vy = moves[t, rt + k, y // block, x // block, 0] if k else 0 * y
            vx = moves[t, rt + k, y // block, x // block, 1] if k else 0 * x
            for sy, sx in _box((rs, rs)):
                qy, qx = y + vy + sy, x + vx + sx  # q = p + v + s
                d2 = np.zeros(shape[1:])
                # Σ_c Σ_{j ∈ B(0, f_s)} (u_c(t, p + j) − u_c(t + k, q + j))²
                for jy, jx in _box((fs, fs)):
                    here = u[:, rt + t, m + y + jy, m + x + jx]
                    there = u[:, rt + t + k, m + qy + jy, m + qx + jx]
                    d2 += ((here - there) ** 2).sum(axis=0)
                weight = _weight(d2 / (n_channels * (2 * fs + 1) ** 2), sigma, float(h))
                numerator[:, t] += weight * u[:, rt + t + k, m + qy, m + qx]
                denominator[t] += weight
    return (numerator / denominator).astype(np.float32)


BACKEND = Backend(
    name="reference",
    summary="NumPy oracle, slow; for tests and small images",
    methods={"pixel": pixelwise, "patch": patchwise, "bayes": bayes},
    max_dims=4,
    patch_kernels=("uniform", "gaussian"),
    mapped=mapped_pixelwise,
    motion=motion_pixelwise,
)
