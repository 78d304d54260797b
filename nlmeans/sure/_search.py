"""The SURE search: method, patch radius, search radius, h (and h_chroma), and combinations.

The candidates are every (method, f, r) with f in :data:`PATCH_RADII`, r in
:data:`SEARCH_RADII` (:data:`SMALL_IMAGE_SEARCH_RADII` for images too small for
tiles), each with a grid of h; each (method, f, r) is one sweep computing all
its h at once (:mod:`.scores`). The cost is bounded by pruning:

1. a coarse pass scores every (method, f, r) with a wide, coarse h grid on a
   few tiles (:func:`.sampling`);
2. the :data:`KEEP` best (:data:`COLOR_KEEP` for colour) go on to a fine h
   grid around their coarse best, on the full SURE sample
   (:data:`~.scores.MIN_SAMPLE_PIXELS` pixels or :data:`~.scores.SAMPLE_FRACTION`
   of the image; where the pixelwise divergence is exact, images and volumes
   large enough for tiles, fewer pixels on smaller tiles: :func:`.sampling`);
3. the fine pass's estimates and their divergences give the SURE-best linear
   combination of them and the noisy image (:mod:`.combination`), which is
   chosen when its SURE is lower by :data:`COMBINE_MIN_GAIN` or more (or when
   ``method="combined"`` asks for it);
4. with ``method="auto"``, NL-Bayes at its presets against that choice (:mod:`._choice`).

A 3-channel image is tuned in the orthonormal luminance–chrominance planes of
:mod:`nlmeans._color` (the noise there is still white with the same σ):
luminance and chrominance each get the h of least SURE, ``Params.h`` and
``Params.h_chroma``.
"""

from __future__ import annotations

import warnings
from dataclasses import replace

import numpy as np

from .._arrays import check_image, to_channels_first
from .._color import to_opponent
from ..backends import select
from ..errors import NLMeansError
from ..noise import estimate_sigma
from ..params import (
    COMBINED,
    METHODS,
    Params,
    check_finite_number,
    check_h_chroma,
    check_method,
    image_data_range,
    resolve,
    sigma_floor,
)
from ._choice import bayes_methods, choose_bayes
from ._combination import fit_combination
from ._grids import (
    COARSE_STEPS,
    COLOR_COARSE_STEPS,
    COLOR_KEEP,
    EXACT_METHODS,
    FINE_STEPS,
    KEEP,
    OTHER_STEPS,
    SEARCH_METHODS,
    candidate_radii,
    centre_ratio,
    noise_dominated,
    patch_scale,
    sampling,
)
from ._ranking import border_margin, corrected, interior_blocks, rank, sweeps
from ._scores import (
    SAMPLE_FRACTION,
    Candidate,
    sample_blocks,
    sweep_tiles,
    tile_pixels,
)

#: The combination is chosen by ``method=None`` when its SURE is at least this
#: share below the best single estimate's (its extra cost buys something).
COMBINE_MIN_GAIN = 0.02

#: ... and, for terms with a Monte-Carlo divergence ("patch", volumes), when
#: σ (8-bit scale) is at least this: below, the Monte-Carlo divergences
#: (ε = σ/100 against float32 rounding) are too noisy for ~10 fitted weights,
#: and the combination lost 0.2–0.7 dB to the single estimate at σ = 5 on
#: camera, grass and astronaut in benchmarks/quality.py.
COMBINE_MIN_SIGMA_8BIT = 15.0


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
    methods=None,
    patch_radii=None,
    radii=None,
    fraction: float | None = None,
    seed: int = 0,
    return_scores: bool = False,
    backend: str = "auto",
):
    """Choose NLM parameters minimising SURE, from the noisy image alone.

    Stein's unbiased estimate of the MSE (Van De Ville & Kocher, "SURE-based
    non-local means", IEEE SPL 2009), over the methods ``methods``, the patch
    radii ``patch_radii``, the search radii ``radii`` and a grid of h: a coarse
    pass on a few tiles keeps the best (method, f, r), a fine h grid around
    their best h follows on more tiles. On 2-D images and volumes (and time
    stacks) large enough for tiles pixelwise candidates are scored with their
    exact divergence (and, by default, only they are searched); elsewhere,
    and for the other methods, with the Monte-Carlo divergence of Ramani,
    Blu & Unser (IEEE TIP 2008).
    The fine pass's estimates are also combined linearly, with the noisy
    image, with weights minimising SURE (Blu & Luisier, "The SURE-LET
    approach to image denoising", IEEE TIP 2007): the result is
    ``method="combined"`` when that lowers SURE by 2 % or more (gray and
    other non-RGB images, volumes with exact terms; with Monte-Carlo terms
    only at σ ≥ 15 on the 8-bit scale and in 2-D), or when asked for.
    A 3-channel image is tuned in luminance–chrominance planes, luminance
    and chrominance each taking their own h (``h`` and ``h_chroma``) or
    weights, unless ``h`` alone is given (then RGB, ``h`` throughout).
    Parameters passed explicitly are kept and not searched (with
    ``method="combined"``, ``h`` and ``h_chroma`` are the centres of the
    components' strengths).

    Parameters
    ----------
    image : ndarray
        uint8, uint16, float32 or float64; 2-D gray, or 3-D with ``channel_axis``.
    sigma : float, optional
        Noise standard deviation in raw units; estimated when None.
    channel_axis, data_range
        As in :func:`nlmeans.denoise`.
    h, f, r, method, h_chroma : optional
        Fix a parameter instead of searching it; ``method`` may also be "combined",
        or "auto": SURE also weighs NL-Bayes at its presets against the NLM search's
        choice (:mod:`._choice`; 2-D only, none of h, f, r, h_chroma given).
    h_ratios : sequence of float, optional
        Candidate h / σ (σ floored like the presets', :func:`~nlmeans.params.sigma_floor`),
        the same for every patch radius, without the fine pass's grid.
    methods : sequence of str, optional
        The methods searched when ``method`` is None (or "combined"). By
        default "pixel" alone where its divergence is exact (2-D images of
        more than about 310 × 310 pixels, volumes and time stacks of more
        than about 96 k voxels), "pixel" and "patch" elsewhere;
        "patch" is scored with the Monte-Carlo divergence; "bayes" among them as "auto".
    patch_radii, radii : sequence of int, optional
        Candidate patch radii f and search radii r for the axes left open;
        by default those of :func:`~._grids.candidate_radii` (2-D images and
        the frames of a time stack: f in 1, 2, 3 and r = 8, r in 5, 8 for
        images too small for tiles, and also the presets' r where it is wider
        when the noise's variance is four times the image's signal's or more;
        volumes large enough for tiles: f in 1, 2 and r in 2, 3; given radii
        and 4-D stacks: kept).
    fraction : float, optional
        Share of the image the fine pass's tiles cover, in (0, 1]. By default
        0.2 (at least 48 k pixels) with the Monte-Carlo divergence, 32 k
        pixels (64 k voxels) with the exact one.
    seed : int
        Seed of the Monte-Carlo probe; the result is deterministic.
    return_scores : bool
        Also return the list of :class:`Candidate` of the fine pass with their
        SURE (the combination's as method "combined", when fitted; colour on
        tiles: NaN for the channels a strength was not computed for).
    backend : str
        Where the candidates are computed ("auto", "cpu", "cuda", "reference").
        Only the methods that backend computes are searched (a UserWarning
        names any left out).

    Returns
    -------
    Params, or (Params, list of Candidate) when ``return_scores``
        The candidate (or combination) with the least SURE.

    References
    ----------
    D. Van De Ville, M. Kocher, "SURE-based non-local means", IEEE Signal
    Processing Letters 16(11), 2009. S. Ramani, T. Blu, M. Unser, "Monte-Carlo
    SURE", IEEE TIP 17(9), 2008. T. Blu, F. Luisier, "The SURE-LET approach to
    image denoising", IEEE TIP 16(11), 2007.
    """
    image = check_image(image)
    planes = to_channels_first(image, channel_axis)
    if not np.isfinite(planes).all():
        raise NLMeansError("image has non-finite (NaN or Inf) values; expected finite")
    given = dict(h=h, f=f, r=r, h_chroma=h_chroma)
    method, methods, with_bayes = bayes_methods(method, methods, given, planes.ndim - 1)
    given_fraction = fraction is not None
    fraction = SAMPLE_FRACTION if fraction is None else fraction
    fraction = check_finite_number("fraction", fraction, minimum=0.0, strict=True)
    if fraction > 1:
        raise NLMeansError(f"fraction={fraction!r} is out of range; expected 0 < fraction <= 1")
    if method is not None:
        check_method(method)
    combined = method == COMBINED
    if data_range is None:
        data_range = image_data_range(image)
    least = sigma_floor(image, data_range)
    base = resolve(
        planes.shape[0],
        h=h,
        sigma=sigma,
        f=f,
        r=r,
        data_range=data_range,
        estimate=lambda: estimate_sigma(image, channel_axis=channel_axis),
        method="pixel" if method is None or combined else method,
        ndim=planes.ndim - 1,
        sigma_floor=least,
    )
    if h_chroma is not None:
        h_chroma = check_h_chroma(h_chroma, planes.shape[0])
    opponent = planes.shape[0] == 3 and (h is None or h_chroma is not None)
    scale = 255.0 / float(data_range)
    floor = max(base.sigma, least)
    volume = planes.ndim > 3 or isinstance(base.f, tuple) or isinstance(base.r, tuple)
    chosen = select(backend, None if method is None or combined else method, planes.ndim - 1)
    # The exact divergence leaves out a border band (:func:`interior_blocks`),
    # so it is used where SURE is taken on tiles, not on a whole small image
    # (there the band is a large share, and pixelwise NLM's worst pixels).
    ndim = planes.ndim - 1
    tiled = ndim in (2, 3) and len(sample_blocks(planes.shape[1:], fraction)) > 1
    dominated = noise_dominated(planes, base.sigma)
    fs, rs = candidate_radii(base, f, r, ndim, tiled, patch_radii, radii, dominated)
    if methods is None:
        methods = EXACT_METHODS if tiled and "pixel" in chosen.methods else SEARCH_METHODS
    if method is not None and not combined:
        methods = [base.method]
    else:
        wanted = [check_method(m, combined=False) for m in methods]
        methods = [m for m in METHODS if m in wanted and m in chosen.methods]
        missing = [m for m in METHODS if m in wanted and m not in chosen.methods]
        if missing:
            warnings.warn(
                f"tune: backend={chosen.name!r} does not compute method "
                f"{', '.join(map(repr, missing))}; searching {', '.join(map(repr, methods))} only",
                UserWarning,
                stacklevel=2,
            )
    if h_ratios is not None:
        h_ratios = [check_finite_number("h ratio", x, minimum=0.0, strict=True) for x in h_ratios]
        if not h_ratios:
            raise NLMeansError("tune needs at least one h ratio")
    if not fs or not rs or not methods:
        raise NLMeansError("tune needs at least one patch radius, search radius and method")

    # The h grids per patch radius: luminance (or gray) and chrominance.
    fixed_h = h is not None and not combined
    fixed_chroma = h_chroma is not None and not combined

    def coarse_grid(pf: int, centre_given, steps) -> list[float]:
        if h_ratios is not None:
            return [ratio * floor for ratio in h_ratios]
        centre = centre_given or centre_ratio(floor * scale) * patch_scale(pf) * floor
        return [step * centre for step in steps]

    def grids(pf: int) -> tuple[list[float], list[float]]:
        # Colour: luminance on the lower steps, chrominance on the upper ones (where
        # the exact kernel computes each group's strengths only).
        steps = COLOR_COARSE_STEPS[:-1] if exact_search else COLOR_COARSE_STEPS
        steps = steps if opponent else COARSE_STEPS
        luma = [base.h] if fixed_h else coarse_grid(pf, base.h if combined and h else None, steps)
        if not opponent:
            return luma, luma
        centre = h_chroma if combined else None
        steps = COLOR_COARSE_STEPS[1:] if exact_search else COLOR_COARSE_STEPS
        chroma = [h_chroma] if fixed_chroma else coarse_grid(pf, centre, steps)
        return luma, chroma

    work = to_opponent(planes) if opponent else np.asarray(planes, dtype=np.float32)
    sigma_ = base.sigma
    combos = [(m, pf, pr) for m in methods for pf in fs for pr in rs]
    scores: list[Candidate] = []

    # 1. Coarse pass: every (method, f, r) on a few tiles, the KEEP best go on.
    # Where the pixelwise divergence is exact (2-D), only pixelwise candidates
    # are scored there; the other methods join the fine pass at the best (f, r).
    refine = h_ratios is None and not (fixed_h and (fixed_chroma or not opponent))
    exact_search = tiled and "pixel" in methods
    kept = {combo: grids(combo[1]) for combo in combos}
    others = [m for m in methods if m != "pixel"] if exact_search and refine else []
    if others:
        combos = [combo for combo in combos if combo[0] == "pixel"]
    margin = border_margin(fs, rs, ndim) if exact_search else 0
    # The exact search's tiles are smaller and its fine pass covers fewer pixels
    # (no probe noise to average out), unless ``fraction`` is given.
    coarse_tile, coarse_pixels, tile, fine_pixels = sampling(exact_search, ndim)
    if exact_search and not given_fraction:
        fraction = 0.0
    if refine:
        tiles = interior_blocks(work.shape[1:], 0.0, coarse_pixels, margin, coarse_tile)
        coarse = sweeps(
            work, sigma_, [(*combo, sorted(set(sum(kept[combo], [])))) for combo in combos],
            tiles, seed, chosen, exact_ok=exact_search,
            groups=[kept[combo] for combo in combos] if opponent else None,
        )  # fmt: skip
        ranked = []
        for sweep, combo in zip(coarse, combos, strict=True):
            choice = rank([sweep], sigma_, opponent, *kept[combo])[0]
            ranked.append((choice[-1], combo, choice))
        ranked.sort(key=lambda item: item[0])
        kept = {}
        for _, combo, (_, _, _, best_h, best_chroma, _) in ranked[
            : COLOR_KEEP if opponent and exact_search else KEEP
        ]:
            luma = [base.h] if fixed_h else [best_h * s for s in FINE_STEPS]
            chroma = luma
            if opponent:
                chroma = [h_chroma] if fixed_chroma else [best_chroma * s for s in FINE_STEPS]
            kept[combo] = (luma, chroma)
        _, (_, best_f, best_r), (_, _, _, best_h, best_chroma, _) = ranked[0]
        for other in others:
            luma = [base.h] if fixed_h else [best_h * s for s in OTHER_STEPS]
            chroma = luma
            if opponent:
                chroma = [h_chroma] if fixed_chroma else [best_chroma * s for s in OTHER_STEPS]
            kept[(other, best_f, best_r)] = (luma, chroma)

    # 2. Fine pass on the full sample, estimates kept for the combination.
    tiles = interior_blocks(work.shape[1:], fraction, fine_pixels, margin, tile)
    fine_candidates = [
        (*combo, sorted(set(luma + chroma))) for combo, (luma, chroma) in kept.items()
    ]
    # Luminance–chrominance planes: an exact sweep computes channel 0 at the
    # luminance h and channels 1, 2 at the chrominance h only.
    groups = list(kept.values()) if opponent else None
    if others:  # the exact pixelwise sweeps, then the Monte-Carlo ones
        pixel = [c for c in fine_candidates if c[0] == "pixel"]
        fine = sweeps(work, sigma_, pixel, tiles, seed, chosen, keep=True, groups=groups)
        # The best pixelwise candidate (first) is also scored with the probe:
        # its error corrects the other methods' scores (a control variate).
        rest = fine_candidates[len(pixel) :]
        probed = sweep_tiles(
            work, sigma_, [pixel[0], *rest], tiles, seed=seed, backend=chosen, keep=True
        )
        fine += [corrected(sweep, probed[0], fine[0]) for sweep in probed[1:]]
    else:
        fine = sweeps(
            work, sigma_, fine_candidates, tiles, seed, chosen, keep=True,
            exact_ok=exact_search, groups=groups,
        )  # fmt: skip
    choices = []
    for sweep, (luma, chroma) in zip(fine, kept.values(), strict=True):
        choices += rank([sweep], sigma_, opponent, luma, chroma if opponent else None)
        scores += sweep.candidates(sigma_)
    best_method, best_f, best_r, best_h, best_chroma, best_sure = min(
        choices, key=lambda choice: choice[-1]
    )
    params = Params(
        f=best_f, r=best_r, h=best_h, sigma=sigma_, sigma_estimated=base.sigma_estimated,
        method=best_method, h_chroma=best_chroma,
    )  # fmt: skip

    # 3. The SURE-weighted combination of the fine pass's estimates and the noisy image.
    # Colour (luminance–chrominance planes): the combination's SURE was 2 % or
    # more below the single estimate's on astronaut at σ = 5 and 10 while its
    # PSNR was 0.04–0.3 dB lower (21 weights fitted to noisier divergences), so only
    # method="combined" asks for it there; volumes and per-axis radii with Monte-Carlo
    # terms too (not evaluated). With exact terms, volumes and time stacks are combined
    # automatically (on the blob and drift stacks of benchmarks/quality_volume.py at σ 10,
    # 20, 30, σ estimated, chosen on all six: −0.03 to +0.26 dB against SURE's best single
    # estimate, above it on five, and within 0.03 dB of the best of its terms).
    # Where there are terms with an exact divergence (pixelwise), only they
    # are combined: with the Monte-Carlo "patch" terms as well (12 weights), the
    # combination's SURE was 15 % below its true MSE on a 128² test scene at
    # σ = 20 (the fit follows the probe's noise), against 1–7 % without them.
    # Monte-Carlo terms alone are combined from COMBINE_MIN_SIGMA_8BIT up.
    terms = [s for s in fine if s.exact] or fine
    automatic = method is None and not fixed_h and not opponent and (terms[0].exact or not volume)
    low = base.sigma * scale < COMBINE_MIN_SIGMA_8BIT and not terms[0].exact
    if (automatic and not low) or combined:
        anchor = min(
            (choice for choice, sweep in zip(choices, fine, strict=True) if sweep in terms),
            key=lambda choice: choice[-1],
        )
        anchors = [anchor[:3] + (anchor[3],)]
        if opponent:
            anchors.append(anchor[:3] + (anchor[4],))
        components, sure = fit_combination(
            terms, tile_pixels(work, tiles), sigma_, opponent, anchors
        )
        scores.append(Candidate(COMBINED, best_f, best_r, best_h, sure))
        # A negative SURE (an MSE below zero) of the best single estimate means the
        # noise is not white Gaussian of σ (512² camera, σ = 30 clipped: 27.1 dB combined
        # against 28.3 dB single); of the combination, that its weights followed the
        # Monte-Carlo divergences' error (64² uniform noise, σ = 30: worse than the input).
        trusted = best_sure > 0 and sure > 0
        if combined or (trusted and sure <= (1 - COMBINE_MIN_GAIN) * best_sure):
            params = replace(params, method=COMBINED, components=components)
            best_sure = sure
    if with_bayes:  # 4. NL-Bayes at its presets against the NLM choice, on the same tiles
        params = choose_bayes(planes, params, best_sure, tiles, data_range=data_range, seed=seed,
                              backend=chosen, scores=scores, sigma_floor=least)  # fmt: skip
    return (params, scores) if return_scores else params
