"""The terms the NumPy oracles share: boxes, blocks, the patch distance and the weight.

Float64 transcriptions of d²(p, q) (or d²_g, with the Gaussian patch kernel)
and w = exp(−max(d² − 2σ², 0) / h²), as :mod:`nlmeans.backends.reference`
states them, for :mod:`~nlmeans.backends.reference`,
:mod:`~nlmeans.backends.reference_mapped` and
:mod:`~nlmeans.backends.reference_motion`.
"""

from __future__ import annotations

import itertools

import numpy as np


def check_padded(padded: np.ndarray, f, r, extra_f: int) -> tuple[np.ndarray, tuple, tuple, tuple]:
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


def box(radii) -> itertools.product:
    """Every offset j of B(0, radii), in raster order."""
    return itertools.product(*(range(-k, k + 1) for k in radii))


def block(u: np.ndarray, start, size) -> np.ndarray:
    """u[:, start_k : start_k + size_k] for every axis k (all channels)."""
    return u[(slice(None),) + tuple(slice(a, a + n) for a, n in zip(start, size, strict=True))]


def patch_weights(f, patch_kernel: str) -> dict:
    """g(j) for every offset j of B(0, f): 1/N ("uniform") or the normalised Gaussian."""
    offsets = list(box(f))
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


def distances(u: np.ndarray, origin, size, t, f, patch_kernel: str = "uniform") -> np.ndarray:
    """d²(p, p + t) (or d²_g) for the block of patch centres p starting at index ``origin``."""
    g = patch_weights(f, patch_kernel)
    total = np.zeros(size)
    # Σ_c Σ_{j ∈ B(0,f)} g(j) (u_c(p + j) − u_c(q + j))², q = p + t, g(j) = 1/N if uniform
    for j in box(f):
        here = block(u, [o + jk for o, jk in zip(origin, j, strict=True)], size)
        there = block(u, [o + tk + jk for o, tk, jk in zip(origin, t, j, strict=True)], size)
        total += g[j] * ((here - there) ** 2).sum(axis=0)
    # … / C
    return total / u.shape[0]


def nlm_weight(d2: np.ndarray, sigma: float, h: float) -> np.ndarray:
    """Return w = exp(−max(d² − 2σ², 0) / h²).

    Where the max is 0 that is 1 for every h > 0, also when h² underflows to 0
    (the formula's h → 0 limit is 1 there and 0 elsewhere).
    """
    excess = np.maximum(d2 - 2.0 * sigma * sigma, 0.0)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        return np.where(excess == 0.0, 1.0, np.exp(-excess / (h * h)))
