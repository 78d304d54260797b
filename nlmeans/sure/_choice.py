"""SURE's choice between the tuned NLM result and NL-Bayes (``method="auto"``).

NL-Bayes (Lebrun, Buades & Morel 2013) replaces each patch of a group by its
Wiener estimate: not a weighted mean, so its divergence has no closed form. Its
SURE takes the Monte-Carlo divergence of Ramani, Blu & Unser (IEEE TIP 2008),

    div D(u) ≈ bᵀ (D(u + εb) − D(u)) / ε,

with one more NL-Bayes run on the perturbed image per probe (a small image or
few tiles average a few probes: :data:`PROBE_PIXELS`). The probe b is ±1 with equal
odds (Hutchinson's estimator of a trace: among probes with independent entries
of mean 0 and variance 1 it has the least variance, the diagonal of the
Jacobian adding none), and ε = :data:`BAYES_EPSILON_RATIO` · σ (a tenth of σ).

The estimate is taken on the very pixels (the fine pass's tiles), with the same
σ and in the same units (mean squared error per pixel and channel, raw units
squared) as the NLM candidates' SURE, so that the two are compared pair-wise:
the noise's own share ‖n‖²/n − σ², common to both, cancels. NL-Bayes runs on
the whole image (its reach of 4(r + f) + 14 pixels would make tiles with their
surroundings cover most of it anyway). NL-Bayes is chosen when its SURE is the
lower; it is tried at its presets only (its strength h = σ measured best, 0.9σ and
1.1σ both lower in docs/nl-bayes.md's loop), as each strength costs two runs more.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import replace

import numpy as np

from .._arrays import pad_reflect
from .._interrupts import interruptible
from ..backends import Backend, padding
from ..errors import NLMeansError
from ..params import AUTO, BAYES, Params, radii, resolve, validate
from ._scores import PROBE_KEY, Sweep, block_index

#: The Monte-Carlo step ε of NL-Bayes' divergence, relative to σ. NL-Bayes forms its
#: groups by ranking patch distances, so it jumps where a ranking changes: a small ε
#: meets those jumps rarely and then weighs them by 1/ε (a heavy-tailed estimate), a
#: large one leaves the linear range. Measured on 64² synthetic scenes at σ = 10 (one
#: noise draw, eight probes): the spread of SURE over the probes was 3.2, 1.7, 1.0 and
#: 0.9 (ramp, MSE 3.3) and 5.0, 4.3, 1.5 and 1.5 (squares, MSE 6.0) for ε = 0.02, 0.05,
#: 0.1 and 0.2 σ; at 0.2 σ the mean over the probes rose by 2.2 on a grating (MSE
#: 17.5) against 0.5 at 0.1 σ, and on 128² crops over six noise draws 0.2 σ put SURE
#: 7 % above the MSE on grass at σ = 30.
BAYES_EPSILON_RATIO = 0.1

#: Probes averaged: enough that probes × tile pixels reach PROBE_PIXELS, at most
#: MAX_PROBES (one NL-Bayes run each). The probe's spread falls as one over the root
#: of that product: on the 64² scenes at σ = 30 its standard deviation was 6–12 (MSE
#: 18–83) with one probe, 8 % to 50 % of the MSE.
PROBE_PIXELS = 64 * 1024
MAX_PROBES = 4


def bayes_methods(method, methods, given: dict, ndim: int):
    """Split NL-Bayes out of :func:`nlmeans.tune`'s ``method`` and ``methods``.

    ``method="auto"`` (or ``"bayes"`` among ``methods``) asks SURE to choose
    between the NLM search and NL-Bayes at its presets.

    Parameters
    ----------
    method : str or None
        ``tune``'s ``method``.
    methods : sequence of str or None
        ``tune``'s ``methods``.
    given : dict
        The caller's ``h``, ``f``, ``r`` and ``h_chroma`` (None where unset):
        ``method="auto"`` chooses them all, so none may be given.
    ndim : int
        Spatial axes of the image.

    Returns
    -------
    (method, methods, with_bayes)
        ``method`` and ``methods`` for the NLM search (None for their defaults),
        and whether NL-Bayes is a candidate.
    """
    with_bayes = method == AUTO or (methods is not None and BAYES in methods)
    if with_bayes:
        validate(method=AUTO, **given)  # refuses any of them given
    if method == AUTO:
        method = None
    elif with_bayes and method is not None:
        raise NLMeansError(
            f"methods= names 'bayes', which the search over methods takes, not method={method!r}"
        )
    if with_bayes and ndim != 2:
        raise NLMeansError(
            "SURE chooses between NLM and NL-Bayes on 2-D images only; give method='bayes' "
            "or tune=True for this image"
        )
    if methods is not None:
        methods = [m for m in methods if m != BAYES]
    return method, methods, with_bayes


def rademacher_probe(shape, seed: int, index: int = 0) -> np.ndarray:
    """Draw the float32 ±1 probe b number ``index`` of NL-Bayes' Monte-Carlo divergence."""
    rng = np.random.default_rng((PROBE_KEY, seed, 1, index))
    return (2.0 * rng.integers(0, 2, size=shape) - 1.0).astype(np.float32)


def bayes_sweep(planes: np.ndarray, sigma: float, params: Params, tiles, *, seed: int,
                backend: Backend, probes: int | None = None) -> Sweep:  # fmt: skip
    """Take the Monte-Carlo SURE terms of NL-Bayes with ``params`` on ``tiles`` of ``planes``.

    Parameters
    ----------
    planes : ndarray, shape (C, H, W)
        The noisy image, channels first (RGB for a colour image: NL-Bayes turns it
        into its own luminance–chrominance planes).
    sigma : float
        Noise standard deviation, raw units.
    params : Params
        NL-Bayes' f, r and h.
    tiles : list of (origin, size)
        Where SURE is taken (the NLM candidates' tiles).
    seed : int
        Seed of the probe b.
    backend : Backend
        Where NL-Bayes runs.
    probes : int, optional
        Probes averaged (one NL-Bayes run each); by default enough for
        :data:`PROBE_PIXELS` tile pixels, at most :data:`MAX_PROBES`.

    Returns
    -------
    Sweep
        One strength; ``residual`` ‖D(u) − u‖² and ``divergence``
        bᵀ(D(u + εb) − D(u)) / ε per channel, summed over the tiles.

    References
    ----------
    S. Ramani, T. Blu, M. Unser, "Monte-Carlo SURE: a black-box optimization of
    regularization parameters for general denoising algorithms", IEEE TIP 17(9), 2008.
    M. F. Hutchinson, "A stochastic estimator of the trace of the influence matrix
    for Laplacian smoothing splines", Comm. Statist. Simulation Comput. 18(3), 1989.
    """
    planes = np.asarray(planes, dtype=np.float32)
    ndim = planes.ndim - 1
    fs, rs = radii(params.f, ndim), radii(params.r, ndim)
    pad = padding(BAYES, fs, rs)
    compute = interruptible(backend.methods[BAYES])
    epsilon = BAYES_EPSILON_RATIO * sigma if sigma > 0 else 1e-3 * float(np.std(planes) or 1.0)
    base = compute(pad_reflect(planes, pad), fs, rs, sigma, (params.h,))[0]
    count = sum(math.prod(size) for _, size in tiles)
    probes = probes if probes is not None else min(MAX_PROBES, -(-PROBE_PIXELS // count))
    channels = planes.shape[0]
    residual = np.zeros((1, channels))
    tile_divergence = np.zeros((1, channels, len(tiles)))
    spatial = tuple(range(1, ndim + 1))
    indices = [block_index(origin, size) for origin, size in tiles]
    for index in indices:  # ‖D(u) − u‖² on the tile, per channel
        residual[0] += ((base[index].astype(np.float64) - planes[index]) ** 2).sum(axis=spatial)
    for k in range(probes):
        probe = rademacher_probe(planes.shape, seed, k)
        moved = compute(pad_reflect(planes + np.float32(epsilon) * probe, pad), fs, rs, sigma,
                        (params.h,))[0]  # fmt: skip
        # bᵀ(D(u + εb) − D(u)) / ε on each tile, per channel, the mean over the probes.
        for t, index in enumerate(indices):
            change = moved[index].astype(np.float64) - base[index]
            tile_divergence[0, :, t] += (probe[index] * change).sum(axis=spatial) / (
                epsilon * probes
            )
    return Sweep(BAYES, params.f, params.r, (params.h,), residual, tile_divergence.sum(axis=2),
                 tile_divergence, count)  # fmt: skip


def choose_bayes(planes, params: Params, nlm_sure: float, tiles, *, data_range: float,
                 seed: int, backend: Backend, scores: list, sigma_floor: float):  # fmt: skip
    """``params`` (the NLM search's choice, SURE ``nlm_sure``) or NL-Bayes, whichever SURE prefers.

    NL-Bayes takes its presets for ``params.sigma``; its :class:`~._scores.Candidate`
    is appended to ``scores``.

    Parameters
    ----------
    planes : ndarray, shape (C, H, W)
        The noisy image, channels first (RGB).
    params : Params
        The NLM search's choice.
    nlm_sure : float
        Its SURE on ``tiles``, mean over the channels.
    tiles : list of (origin, size)
        The tiles ``nlm_sure`` was taken on.
    data_range : float
        The raw value of 255 on the presets' 8-bit scale.
    seed : int
        Seed of the probe.
    backend : Backend
        Where NL-Bayes runs.
    scores : list of Candidate
        The search's scores, extended in place.
    sigma_floor : float
        The presets' σ floor for the image (:func:`nlmeans.params.sigma_floor`).

    Returns
    -------
    Params
        The choice (``params`` where ``backend`` does not compute NL-Bayes, with a
        UserWarning).
    """
    if BAYES not in backend.methods:
        warnings.warn(
            f"tune: backend={backend.name!r} does not compute method 'bayes'; "
            "keeping the NLM search's choice",
            UserWarning,
            stacklevel=3,
        )
        return params
    bayes = resolve(planes.shape[0], sigma=params.sigma, data_range=data_range, method=BAYES,
                    ndim=planes.ndim - 1, sigma_floor=sigma_floor)  # fmt: skip
    bayes = replace(bayes, sigma_estimated=params.sigma_estimated)
    candidate = bayes_sweep(planes, params.sigma, bayes, tiles, seed=seed, backend=backend)
    candidate = candidate.candidates(params.sigma)[0]
    scores.append(candidate)
    return bayes if candidate.sure < nlm_sure else params
