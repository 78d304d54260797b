"""SURE-weighted linear combinations of NLM estimates (in the spirit of SURE-LET).

Blu & Luisier ("The SURE-LET approach to image denoising", IEEE TIP 2007)
build a denoiser as a linear combination Σ a_i D_i(u) of elementary
estimates and choose the weights by minimising SURE. SURE of a linear
combination is the same quadratic form in the weights for any D_i:

    SURE(a) = ‖Σ a_i D_i(u) − u‖²/n − σ² + 2σ² Σ a_i div D_i(u) / n,

because the divergence is linear, div Σ a_i D_i = Σ a_i div D_i. With X the
matrix whose rows are the estimates (on the SURE tiles) and d their
divergences, its minimiser solves the small linear system

    (X Xᵀ + λ I) a = X u − σ² d + λ a*,

where the light ridge λ (relative to the trace of X Xᵀ, the estimates being
nearly collinear) pulls towards a*, the SURE-best single estimate. Here the
D_i are NLM estimates differing in h (one sweep per (method, f, r) computes
several h at once) and in method and patch size, plus the noisy image itself
(D = identity, divergence exactly n). A 3-channel image is combined in
luminance–chrominance planes (:mod:`nlmeans._color`), with weights of its own
for luminance and for chrominance.
"""

from __future__ import annotations

import numpy as np

from .._arrays import pad_reflect
from .._color import from_opponent, to_opponent
from .._interrupts import interruptible
from ..backends import Backend, padding
from ..errors import NLMeansError
from ..params import NOISY, Component, Params, check_components, radii

#: Ridge λ of the weight fit, relative to the mean diagonal of X Xᵀ.
RIDGE = 1e-6


def fit_weights(
    estimates: np.ndarray,
    noisy: np.ndarray,
    divergences: np.ndarray,
    sigma: float,
    anchor: int,
    ridge: float = RIDGE,
) -> tuple[np.ndarray, float]:
    """Weights minimising SURE of Σ a_i estimates[i], and that SURE (per pixel).

    ``estimates`` is (m, N) (the noisy image may be one of its rows, with
    divergence N), ``noisy`` (N,), ``divergences`` (m,) the Monte-Carlo
    divergences; ``anchor`` the row the ridge pulls towards (weight 1).

    Parameters
    ----------
    estimates : ndarray, shape (m, N)
        The terms.
    noisy : ndarray, shape (N,)
        The noisy pixels.
    divergences : ndarray, shape (m,)
        Each term's divergence.
    sigma : float
        Noise standard deviation.
    anchor : int
        The row the ridge pulls towards.
    ridge : float
        The ridge's strength.

    Returns
    -------
    weights : ndarray, shape (m,)
    sure : float
        SURE of the combination, per pixel.
    """
    n = noisy.size
    gram = estimates @ estimates.T
    target = estimates @ noisy - sigma**2 * divergences
    lam = ridge * float(np.trace(gram)) / len(gram)
    prior = np.zeros(len(gram))
    prior[anchor] = 1.0
    weights = np.linalg.solve(gram + lam * np.eye(len(gram)), target + lam * prior)
    # SURE(a) = (aᵀGa − 2aᵀXu + ‖u‖² − nσ² + 2σ² aᵀd) / n.
    residual = weights @ gram @ weights - 2 * weights @ (estimates @ noisy) + noisy @ noisy
    sure = (residual - n * sigma**2 + 2 * sigma**2 * weights @ divergences) / n
    return weights, float(sure)


def channel_groups(opponent: bool, channels: int) -> list[list[int]]:
    """Group the channels sharing one set of weights: luminance and chrominance, or all."""
    return [[0], [1, 2]] if opponent else [list(range(channels))]


def fit_combination(sweeps, tile_u: np.ndarray, sigma: float, opponent: bool, best: tuple):
    """Fit the SURE-best combination of every estimate kept in ``sweeps`` and the noisy image.

    ``tile_u`` is the (C, n) noisy tile pixels the sweeps' estimates cover;
    ``best`` the (method, f, r, h) of the SURE-best single estimate per
    channel group (one per group), the ridge's anchor. Returns the
    :class:`Component` tuple and its SURE (mean over channels, per pixel).

    Parameters
    ----------
    sweeps : list of Sweep
        Swept candidates, their estimates kept.
    tile_u : ndarray, shape (C, n)
        The noisy pixels of the tiles.
    sigma : float
        Noise standard deviation.
    opponent : bool
        Whether the planes are luminance–chrominance (weights per group).
    best : tuple
        The anchors, one per channel group.
    """
    terms = [(NOISY, 0, 0, 0.0)] + [(s.method, s.f, s.r, h) for s in sweeps for h in s.hs]
    weights, total = [], 0.0
    for group, anchor_key in zip(channel_groups(opponent, tile_u.shape[0]), best, strict=True):
        rows = [tile_u[group].ravel()]
        divergence = [float(tile_u[group].size)]
        used = [0]  # the terms this group has (an exact sweep leaves others NaN)
        index = 1
        for sweep in sweeps:
            for k in range(len(sweep.hs)):
                if np.isfinite(sweep.divergence[k, group]).all():
                    rows.append(sweep.estimates[k, group].astype(np.float64).ravel())
                    divergence.append(float(sweep.divergence[k, group].sum()))
                    used.append(index)
                index += 1
        anchor = used.index(terms.index(anchor_key))
        a, sure = fit_weights(np.asarray(rows), rows[0], np.asarray(divergence), sigma, anchor)
        full = np.zeros(len(terms))
        full[used] = a
        weights.append(full)
        total += sure * len(group)
    components = tuple(
        Component(*term, float(weights[0][i]), float(weights[1][i]) if opponent else None)
        for i, term in enumerate(terms)
    )
    return components, total / tile_u.shape[0]


def combined_estimate(backend: Backend, planes: np.ndarray, params: Params) -> np.ndarray:
    """float32 (C, H, W): Σ a_i D_i(u) (+ a_0 u) of ``params.components`` on ``backend``.

    One run of each (method, f, r) with all its strengths; in
    luminance–chrominance planes when the components carry chroma weights.

    Parameters
    ----------
    backend : Backend
        Where the components are computed.
    planes : ndarray
        The noisy image, channels first.
    params : Params
        A combined record (``params.components``).

    Returns
    -------
    ndarray, float32
        The combination, shaped as ``planes``.
    """
    components = check_components(params.components, planes.shape[0])
    missing = {c.method for c in components} - {NOISY, *backend.methods}
    if missing:
        raise NLMeansError(
            f"backend={backend.name!r} does not compute method {', '.join(sorted(missing))}, "
            f"which this combination uses"
        )
    opponent = components[0].weight_chroma is not None
    work = to_opponent(planes) if opponent else planes.astype(np.float32)
    out = np.zeros(work.shape, np.float32)

    def add(term: Component, estimate: np.ndarray) -> None:
        if opponent:
            out[0] += np.float32(term.weight) * estimate[0]
            out[1:] += np.float32(term.weight_chroma) * estimate[1:]
        else:
            out[...] += np.float32(term.weight) * estimate

    groups: dict[tuple, list[Component]] = {}
    for term in components:
        if term.method == NOISY:
            add(term, work)
        else:
            groups.setdefault((term.method, term.f, term.r), []).append(term)
    for (method, f, r), terms in groups.items():
        fs, rs = radii(f, work.ndim - 1), radii(r, work.ndim - 1)
        padded = pad_reflect(work, padding(method, fs, rs))
        hs = sorted({t.h for t in terms})
        estimates = interruptible(backend.methods[method])(padded, fs, rs, params.sigma, hs)
        del padded
        for term in terms:
            add(term, estimates[hs.index(term.h)])
    return from_opponent(out) if opponent else out
