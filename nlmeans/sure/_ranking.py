"""Scoring and ranking the candidates of the SURE search.

The sweeps of a set of candidates (exact divergence where it applies, else
Monte-Carlo), the best choice per (method, f, r) (per luminance and
chrominance for colour), the control-variate correction of Monte-Carlo scores,
and the sampled blocks clear of the border band.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from ..params import radii
from . import _exact as exact
from ._scores import TILE, Candidate, sample_blocks, sweep_tiles


def rank(sweeps, sigma, opponent, luminance_hs=None, chroma_hs=None):
    """Per (method, f, r): the best single choice ``(method, f, r, h, h_chroma, sure)``."""
    choices = []
    for sweep in sweeps:
        candidates = sweep.candidates(sigma)
        if opponent:
            choices.append(best_per_group(candidates, luminance_hs, chroma_hs))
        else:
            pool = [c for c in candidates if luminance_hs is None or c.h in luminance_hs]
            best = min(pool, key=lambda c: c.sure)
            choices.append((best.method, best.f, best.r, best.h, None, best.sure))
    return choices


def best_per_group(scores, luminance_hs=None, chroma_hs=None):
    """Pick the SURE-best ``(method, f, r, h, h_chroma, sure)`` of luminance–chrominance scores.

    ``scores`` are :class:`Candidate` of 3-channel opponent planes; per (method,
    f, r), channel 0 takes the h of least SURE among ``luminance_hs`` and
    channels 1 and 2 together the h of least SURE among ``chroma_hs`` (None:
    every h scored); ``sure`` is their channel mean.

    Parameters
    ----------
    scores : list of Candidate
        The scored candidates.
    luminance_hs, chroma_hs : collection of float, optional
        The h each group may take.

    Returns
    -------
    tuple
        ``(method, f, r, h, h_chroma, sure)``.
    """
    groups: dict[tuple, list[Candidate]] = {}
    for score in scores:
        groups.setdefault((score.method, score.f, score.r), []).append(score)
    choices = []
    for (method, f, r), group in groups.items():
        # An exact sweep leaves the (h, channel) pairs it was not asked for NaN.
        luma = min(
            (c for c in group if (luminance_hs is None or c.h in luminance_hs)
             and math.isfinite(c.channel_sure[0])),
            key=lambda c: c.channel_sure[0],
        )  # fmt: skip
        chroma = min(
            (c for c in group if (chroma_hs is None or c.h in chroma_hs)
             and math.isfinite(c.channel_sure[1] + c.channel_sure[2])),
            key=lambda c: c.channel_sure[1] + c.channel_sure[2],
        )  # fmt: skip
        total = (luma.channel_sure[0] + chroma.channel_sure[1] + chroma.channel_sure[2]) / 3
        choices.append((method, f, r, luma.h, chroma.h, total))
    return min(choices, key=lambda choice: choice[-1])


def corrected(sweep, probed, exact_sweep):
    """``sweep`` (Monte-Carlo) less the probe's error on the same tiles, as a control variate.

    ``probed`` and ``exact_sweep`` are one pixelwise candidate scored with the
    probe and exactly; their divergences' difference (per channel and tile,
    mean over h) is the probe's error there, which is largely shared by the
    other estimates scored with the same probe (on a 96² colour scene the
    probe put one candidate's SURE 20 % above the exact one, and the uncorrected
    patchwise scores were then not comparable with the exact pixelwise ones).
    """
    # (C, T); NaN where the exact sweep left an (h, channel) pair out.
    error = np.nanmean(probed.tile_divergence - exact_sweep.tile_divergence, axis=0)
    tile_divergence = sweep.tile_divergence - error[None]
    return replace(sweep, tile_divergence=tile_divergence, divergence=tile_divergence.sum(axis=2))


def border_margin(fs, rs, ndim: int) -> tuple[int, ...]:
    """Return the band the exact divergence leaves out per axis: (r + f) / 2 + 1, largest radii.

    ``fs`` and ``rs`` are the candidate patch and search radii (ints or per-axis tuples).
    """
    return tuple(
        (max(radii(r, ndim)[k] for r in rs) + max(radii(f, ndim)[k] for f in fs)) // 2 + 1
        for k in range(ndim)
    )


def interior_blocks(shape, fraction, min_pixels, margin, tile=TILE):
    """:func:`sample_blocks` of the image less a band of ``margin`` pixels on every side.

    The exact divergence leaves out the mirrored copies a pixel has in the
    padding, which only pixels within (r + f) / 2 of the border have: SURE is
    taken on the pixels beyond that band (on every axis, except where the
    band would leave less than half of it).

    Parameters
    ----------
    shape : tuple of int
        The spatial shape.
    fraction : float
        Share of the image covered.
    min_pixels : int
        Fewest pixels covered.
    margin : int or tuple of int
        The band left out on every side (or on the sides of each axis).
    tile : int or tuple of int
        Side (or sides) of the tiles, as :func:`sample_blocks` takes it.

    Returns
    -------
    list of (origin, size)
    """
    margins = margin if isinstance(margin, tuple) else (margin,) * len(shape)
    margins = tuple(m if n > 4 * m else 0 for n, m in zip(shape, margins, strict=True))
    inner = tuple(n - 2 * m for n, m in zip(shape, margins, strict=True))
    return [
        (tuple(o + m for o, m in zip(origin, margins, strict=True)), size)
        for origin, size in sample_blocks(inner, fraction, min_pixels, tile)
    ]


def sweeps(work, sigma, candidates, tiles, seed, backend, keep=False, exact_ok=True, groups=None):
    """Score the sweeps of ``candidates``: exact divergence where it applies, else Monte-Carlo.

    ``groups``: per candidate, its ``(luminance_hs, chroma_hs)`` where only those
    pairs are needed (exact sweeps compute no others).
    """
    if exact_ok and exact.applies(candidates, work.ndim - 1):
        oracle = backend.name == "reference"
        return exact.exact_sweeps(
            work, sigma, candidates, tiles, keep=keep, oracle=oracle, groups=groups
        )
    return sweep_tiles(work, sigma, candidates, tiles, seed=seed, backend=backend, keep=keep)
