"""Parameters chosen by SURE, Stein's unbiased risk estimate, without a clean image.

For Gaussian noise of standard deviation σ, u = u₀ + n, and a denoiser D,

    SURE(D) = ‖D(u) − u‖² / n − σ² + 2σ² div D(u) / n

is an unbiased estimate of the mean squared error ‖D(u) − u₀‖² / n (Stein
1981; applied to non-local means by Van De Ville & Kocher, "SURE-based
non-local means", IEEE SPL 2009). The divergence is estimated by the
Monte-Carlo formula of Ramani, Blu & Unser (IEEE TIP 2008): with b a standard
normal vector and a small ε,

    div D(u) ≈ bᵀ (D(u + εb) − D(u)) / ε,

which needs one more run of the denoiser and works for both methods. To keep
the cost of tuning to a few denoising runs:

- every candidate h of one (method, f, r) is computed in the same pass over
  the shifts (a backend method takes several h at once), the patch distances
  being shared;
- SURE is evaluated on evenly spread tiles covering a fraction of the image
  (each tile denoised with its true surroundings, so its pixels get exactly
  the values the full image would), which is unbiased for the tiles' MSE.

The MSE and SURE are sums over channels, so each channel's share can be
minimised on its own. A 3-channel image is tuned in the orthonormal
luminance–chrominance planes of :mod:`nlmeans.color` (the noise there is
still white with the same σ): luminance and chrominance each get the h of
least SURE, ``Params.h`` and ``Params.h_chroma``.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from nlmeans.arrays import check_image, to_channels_first
from nlmeans.backends import Backend, padding, select
from nlmeans.color import to_opponent
from nlmeans.errors import NLMeansError
from nlmeans.noise import estimate_sigma
from nlmeans.params import (
    MAX_SEARCH_RADIUS,
    METHODS,
    MIN_PRESET_SIGMA_8BIT,
    Params,
    check_finite_number,
    check_h_chroma,
    check_radius,
    image_data_range,
    resolve,
)

#: Candidate h / σ: the centre ratio of :func:`centre_ratio` times these steps.
H_STEPS = (0.8, 0.92, 1.06, 1.22, 1.4)

#: The same for a 3-channel image's luminance–chrominance planes, where each
#: group picks from all of them: SURE's (and the true MSE's) best luminance h
#: was 0.7–1.05 times the centre on astronaut (σ = 5 … 50), chrominance 1.75–2.5 times.
COLOR_H_STEPS = (0.65, 0.75, 0.87, 1.0, 1.15, 1.5, 1.75, 2.05, 2.4, 2.8)

#: Candidate patch radii, as offsets from the preset f.
F_OFFSETS = (0,)

#: Candidate search radii. A 17×17 window was within 0.03 dB of the best of
#: r ∈ {4, 6, 8, preset} on every image and σ of the evaluation set, and up to
#: 0.3 dB above the presets' r = 17 at high σ (a larger window finds more
#: dissimilar candidates); it is also 1.5 to 4 times cheaper.
SEARCH_RADII = (8,)

#: Side of the square tiles SURE is evaluated on.
TILE = 64

#: Fraction of the image covered by the tiles, and the least number of pixels
#: they cover; below twice that the whole image is used.
SAMPLE_FRACTION = 0.2
MIN_SAMPLE_PIXELS = 48 * 1024

#: Monte-Carlo divergence step ε, relative to σ.
EPSILON_RATIO = 0.01

#: Mixed into the probe's seed, so that the probe b is never the very stream a
#: caller drew the noise from with ``default_rng(seed)`` (b = n/σ would bias SURE).
PROBE_KEY = 0x5E4E


@dataclass(frozen=True)
class Candidate:
    """One candidate parameter set and its SURE estimate of the MSE (raw units squared)."""

    method: str
    f: int
    r: int
    h: float
    sure: float
    channel_sure: tuple[float, ...] = ()


def best_per_group(scores, luminance_hs=None, chroma_hs=None):
    """The SURE-best ``(method, f, r, h, h_chroma, sure)`` of luminance–chrominance scores.

    ``scores`` are :class:`Candidate` of 3-channel opponent planes; per (method,
    f, r), channel 0 takes the h of least SURE among ``luminance_hs`` and
    channels 1 and 2 together the h of least SURE among ``chroma_hs`` (None:
    every h scored); ``sure`` is their channel mean.
    """
    groups: dict[tuple, list[Candidate]] = {}
    for score in scores:
        groups.setdefault((score.method, score.f, score.r), []).append(score)
    choices = []
    for (method, f, r), group in groups.items():
        luma = min(
            (c for c in group if luminance_hs is None or c.h in luminance_hs),
            key=lambda c: c.channel_sure[0],
        )
        chroma = min(
            (c for c in group if chroma_hs is None or c.h in chroma_hs),
            key=lambda c: c.channel_sure[1] + c.channel_sure[2],
        )
        total = (luma.channel_sure[0] + chroma.channel_sure[1] + chroma.channel_sure[2]) / 3
        choices.append((method, f, r, luma.h, chroma.h, total))
    return min(choices, key=lambda choice: choice[-1])


def centre_ratio(sigma_8bit: float) -> float:
    """Centre of the candidate h / σ grid for noise ``sigma_8bit`` (8-bit scale).

    SURE's best h / σ falls as σ grows (the presets' patches grow with σ): with
    the presets' windows it was about 0.85 at σ = 5, 0.65 at σ = 20 and 0.45 at
    σ = 50 on the evaluation set (benchmarks/quality.py), and about 6% more with r = 8.
    The line 0.88 − 0.12·log2(σ/5), clipped to [0.35, 1], follows it; the grid
    ``H_STEPS`` (0.8× to 1.4× of it) leaves SURE the choice.
    """
    ratio = 0.88 - 0.12 * math.log2(max(sigma_8bit, 1.0) / 5.0)
    return min(max(ratio, 0.35), 1.0)


def sample_tiles(height: int, width: int, fraction: float = SAMPLE_FRACTION):
    """Evenly spread ``(y, x, rows, cols)`` tiles covering about ``fraction`` of the image.

    The whole image is one tile when the tiles would cover at least half of it.
    """
    target = max(fraction * height * width, MIN_SAMPLE_PIXELS)
    if target * 2 >= height * width or height < 2 * TILE or width < 2 * TILE:
        return [(0, 0, height, width)]
    count = math.ceil(target / (TILE * TILE))
    n_y = max(1, min(height // TILE, round(math.sqrt(count * height / width))))
    n_x = max(1, min(width // TILE, math.ceil(count / n_y)))
    ys = np.linspace(0, height - TILE, n_y).round().astype(int)
    xs = np.linspace(0, width - TILE, n_x).round().astype(int)
    return [(int(y), int(x), TILE, TILE) for y in ys for x in xs]


def sure_scores(
    planes: np.ndarray,
    sigma: float,
    candidates,
    *,
    fraction: float = SAMPLE_FRACTION,
    seed: int = 0,
    backend: Backend | None = None,
) -> list[Candidate]:
    """SURE of every candidate on the (C, H, W) stack ``planes`` with noise ``sigma``.

    ``candidates`` is an iterable of ``(method, f, r, hs)``; each yields one
    :class:`Candidate` per h (SURE of the channel mean and of each channel),
    computed in a single sweep (plus one on the perturbed image for the
    Monte-Carlo divergence) on ``backend`` (default: the best available one).
    ``seed`` fixes the probe b.
    """
    backend = select("auto") if backend is None else backend
    candidates = [(m, int(f), int(r), [float(h) for h in hs]) for m, f, r, hs in candidates]
    planes = np.asarray(planes, dtype=np.float32)
    _, height, width = planes.shape
    tiles = sample_tiles(height, width, fraction)
    probe = np.random.default_rng((PROBE_KEY, seed)).standard_normal(planes.shape)
    probe = probe.astype(np.float32)
    epsilon = EPSILON_RATIO * sigma if sigma > 0 else 1e-3 * float(np.std(planes) or 1.0)
    perturbed = planes + np.float32(epsilon) * probe
    outer = max(padding(m, (f,), (r,))[0] for m, f, r, _ in candidates)
    margins = ((0, 0), (outer, outer), (outer, outer))
    padded = np.pad(planes, margins, mode="reflect")
    padded_perturbed = np.pad(perturbed, margins, mode="reflect")

    results = []
    for method, f, r, hs in candidates:
        sweep = backend.methods[method]
        pad = padding(method, (f,), (r,))[0]
        # Per h and channel.
        residual = np.zeros((len(hs), planes.shape[0]))
        divergence = np.zeros((len(hs), planes.shape[0]))
        count = 0
        for y, x, rows, cols in tiles:
            # The tile with its candidate's padding, cut from the padded image.
            window = np.s_[
                :,
                outer + y - pad : outer + y + rows + pad,
                outer + x - pad : outer + x + cols + pad,
            ]
            tile_u = planes[:, y : y + rows, x : x + cols].astype(np.float64)
            tile_b = probe[:, y : y + rows, x : x + cols].astype(np.float64)
            radii = (f, f), (r, r)
            base = sweep(padded[window], *radii, sigma, hs).astype(np.float64)
            moved = sweep(padded_perturbed[window], *radii, sigma, hs).astype(np.float64)
            # ‖D(u) − u‖² and bᵀ(D(u + εb) − D(u)) / ε, per h.
            residual += ((base - tile_u) ** 2).sum(axis=(2, 3))
            divergence += (tile_b * (moved - base)).sum(axis=(2, 3)) / epsilon
            count += rows * cols
        # SURE = ‖D(u) − u‖²/n − σ² + 2σ² div D(u)/n, for each channel's n pixels.
        sure = residual / count - sigma**2 + 2.0 * sigma**2 * divergence / count
        results.extend(
            Candidate(method, f, r, h, float(s.mean()), tuple(float(x) for x in s))
            for h, s in zip(hs, sure, strict=True)
        )
    return results


def tune(
    image: np.ndarray,
    sigma: float | None = None,
    *,
    channel_axis: int | None = None,
    data_range: float | None = None,
    h: float | None = None,
    f: int | None = None,
    r: int | None = None,
    method: str | None = None,
    h_chroma: float | None = None,
    h_ratios=None,
    f_offsets=F_OFFSETS,
    radii=SEARCH_RADII,
    fraction: float = SAMPLE_FRACTION,
    seed: int = 0,
    return_scores: bool = False,
    backend: str = "auto",
):
    """Choose NLM parameters minimising SURE, from the noisy image alone.

    Stein's unbiased estimate of the MSE (Van De Ville & Kocher, "SURE-based
    non-local means", IEEE SPL 2009) with the Monte-Carlo divergence of
    Ramani, Blu & Unser (IEEE TIP 2008), over a small candidate set: h = ratio·σ
    for each ratio in ``h_ratios`` (by default :func:`centre_ratio` times
    ``H_STEPS``, or ``COLOR_H_STEPS`` for a 3-channel image), f = preset + each
    of ``f_offsets``, r in ``radii``, and both methods ("pixel", "patch").
    A 3-channel image is tuned in luminance–chrominance planes, luminance and
    chrominance each taking their own h (``h`` and ``h_chroma``), unless ``h``
    alone is given (then RGB, ``h`` throughout). Parameters passed explicitly
    are kept and not searched. SURE is evaluated on tiles covering ``fraction``
    of the image.

    Parameters
    ----------
    image : ndarray
        uint8, uint16, float32 or float64; 2-D gray, or 3-D with ``channel_axis``.
    sigma : float, optional
        Noise standard deviation in raw units; estimated when None.
    channel_axis, data_range
        As in :func:`nlmeans.denoise`.
    h, f, r, method, h_chroma : optional
        Fix a parameter instead of searching it.
    h_ratios : sequence of float, optional
        Candidate h / σ (σ on the 8-bit scale floored at 1, like the presets).
    f_offsets : sequence of int
        Candidate patch radii relative to the preset.
    radii : sequence of int
        Candidate search radii.
    fraction : float
        Share of the image the SURE tiles cover, in (0, 1].
    seed : int
        Seed of the Monte-Carlo probe; the result is deterministic.
    return_scores : bool
        Also return the list of :class:`Candidate` with their SURE.
    backend : str
        Where the candidates are computed ("auto", "cpu", "cuda", "reference").
        Only the methods that backend computes are searched (a UserWarning
        names any left out).

    Returns
    -------
    Params, or (Params, list of Candidate) when ``return_scores``
        The candidate with the least SURE.
    """
    image = check_image(image)
    planes = to_channels_first(image, channel_axis)
    if not np.isfinite(planes).all():
        raise NLMeansError("image has non-finite (NaN or Inf) values; expected finite")
    fraction = check_finite_number("fraction", fraction, minimum=0.0, strict=True)
    if fraction > 1:
        raise NLMeansError(f"fraction={fraction!r} is out of range; expected 0 < fraction <= 1")
    if data_range is None:
        data_range = image_data_range(image)
    base = resolve(
        planes.shape[0],
        h=h,
        sigma=sigma,
        f=f,
        r=r,
        data_range=data_range,
        estimate=lambda: estimate_sigma(image, channel_axis=channel_axis),
        method="pixel" if method is None else method,
    )
    if h_chroma is not None:
        h_chroma = check_h_chroma(h_chroma, planes.shape[0])
    opponent = planes.shape[0] == 3 and (h is None or h_chroma is not None)
    scale = 255.0 / float(data_range)
    floor = max(base.sigma * scale, MIN_PRESET_SIGMA_8BIT) / scale
    if h_ratios is None:
        steps = COLOR_H_STEPS if opponent else H_STEPS
        h_ratios = [centre_ratio(floor * scale) * step for step in steps]
    grid = [ratio * floor for ratio in h_ratios]
    luminance_hs = [base.h] if h is not None else grid
    chroma_hs = [h_chroma] if h_chroma is not None else grid
    hs = sorted(set(luminance_hs + chroma_hs)) if opponent else luminance_hs
    fs = [base.f] if f is not None else sorted({max(0, base.f + d) for d in f_offsets})
    chosen = select(backend, method, planes.ndim - 1)
    if method is not None:
        methods = [base.method]
    else:
        methods = [m for m in METHODS if m in chosen.methods]
        missing = [m for m in METHODS if m not in chosen.methods]
        if missing:
            warnings.warn(
                f"tune: backend={chosen.name!r} does not compute method "
                f"{', '.join(map(repr, missing))}; searching {', '.join(map(repr, methods))} only",
                UserWarning,
                stacklevel=2,
            )
    rs = [base.r] if r is not None else [check_radius("r", x, MAX_SEARCH_RADIUS) for x in radii]
    if not hs or not fs or not rs:
        raise NLMeansError("tune needs at least one h ratio, patch radius offset and radius")
    candidates = [(m, pf, pr, hs) for m in methods for pf in fs for pr in rs]
    tuned = to_opponent(planes) if opponent else planes  # sure_scores makes it float32
    scores = sure_scores(
        tuned, base.sigma, candidates, fraction=fraction, seed=seed, backend=chosen
    )
    if opponent:
        choice = best_per_group(scores, luminance_hs, chroma_hs)
    else:
        best = min(scores, key=lambda c: c.sure)
        choice = (best.method, best.f, best.r, best.h, None, best.sure)
    best_method, best_f, best_r, best_h, best_h_chroma, _ = choice
    params = Params(
        f=best_f,
        r=best_r,
        h=best_h,
        sigma=base.sigma,
        sigma_estimated=base.sigma_estimated,
        method=best_method,
        h_chroma=best_h_chroma,
    )
    return (params, scores) if return_scores else params
