"""The NumPy oracle of NL-Bayes: a literal, slow float64 transcription, any dimension.

Non-Local Bayes (Lebrun, Buades & Morel 2013) groups each reference patch with
its most similar patches in a search window, models the group as a Gaussian
vector and replaces every patch of the group by its MAP (Wiener) estimate.
Two steps; the second regroups on the first's result and takes its mean and
covariance from it. Every fast backend is tested against this module.

Notation. ``u`` the noisy planes (C channels, D spatial axes; a 3-channel
image is first turned into its orthonormal opponent planes, where the noise
keeps its σ, and back at the end). A patch is named by its centre p; P(p) is
the vector of its values over the box B(p, f) (d1 = Π(2f_k+1) values per
channel). σ is the noise standard deviation; h the strength, whose square is
the noise variance the Wiener filters subtract (the paper's β σ², default h = σ).

Grouping. The candidates of a reference p are the patch centres q within its
search box B(p, r) whose patches lie inside the padded block. Their distance
is ``δ(p, q) = Σ_c Σ_{j ∈ B(0,f)} (v_c(p+j) − v_c(q+j))²`` over the grouping
channels (step 1: v = u, the luminance of a colour image, all channels
otherwise; step 2: v = the basic estimate, all channels), rounded to a
multiple of QUANTUM·h² (:mod:`~nlmeans.backends._bayes_rules`). The group is the
n candidates with the smallest (rounded δ, linear index of q) — a stable order,
so ties go to the earlier position. n = n1 or n2 of
:func:`~nlmeans.backends._bayes_rules.group_sizes`, at most the candidates.

Step 1 (per channel c, Z the n × d1 matrix of the noisy patches of the group):

    flat test:  s² = mean((Z − mean(Z))²) ≤ γ₁ σ²  ⇒  every P̂ = mean(Z)
    otherwise:  m = mean of the rows, C = (Z − m)ᵀ(Z − m) / (n − 1),
                P̂_i = m + (C − h² I) C⁻¹ (Z_i − m) = Z_i − h² (C + ε I)⁻¹ (Z_i − m)

with ε = RIDGE · h² + FLOOR · tr(C)/d1 a numerical guard; γ₁ = GAMMA_STEP1, γ₂ = GAMMA_STEP2
(:mod:`~nlmeans.backends._bayes_rules`, where the measurement that set γ₁ is).

Step 2 (Z the n × C·d1 noisy vectors over all channels, B the basic ones):

    flat test:  mean over c of mean((Z_c − mean(Z_c))²) ≤ γ₂ σ²  ⇒  P̂_c = mean(B_c)
    otherwise:  m = mean of the rows of B, C_B = (B − m)ᵀ(B − m) / (n − 1),
                P̂_i = m + C_B (C_B + h² I)⁻¹ (Z_i − m) = Z_i − h² (C_B + h² I)⁻¹ (Z_i − m)

where the inverted C_B + h² I also gets FLOOR · tr(C_B)/d on its diagonal (the guard
that keeps tiny strengths finite, :data:`~nlmeans.backends._bayes_rules.FLOOR`).

Aggregation (both steps): every pixel is the plain mean of the estimates of
all the group members' patches that cover it (uniform weights).

Visiting order, the skip rule and the zones of references: see
:mod:`~nlmeans.backends._bayes_rules`. A reference that already belongs to a
group formed earlier in its tile is skipped, and so is a neighbour (±1 on one
axis; in a volume, its 3×3×3 box and ±2 along each axis) of such a member (the paste boost,
:data:`~nlmeans.backends._bayes_rules.BOOST`, :func:`~nlmeans.backends._bayes_rules.boost_offsets`).

Signature (the backends' contract)::

    bayes(padded, f, r, sigma, hs, *, patch_kernel="uniform") -> float32 (K, C, *S)

``padded`` is reflect-padded by :func:`~nlmeans.backends._bayes_rules.padding_rule`
on every axis; one estimate per h. The patch kernel is the uniform one.

References
----------
M. Lebrun, A. Buades, J.-M. Morel, "A Nonlocal Bayesian Image Denoising
Algorithm", SIAM J. Imaging Sciences 6(3):1665–1688, 2013.
M. Lebrun, A. Buades, J.-M. Morel, "Implementation of the 'Non-Local Bayes'
(NL-Bayes) Image Denoising Algorithm", Image Processing On Line 3 (2013).
"""

from __future__ import annotations

import itertools

import numpy as np

from .._color import OPPONENT
from ._bayes_rules import (
    BOOST,
    FLOOR,
    GAMMA_STEP1,
    GAMMA_STEP2,
    QUANTUM,
    RIDGE,
    TILE,
    boost_offsets,
    group_sizes,
    grouping_channels,
    padding_rule,
    zones,
)

__all__ = ["bayes"]


def bayes(padded, f, r, sigma, hs, *, patch_kernel="uniform") -> np.ndarray:
    """NL-Bayes estimates of the interior of ``padded``, one per strength h.

    Parameters
    ----------
    padded : ndarray
        (C, S_1 + 2 p_1, …, S_D + 2 p_D), p_k = padding_rule(f_k, r_k).
    f, r : sequence of int
        Patch and search radii per spatial axis.
    sigma : float
        Noise standard deviation (raw units): the flat-area test.
    hs : sequence of float
        Strengths h > 0: h² is the noise variance the Wiener filters subtract.
    patch_kernel : {"uniform"}
        Only the uniform patch is defined for NL-Bayes.

    Returns
    -------
    ndarray, float32, shape (K, C, S_1, …, S_D)

    References
    ----------
    Lebrun, Buades & Morel, SIAM J. Imaging Sciences 6(3), 2013; IPOL 3, 2013.
    """
    if patch_kernel != "uniform":
        raise ValueError("NL-Bayes compares patches with the uniform kernel only")
    u = np.asarray(padded, dtype=np.float64)
    f = tuple(int(v) for v in f)
    r = tuple(int(v) for v in r)
    n_channels = u.shape[0]
    pad = tuple(padding_rule(fk, rk) for fk, rk in zip(f, r, strict=True))
    inner = zip(pad, u.shape[1:], strict=True)
    interior = (slice(None),) + tuple(slice(p, n - p) for p, n in inner)
    colour = n_channels == 3
    if colour:
        u = np.tensordot(OPPONENT.astype(np.float64), u, axes=1)
    zone1, zone2 = zones(u.shape[1:], pad, f, r)
    n1, n2 = group_sizes(f, n_channels)
    out = []
    for h in hs:
        basic = _step(u, u, f, r, zone1, n1, float(sigma), float(h), first=True)
        final = _step(u, basic, f, r, zone2, n2, float(sigma), float(h), first=False)[interior]
        if colour:
            final = np.tensordot(OPPONENT.T.astype(np.float64), final, axes=1)
        out.append(final)
    return np.stack(out).astype(np.float32)


def _box(radius):
    """Offsets of the box B(0, radius), raster order (increasing linear index)."""
    return list(itertools.product(*(range(-k, k + 1) for k in radius)))


def _patch(v, p, f):
    """(C, d1) values of the patch centred at p."""
    box = tuple(slice(pk - fk, pk + fk + 1) for pk, fk in zip(p, f, strict=True))
    return v[(slice(None), *box)].reshape(v.shape[0], -1)


def _step(u, guide, f, r, zone, n_group, sigma, h, *, first, boost=BOOST):
    """One NL-Bayes step over the references of ``zone``: the aggregated estimate.

    ``guide`` is the image the groups are formed on (u for step 1, the basic
    estimate for step 2). Pixels no group reaches keep the value of ``guide``.
    """
    n_channels = u.shape[0]
    shape = u.shape[1:]
    channels = list(grouping_channels(n_channels)) if first else list(range(n_channels))
    total = np.zeros(u.shape)
    count = np.zeros(shape)
    window = _box(r)
    neighbours = boost_offsets(len(shape)) if boost else ()
    rest = [range(lo, hi) for lo, hi in zone[1:]]
    for tile_start in range(zone[0][0], zone[0][1], TILE):
        rows = range(tile_start, min(tile_start + TILE, zone[0][1]))
        taken = set()  # group members formed in this tile
        for p in itertools.product(rows, *rest):
            if p in taken:
                continue  # the skip rule: already estimated in this tile
            ref = _patch(guide, p, f)[channels]
            candidates, distances = [], []
            for t in window:  # raster order: increasing linear index of q
                q = tuple(pk + tk for pk, tk in zip(p, t, strict=True))
                if all(fk <= qk < s - fk for qk, fk, s in zip(q, f, shape, strict=True)):
                    candidates.append(q)
                    distances.append(np.sum((_patch(guide, q, f)[channels] - ref) ** 2))
            quantum = QUANTUM * h * h
            ranks = np.floor(np.asarray(distances) / quantum + 0.5)
            order = np.argsort(ranks, kind="stable")
            group = [candidates[i] for i in order[: min(n_group, len(candidates))]]
            noisy = np.stack([_patch(u, q, f) for q in group])  # (n, C, d1)
            if first:
                estimate = np.stack(
                    [_step1_channel(noisy[:, c], sigma, h) for c in range(n_channels)], axis=1
                )
            else:
                basic = np.stack([_patch(guide, q, f) for q in group])
                estimate = _step2_group(noisy, basic, sigma, h)
            for q, patch in zip(group, estimate, strict=True):
                box = tuple(slice(qk - fk, qk + fk + 1) for qk, fk in zip(q, f, strict=True))
                total[(slice(None),) + box] += patch.reshape((n_channels,) + count[box].shape)
                count[box] += 1.0
                for t in neighbours:  # the paste boost: the neighbours are skipped too
                    near = tuple(qk + tk for qk, tk in zip(q, t, strict=True))
                    inside = all(0 <= nk < s for nk, s in zip(near, shape, strict=True))
                    if inside and tile_start <= near[0] < tile_start + TILE:
                        taken.add(near)
                if tile_start <= q[0] < tile_start + TILE:
                    taken.add(q)
    reached = count > 0
    result = guide.copy()
    result[:, reached] = total[:, reached] / count[reached]
    return result


def _step1_channel(z, sigma, h, gamma=GAMMA_STEP1):
    """Step-1 estimates (n, d1) of one channel's noisy group z (n, d1)."""
    mean_all = z.mean()
    if np.mean((z - mean_all) ** 2) <= gamma * sigma * sigma:
        return np.full(z.shape, mean_all)  # flat area: the group's mean
    m = z.mean(axis=0)
    centred = z - m
    cov = centred.T @ centred / (len(z) - 1)
    guard = RIDGE * h * h + FLOOR * np.trace(cov) / cov.shape[0]
    a = cov + guard * np.eye(cov.shape[0])
    # P̂_i = Z_i − h² (C + εI)⁻¹ (Z_i − m)
    return z - h * h * np.linalg.solve(a, centred.T).T


def _step2_group(noisy, basic, sigma, h, gamma=GAMMA_STEP2):
    """Step-2 estimates (n, C, d1) from the noisy and basic groups (n, C, d1)."""
    n, n_channels, d1 = noisy.shape
    spread = noisy - noisy.mean(axis=(0, 2), keepdims=True)
    if np.mean(spread**2) <= gamma * sigma * sigma:
        # flat area: each channel's mean of the basic group
        return np.broadcast_to(basic.mean(axis=(0, 2), keepdims=True), noisy.shape).copy()
    z = noisy.reshape(n, -1)
    b = basic.reshape(n, -1)
    m = b.mean(axis=0)
    centred = b - m
    cov = centred.T @ centred / (n - 1)
    a = cov + (h * h + FLOOR * np.trace(cov) / cov.shape[0]) * np.eye(cov.shape[0])
    # P̂_i = m + C_B (C_B + h² I)⁻¹ (Z_i − m) = Z_i − h² (C_B + h² I)⁻¹ (Z_i − m)
    return (z - h * h * np.linalg.solve(a, (z - m).T).T).reshape(noisy.shape)
