"""SURE of pixelwise NLM with its exact divergence (no Monte-Carlo probe, no ε).

Pixelwise NLM, û_c(p) = Σ_q w(p, q) u_c(q) / Σ_q w(p, q) with
w(p, q) = exp(−max(d²(p, q) − 2σ², 0) / h²) and
d²(p, q) = 1/(C N) Σ_c Σ_{j ∈ B(0,f)} (u_c(p+j) − u_c(q+j))², is a smooth
function of u wherever no d² sits exactly on 2σ², and its divergence has a
closed form (the SURE-NLM derivation of Van De Ville & Kocher, IEEE SPL 2009,
written here for the offset 2σ² and the mean over channels and patch):

    ∂û_c(p)/∂u_c(p) = [1 − κ Σ_q a(p, q) e_c(p, q) (u_c(q) − û_c(p))] / Σ_q w(p, q)

    κ = 2 / (C N h²),   a(p, q) = w(p, q) · [d²(p, q) > 2σ²],
    e_c(p, q) = (u_c(p) − u_c(q)) + [q − p ∈ B(0, f)] (u_c(p) − u_c(2p − q)).

The 1 is the centre weight w(p, p) (its distance is 0 whatever u is); the sum
is the change of the other weights through their patch distances: u_c(p) is
offset 0 of p's patch and, when q − p lies in the patch box, offset p − q of
q's patch. As for the denoising kernels, the image is reflect-padded first
and the derivative is taken with respect to the padded stack's sample at p;
pixels within (r + f) / 2 of the image border also appear mirrored in the
padding, whose share of the derivative is left out (a bias confined to that
border band).

:func:`divergence_reference` is the literal NumPy (float64) transcription;
:func:`exact_sweeps` scores candidates on tiles with the Numba CPU kernel
(:mod:`nlmeans.backends.cpu._sure_pixel`) for images and volumes, in one pass per
(f, r) for all strengths, with no second run on a perturbed image.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from .._arrays import pad_reflect
from ..params import radii
from ._scores import Sweep, block_index, window_index


def divergence_reference(padded: np.ndarray, f, r, sigma: float, hs):
    """(estimates, divergence), float64 (K, C, *S): pixelwise NLM and ∂û_c(p)/∂u_c(p).

    ``padded`` is (C, *S) reflect-padded by r_k + f_k on axis k; ``f`` and
    ``r`` tuples of D ints; one estimate and divergence map per h in ``hs``.
    The derivative is with respect to the padded stack's sample at p.

    References
    ----------
    D. Van De Ville, M. Kocher, "SURE-based non-local means", IEEE Signal
    Processing Letters 16(11), 2009.
    """
    u = np.asarray(padded, dtype=np.float64)
    f = tuple(int(v) for v in f)
    r = tuple(int(v) for v in r)
    pad = tuple(rk + fk for rk, fk in zip(r, f, strict=True))
    shape = tuple(n - 2 * p for n, p in zip(u.shape[1:], pad, strict=True))
    channels = u.shape[0]
    n_patch = math.prod(2 * fk + 1 for fk in f)

    def block(offset):
        return u[(slice(None),) + tuple(
            slice(p + o, p + o + n) for p, o, n in zip(pad, offset, shape, strict=True)
        )]  # fmt: skip

    here = block((0,) * len(f))  # u_c(p)
    out_est, out_div = [], []
    for h in hs:
        den = np.zeros(shape)
        num = np.zeros((channels,) + shape)
        terms = []  # (a, e_c, u_c(q)) per shift
        for t in itertools.product(*(range(-k, k + 1) for k in r)):
            there = block(t)  # u_c(q), q = p + t
            # d²(p, q) = 1/(C N) Σ_c Σ_j (u_c(p + j) − u_c(q + j))²
            d2 = np.zeros(shape)
            for j in itertools.product(*(range(-k, k + 1) for k in f)):
                jt = tuple(a + b for a, b in zip(j, t, strict=True))
                d2 += ((block(j) - block(jt)) ** 2).sum(axis=0)
            d2 /= channels * n_patch
            excess = d2 - 2.0 * sigma**2
            w = np.exp(-np.maximum(excess, 0.0) / h**2)
            a = np.where(excess > 0, w, 0.0)
            e = here - there
            if all(abs(tk) <= fk for tk, fk in zip(t, f, strict=True)):
                e = e + (here - block(tuple(-tk for tk in t)))  # u_c(2p − q)
            den += w
            num += w * there
            terms.append((a, e, there))
        est = num / den
        kappa = 2.0 / (channels * n_patch * h**2)
        spread = sum(a * e * (there - est) for a, e, there in terms)
        out_est.append(est)
        out_div.append((1.0 - kappa * spread) / den)
    return np.asarray(out_est), np.asarray(out_div)


def _reference_tiles(windows: np.ndarray, f, r, sigma: float, hs, wanted):
    """:func:`divergence_reference` of each padded tile, stacked (T, K, C, *S).

    ``f`` and ``r`` are tuples of radii per axis; the (h, channel) pairs not
    ``wanted`` are NaN, as in the kernel.
    """
    pairs = [divergence_reference(w, f, r, sigma, hs) for w in windows]
    est, div = np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])
    est[:, ~wanted], div[:, ~wanted] = np.nan, np.nan
    return est, div


def applies(candidates, ndim: int) -> bool:
    """Whether :func:`exact_sweeps` scores ``candidates`` (pixelwise, 2 or 3 spatial axes)."""
    return ndim in (2, 3) and all(m == "pixel" for m, _, _, _ in candidates)


def wanted_pairs(hs, channels: int, groups=None) -> np.ndarray:
    """(K, C) bool: which (strength, channel) pairs a sweep needs.

    All of them, or with ``groups = (luminance_hs, chroma_hs)`` for 3-channel
    luminance–chrominance planes, channel 0 at the luminance strengths and
    channels 1 and 2 at the chrominance ones.
    """
    if groups is None:
        return np.ones((len(hs), channels), bool)
    luminance, chroma = ({float(h) for h in group} for group in groups)
    wanted = np.zeros((len(hs), channels), bool)
    for k, h in enumerate(hs):
        wanted[k, 0] = float(h) in luminance
        wanted[k, 1:] = float(h) in chroma
    return wanted


def exact_sweeps(
    planes: np.ndarray,
    sigma: float,
    candidates,
    tiles,
    *,
    keep: bool = False,
    oracle: bool = False,
    groups=None,
):
    """One :class:`Sweep` per ``("pixel", f, r, hs)`` of ``candidates``, exact divergence.

    ``planes`` is a (C, *S) float stack, S two or three axes; ``tiles``
    equal-sized ``(origin, size)`` blocks (:func:`~.scores.sample_blocks`);
    radii one int or one per axis. The fields
    are those of the Monte-Carlo sweep (:func:`~.scores.sweep_tiles`) with
    the divergence Σ_p ∂û_c(p)/∂u_c(p) in place of its estimate. Computed by
    the Numba CPU kernel, or by :func:`divergence_reference` when ``oracle``.
    ``groups``, optional: per candidate, the ``(luminance_hs, chroma_hs)`` of
    luminance–chrominance planes (:func:`wanted_pairs`); the other
    (h, channel) pairs are not computed and their fields are NaN.
    """
    if oracle:
        sure_tiles = _reference_tiles
    else:
        from ..backends.cpu._sure_pixel import sure_tiles

    planes = np.asarray(planes, dtype=np.float32)
    channels = planes.shape[0]
    ndim = planes.ndim - 1
    spatial = tuple(range(3, ndim + 3))
    count = sum(math.prod(size) for _, size in tiles)
    for method, _, _, _ in candidates:
        if method != "pixel":
            raise ValueError(f"exact divergence is for method 'pixel', not {method!r}")
    # One reflect padding for every candidate, by the largest r + f on each axis.
    pads = [tuple(rk + fk for rk, fk in zip(radii(r, ndim), radii(f, ndim), strict=True))
            for _, f, r, _ in candidates]  # fmt: skip
    outer = tuple(max(axis) for axis in zip(*pads, strict=True))
    padded = pad_reflect(planes, outer)
    noisy = np.stack([planes[block_index(origin, size)] for origin, size in tiles])
    sweeps = []
    for index, ((_, f, r, hs), pad) in enumerate(zip(candidates, pads, strict=True)):
        # Each tile with its candidate's r + f around it, cut from the padded image.
        windows = np.stack(
            [padded[window_index(outer, origin, size, pad)] for origin, size in tiles]
        )
        hs = tuple(float(h) for h in hs)
        wanted = wanted_pairs(hs, channels, None if groups is None else groups[index])
        est, div = sure_tiles(windows, radii(f, ndim), radii(r, ndim), sigma, hs, wanted)
        # (T, K, C, *S) → per h and channel: ‖D(u) − u‖² and Σ div.
        residual = ((est.astype(np.float64) - noisy[:, None]) ** 2).sum(axis=(0, *spatial))
        tile_divergence = div.astype(np.float64).sum(axis=spatial).transpose(1, 2, 0)
        estimates = None
        if keep:
            estimates = np.moveaxis(est, 0, 2).reshape(len(hs), channels, count)
        sweeps.append(
            Sweep("pixel", f, r, hs, residual, tile_divergence.sum(axis=2), tile_divergence,
                  count, estimates, exact=True)
        )  # fmt: skip
    return sweeps
