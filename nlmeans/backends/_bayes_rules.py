"""The constants and geometry of NL-Bayes that its oracle and its fast backends share.

NL-Bayes (Lebrun, Buades & Morel, SIAM J. Imaging Sciences 2013; IPOL 2013)
filters groups of similar patches; the rules here fix, for a patch radius f
and a search radius r, how many patches a group holds, where reference patches
are taken, the order in which they are visited (the skip rule of the paper
makes the result depend on it) and the reflect padding a block needs so that
its interior is the same as in a run on the whole image.

Visiting order. Reference patches (named by their centre) are visited in
*tiles*: the rows ``[t·TILE, (t+1)·TILE)`` of the padded block along its first
axis, each tile in raster order. A reference is skipped when it already
belongs to a group formed earlier *in the same tile*, or neighbours a member of
one when :data:`BOOST` is on (±1 on one axis in an image; in a volume the member's
3×3×3 box and ±2 along each axis: :func:`boost_offsets`; the paper's speed-up,
applied per tile so that tiles are independent: they run in parallel and a
block cut on a multiple of TILE rows gives the same result as the whole image).

Zones. Step 1 (the basic estimate) takes references within ``3(r+f) + TILE − 1``
of the block's interior on the first axis and ``3(r+f)`` on the others; step 2
within ``r + f``. Both zones are widened to whole tiles on the first axis. A
reference's window and patches then stay inside the padded block when the pad
is :func:`padding`'s.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

#: Rows of the first axis per tile of references (see the module docstring).
TILE = 8
#: The paste boost: a group member's neighbours along each axis (±1) are skipped as
#: references too, in its tile (IPOL 2013's speed-up; the member itself always is).
#: Measured (256² crops of camera, brick, text, coins at σ = 10, 25, 50, σ given):
#: mean PSNR −0.02 dB; 3-D (24×64×64 blobs, σ 20): −0.05 dB at 2.9× the speed.
BOOST = True
#: In volumes (3 axes or more) the paste boost skips, with a member, the box of radius
#: BOOST_BOX_ND around it (its 26 neighbours in 3-D) and the points up to BOOST_AXIS_ND
#: along each axis, instead of its 2·D axis neighbours (:func:`boost_offsets`). Measured on
#: 64×128×128 blobs at σ = 20 against 3-D NLM (best of 6, interleaved): +0.95 dB at 7.4×
#: its time, against +1.05 dB at 8.8× with the box alone and +1.18 dB at 12.1× with the
#: axis rule (docs/nl-bayes.md).
BOOST_BOX_ND = 1
BOOST_AXIS_ND = 2
#: Flat-area test (the paper's "homogeneous area" criterion): a group whose
#: noisy empirical variance is at most γ·σ² is replaced by its mean (step 1) or
#: by the mean of its basic estimate (step 2). The paper's γ = 1.05 wiped fine
#: textures (measured, σ given, 256² crops, 5×5 patches, against γ = 0: in both
#: steps −0.5 dB on text at σ = 30, −0.85 on text and −1.1 on brick at σ = 50,
#: −0.1 on camera; in step 2 alone −0.1 to −0.3 dB on text and brick at σ =
#: 30–50), so both steps take γ = 0: only an exactly constant group is replaced
#: by its mean.
GAMMA_STEP1 = 0.0
GAMMA_STEP2 = 0.0
#: Step 1 inverts the noisy group's covariance C; it inverts C + RIDGE·h²·I so
#: that a rank-deficient group (fewer distinct patches than dimensions) keeps a
#: finite estimate. A numerical guard only: the eigenvalues of C that matter are
#: about σ² or more, 1000× the ridge.
RIDGE = 1e-3
#: Both steps also add FLOOR · tr(C)/d to the diagonal of the matrix they invert (C the
#: covariance of the group: the noisy one in step 1, the basic one in step 2; d its size).
#: With a tiny strength h the ridge above vanishes, and a group with fewer members than
#: dimensions has a singular C: this relative floor keeps the solve regular, and the
#: estimate tends to the noisy patch as h → 0. A numerical guard only, 1e-9 of the
#: group's mean variance.
FLOOR = 1e-9
#: Patch distances are ranked after rounding to a multiple of QUANTUM·h², so
#: that the float64 oracle and the float32 backends (whose basic estimates differ
#: by rounding) see the same ties — broken by position — and form the same groups.
QUANTUM = 1e-3
#: Fewest patches in a group (the paper's groups hold 15 to 100).
MIN_GROUP = 15


def group_sizes(f: Sequence[int], n_channels: int) -> tuple[int, int]:
    """(n1, n2): the patches per group of step 1 and of step 2.

    Step 1 filters each channel on its own (vectors of d1 = Π(2f_k+1) values):
    n1 = max(3·d1, 30), so that the d1 × d1 covariance is estimated from about
    three times as many samples as it has dimensions (the paper's colour rule
    3k², and 35–90 for gray 3×3 and 5×5 patches). Step 2 filters vectors over
    all channels (d2 = C·d1): n2 = max(d2, MIN_GROUP), the paper's 15–25 gray
    and 3k² colour groups. Both are capped by the window's size by the callers.
    """
    d1 = math.prod(2 * int(fk) + 1 for fk in f)
    return max(3 * d1, 30), max(n_channels * d1, MIN_GROUP)


def boost_offsets(ndim: int) -> tuple[tuple[int, ...], ...]:
    """Offsets from a group member of the references the paste boost skips with it.

    Images (``ndim`` ≤ 2): the ±1 neighbours along each axis. Volumes: every offset of
    the box of radius :data:`BOOST_BOX_ND` but 0 (raster order), then the offsets
    ±2 … ±:data:`BOOST_AXIS_ND` along each axis.
    """
    if ndim <= 2:
        reach, box = 1, []
    else:
        reach = BOOST_AXIS_ND
        span = range(-BOOST_BOX_ND, BOOST_BOX_ND + 1)
        box = [t for t in itertools.product(span, repeat=ndim) if any(t)]
    axes = [
        tuple(step if k == axis else 0 for k in range(ndim))
        for axis in range(ndim)
        for size in range(1, reach + 1)
        for step in (-size, size)
    ]
    return tuple(box + [t for t in axes if t not in box])


def padding_rule(fk: int, rk: int) -> int:
    """Reflect padding on one axis: ``4(r+f) + 2(TILE−1)`` (see the module docstring)."""
    return 4 * (int(rk) + int(fk)) + 2 * (TILE - 1)


def zones(
    shape: Sequence[int], pad: Sequence[int], f: Sequence[int], r: Sequence[int]
) -> tuple[tuple[tuple[int, int], ...], tuple[tuple[int, int], ...]]:
    """Return the reference zones (per axis, [lo, hi) in padded coordinates) of steps 1 and 2.

    ``shape`` is the padded block's spatial shape and ``pad`` its padding.
    Every zone lies within the patch centres that fit, ``[f_k, S_k − f_k)``.
    """
    step1, step2 = [], []
    for k, (size, pk, fk, rk) in enumerate(zip(shape, pad, f, r, strict=True)):
        reach = fk + rk
        for zone, margin in ((step1, 3 * reach + (TILE - 1 if k == 0 else 0)), (step2, reach)):
            lo, hi = pk - margin, size - pk + margin
            if k == 0:  # whole tiles on the first axis
                lo, hi = (lo // TILE) * TILE, -(-hi // TILE) * TILE
            zone.append((max(lo, fk), min(hi, size - fk)))
    return tuple(step1), tuple(step2)


def grouping_channels(n_channels: int) -> tuple[int, ...]:
    """Return the channels step 1 compares patches on.

    The luminance of a colour image (channel 0 of its opponent planes), every
    channel otherwise.
    """
    return (0,) if n_channels == 3 else tuple(range(n_channels))
