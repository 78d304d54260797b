"""The presets of NL-Bayes (``method="bayes"``): patch and search radii from σ.

The rule of Lebrun, Buades & Morel (IPOL 2013) — the patch grows with the
noise — with the sizes set by measurement (256² crops of camera, brick, text
and coins, σ given, against the ``bm3d`` package; docs/nl-bayes.md has the
figures): 5×5 patches up to σ = 15 (against 3×3 below σ = 20 in the paper:
+0.15 dB on camera, +0.5 on brick at σ = 10), 7×7 above (mean of the four
crops against 5×5: +0.04 dB at σ = 20 with 29×29 windows, +0.07 at σ = 25
with 23×23 ones). The windows are wider than the first presets' 19×19 and
23×23 (+0.03 dB at σ = 10, +0.06 at σ = 50); 25×25 at σ 20–30 keeps the
time of a 512² image within half of BM3D's. The group sizes follow from the patch
(:func:`nlmeans.backends._bayes_rules.group_sizes`). h, the square root of the
noise variance the Wiener filters subtract, is σ (the paper's β = 1; 0.9σ and
1.1σ measured worse, 1.1σ in step 1 by up to 1.4 dB). Volumes: 3×3×3 patches in a
5³ window, and a paste boost over a member's 3×3×3 box and ±2 along each axis, to
stay well within 10× the time of 3-D NLM (figures at :data:`BAYES_PRESETS_ND`).
"""

from __future__ import annotations

#: (upper σ bound, 8-bit scale; f; r) for 2-D images, gray and colour alike.
BAYES_PRESETS_2D = (
    (15.0, 2, 12),
    (30.0, 3, 12),
    (100.0, 3, 14),
)
#: Colour images (3 channels, 2-D): 5×5 patches at every σ. Step 2 filters patches over
#: the three channels (3·d values), where 7×7 ones lost 0.1–0.4 dB on astronaut and
#: coffee at σ = 20–50; a 31×31 window above σ = 20 (astronaut: +0.04 dB at σ 30 and
#: +0.06 at σ 50 against 25×25).
BAYES_PRESETS_COLOUR = (
    (20.0, 2, 12),
    (100.0, 2, 15),
)
#: Volumes and 4-D stacks: 3×3×3 patches (27 values, as a 5×5 one), a 5³ window
#: (32×96×96 blobs at σ = 20: +0.07 dB against a 7³ one, with 2.7× fewer candidates).
#: With the volumes' paste boost over a member's 3×3×3 box and ±2 along each axis
#: (:func:`nlmeans.backends._bayes_rules.boost_offsets`), 64×128×128 blobs at σ = 20
#: come out 0.95 dB above 3-D NLM at 7.4× its time (the axis boost: +1.18 dB at 12.1×);
#: smaller groups lost 0.14–0.37 dB and saved no time.
BAYES_PRESETS_ND = ((100.0, 1, 2),)


def bayes_preset(sigma_8bit: float, ndim: int = 2, n_channels: int = 1) -> tuple[int, int, float]:
    """(f, r, h / σ) of NL-Bayes: noise ``sigma_8bit`` (8-bit), ``ndim`` axes, ``n_channels``."""
    if ndim > 2:
        table = BAYES_PRESETS_ND
    else:
        table = BAYES_PRESETS_COLOUR if n_channels == 3 else BAYES_PRESETS_2D
    for bound, f, r in table:
        if sigma_8bit <= bound:
            return f, r, 1.0
    _, f, r = table[-1]
    return f, r, 1.0
