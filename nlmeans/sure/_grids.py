"""The search space of :func:`nlmeans.sure.tune`: candidate methods and radii, and the h grids.

The h grids are relative to a centre h: the presets' best h / σ for the noise
level (:func:`centre_ratio`), scaled for the patch radius (:func:`patch_scale`).
"""

from __future__ import annotations

import math

import numpy as np

from ..params import MAX_PATCH_RADIUS, MAX_SEARCH_RADIUS, check_radius, compact
from ..params import radii as axis_radii
from ._scores import MIN_SAMPLE_PIXELS, TILE

#: Methods searched when none is given and SURE is taken with the Monte-Carlo
#: divergence (whole small images and volumes, 4-D stacks).
SEARCH_METHODS = ("pixel", "patch")

#: Methods searched when none is given where pixelwise SURE has its exact
#: divergence (:mod:`._exact`: images and volumes large enough for tiles). "patch"
#: (Monte-Carlo divergence: two runs of a slower kernel) cost 2–4 times the
#: whole exact search there and gained 0.1–0.3 dB on astronaut at σ 5 and
#: 15 only (whole 512² images); it is searched when ``methods`` names it.
EXACT_METHODS = ("pixel",)

#: Tiles of the exact search's fine pass, per number of spatial axes: rows and
#: columns in 2-D, where smaller tiles spread the same pixels over more of the
#: image and short wide ones keep the kernel's row loops long (16 × 64 ran
#: 20–40 % faster than 32 × 32 per pixel here); planes, rows and columns of a
#: volume (or frames of a time stack).
EXACT_TILES = {2: (16, 64), 3: (8, 16, 32)}

#: Tiles of the exact search's coarse pass (16 of them on its
#: :data:`COARSE_MIN_PIXELS`), which alone ranks the patch radii of a colour
#: image: with 16 × 64 tiles there, astronaut at σ 30 got f = 3 instead of 2
#: (0.25 dB lower). In 3-D, fewer, larger blocks could all miss a structure: on
#: a 32 × 64 × 64 test volume with an edge across the planes, 4 blocks of
#: 8 × 16 × 64 did and chose an h three times too large.
EXACT_COARSE_TILES = {2: 32, 3: (8, 8, 16)}

#: Pixels (voxels) of the exact search's fine pass (at least; or ``fraction``
#: of the image when given).
EXACT_FINE_PIXELS = {2: 32 * 1024, 3: 64 * 1024}

#: Candidate patch radii.
PATCH_RADII = (1, 2, 3)

#: Candidate patch and search radii of volumes (three spatial axes, one radius
#: for every axis) large enough for the exact search. Around the volume presets
#: (f = 1, r = 3): on two test volumes at σ 10 and 30 (each setting at its best
#: h) each of f = 1 r = 2, f = 1 r = 3 and f = 2 r = 3 was the best somewhere, up
#: to 0.9 dB above the presets' radii; r = 5 (4 times the cost of r = 3) gained
#: at most 0.24 dB over r = 3.
VOLUME_PATCH_RADII = (1, 2)
VOLUME_SEARCH_RADII = (2, 3)

#: Candidate search radii. A 17×17 window was within 0.03 dB of the best of
#: r ∈ {4, 6, 8, preset} on every image and σ of the earlier evaluation set,
#: and up to 0.3 dB above the presets' r = 17 at high σ; it is also 1.5 to 4
#: times cheaper.
SEARCH_RADII = (8,)

#: Candidate search radii of 2-D images too small for the exact search's tiles
#: (SURE on the whole image, "pixel" and "patch" with the Monte-Carlo divergence).
#: An 11×11 window beside the 17×17 one raised the default's PSNR by 0.07 dB on
#: average over the 72 rows of benchmarks/quality.py (256² crops; −0.18 to +0.45 dB),
#: most on smooth images (moon σ 15 and 20: +0.18 dB, above the oracle-tuned peers
#: there), for 1.4 times the tuning time. On whole images (exact search, 48 rows of
#: eight 512² images) it gained 0.01 dB on average (−0.20 to +0.38) for 1.15 times
#: the time, so the exact search keeps :data:`SEARCH_RADII`.
SMALL_IMAGE_SEARCH_RADII = (5, 8)

#: An image whose variance is below this many times σ² (the noise's variance at
#: least four times the signal's) also searches its presets' search radius where
#: that is wider (r = 17 on the 8-bit scale's σ ≥ 30). On photon counts at 1–2
#: per pixel, stabilised (``benchmarks/bench_noise.py pg``), SURE took it on moon
#: and brick and gained 1.6–6.1 dB there (lost 0.54–0.67 dB on two other rows);
#: on the quality table's rows with that little signal (moon σ 30 and 50, text
#: σ 50) it kept its choice, for about twice the tuning time.
NOISE_DOMINATED_VARIANCE = 1.25

#: Coarse h grid, relative to :func:`centre_ratio`; gray, then colour (where the
#: chrominance h is 1.5–3 times the luminance one: in the exact search
#: luminance takes the first four steps, chrominance the last four).
COARSE_STEPS = (0.65, 0.95, 1.4, 2.05)
COLOR_COARSE_STEPS = (0.65, 0.95, 1.4, 2.05, 3.0)

#: Fine h grid around each kept candidate's coarse best h.
FINE_STEPS = (0.8, 1.0, 1.25)

#: (method, f, r) kept from the coarse pass for the fine one (and the combination).
KEEP = 2

#: The same for luminance–chrominance planes in the exact search, whose fine
#: pass (a luminance and a chrominance grid, three channels) costs twice a gray
#: one and feeds no automatic combination.
COLOR_KEEP = 1

#: h grid of the methods without an exact divergence ("patch") in a 2-D
#: search, relative to the coarse pass's best pixelwise h at the same (f, r):
#: the coarse pass scores pixelwise candidates only (one exact run each), and
#: the fine pass adds each other method at the best pixelwise (f, r).
OTHER_STEPS = (0.6, 0.75, 0.9, 1.1, 1.35)

#: Pixels of the coarse pass's tiles (Monte-Carlo divergence).
COARSE_MIN_PIXELS = 16 * 1024


def candidate_radii(
    base, f, r, ndim: int, tiled: bool, patch_radii=None, radii=None, noise_dominated=False
):
    """``(fs, rs)``: the candidate patch and search radii of a search.

    The axes the caller left open (``f`` or ``r`` None, or None in a per-axis
    tuple) take each of ``patch_radii`` and ``radii``, the given axes keep
    their value. By default the candidates are those of the open axes'
    dimensionality, as for the presets: :data:`PATCH_RADII` and
    :data:`SEARCH_RADII` for two open axes (a 2-D image, or the frames of a
    time stack given ``f = (0, None, None)``; :data:`SMALL_IMAGE_SEARCH_RADII`
    for a 2-D image too small for tiles), :data:`VOLUME_PATCH_RADII`
    and :data:`VOLUME_SEARCH_RADII` for three. 4-D stacks, volumes too small
    for the exact search's tiles and other open-axis counts keep ``base``'s
    (the given or preset) radii.

    Parameters
    ----------
    base : Params
        The resolved parameters (given or preset radii).
    f, r : int, tuple or None
        The radii given by the caller.
    ndim : int
        Spatial axes.
    tiled : bool
        Whether SURE is taken on tiles (the image is large enough).
    patch_radii, radii : sequence of int, optional
        The candidates asked for.
    noise_dominated : bool
        Whether the noise hides the image (:data:`NOISE_DOMINATED_VARIANCE`): a 2-D
        search by default radii then also tries ``base``'s search radius where
        it is wider.

    Returns
    -------
    (list, list)
    """
    open_f, open_r = _open_axes(f, ndim), _open_axes(r, ndim)
    n_open = len(open_f | open_r)
    if ndim > 3 or (ndim == 3 and not tiled) or n_open not in (2, 3):
        return [base.f], [base.r]
    if patch_radii is None:
        patch_radii = VOLUME_PATCH_RADII if n_open == 3 else PATCH_RADII
    if radii is None:
        if n_open == 3:
            radii = VOLUME_SEARCH_RADII
        else:
            radii = SEARCH_RADII if tiled else SMALL_IMAGE_SEARCH_RADII
            if noise_dominated and isinstance(base.r, int) and base.r > max(radii):
                radii = (*radii, base.r)

    def filled(value, open_axes, candidate):
        # The candidate on the open axes, the given (or preset) value on the others.
        values = axis_radii(value, ndim)
        return compact(tuple(candidate if k in open_axes else values[k] for k in range(ndim)))

    fs = [filled(base.f, open_f, check_radius("f", x, MAX_PATCH_RADIUS))
          for x in sorted(set(patch_radii))] if open_f else [base.f]  # fmt: skip
    rs = [filled(base.r, open_r, check_radius("r", x, MAX_SEARCH_RADIUS))
          for x in sorted(set(radii))] if open_r else [base.r]  # fmt: skip
    return fs, rs


def noise_dominated(planes: np.ndarray, sigma: float) -> bool:
    """Whether the variance of ``planes`` (C, ...) is below NOISE_DOMINATED_VARIANCE σ².

    Read from a strided sample of at most 2²⁰ values per channel (no full-size
    temporary on a large volume).
    """
    flat = planes.reshape(len(planes), -1)
    sample = flat[:, :: max(1, flat.shape[1] // (1 << 20))]
    return float(np.mean(sample.var(axis=1))) < NOISE_DOMINATED_VARIANCE * sigma**2


def _open_axes(value, ndim: int) -> set[int]:
    """Return the axes a given radius leaves to the search (all for None, a tuple's None ones)."""
    if value is None:
        return set(range(ndim))
    if isinstance(value, tuple):
        return {k for k, v in enumerate(value) if v is None}
    return set()


def sampling(exact: bool, ndim: int) -> tuple:
    """``(coarse tile, coarse pixels, fine tile, fine pixels)`` of a search.

    Parameters
    ----------
    exact : bool
        Whether the candidates are scored with the exact divergence (tiles of
        :data:`EXACT_COARSE_TILES` and :data:`EXACT_TILES`), else Monte-Carlo.
    ndim : int
        Spatial axes.

    Returns
    -------
    tuple
        Tile shapes as :func:`~.scores.sample_blocks` takes them, and the least
        pixels each pass covers.
    """
    if exact:
        return (
            EXACT_COARSE_TILES[ndim],
            COARSE_MIN_PIXELS,
            EXACT_TILES[ndim],
            EXACT_FINE_PIXELS[ndim],
        )
    return TILE, COARSE_MIN_PIXELS, TILE, MIN_SAMPLE_PIXELS


def centre_ratio(sigma_8bit: float) -> float:
    """Return the h / σ around which the presets' patch size works best, for noise ``sigma_8bit``.

    The line 0.88 − 0.12·log2(σ/5), clipped to [0.35, 1] (σ on the 8-bit
    scale): SURE's best h / σ with the presets' patches on the earlier
    evaluation set.

    Parameters
    ----------
    sigma_8bit : float
        σ on the 8-bit scale.

    Returns
    -------
    float
        h / σ.
    """
    ratio = 0.88 - 0.12 * math.log2(max(sigma_8bit, 1.0) / 5.0)
    return min(max(ratio, 0.35), 1.0)


def patch_scale(f) -> float:
    """How much larger the best h is for patch radius ``f`` than for f = 3.

    A smaller patch averages fewer squared differences, so its noisy distance
    needs a larger h: SURE's best h / σ on 256² crops of brick, camera and moon
    (σ = 5 … 50, r = 8) was about 1.35, 1.15 and 1 times :func:`centre_ratio`
    for f = 1, 2 and 3. Per-axis radii count as the square patch with as many
    pixels.

    Parameters
    ----------
    f : int or tuple of int
        The patch radius (or radii per axis).

    Returns
    -------
    float
        The factor on :func:`centre_ratio`.
    """
    if isinstance(f, tuple):
        f = (math.sqrt(math.prod(2 * fk + 1 for fk in f)) - 1) / 2
    return 1.35 * 0.85 ** (f - 1)
