"""The presets of NL-Bayes (``method="bayes"``): patch and search radii from σ.

The rule of Lebrun, Buades & Morel (IPOL 2013) — the patch grows with the
noise — with the sizes set by measurement (benchmarks/quality.py
``--bayes-only``, 256² crops, σ given): 5×5 patches up to σ = 25 (against 3×3
below σ = 20 in the paper: +0.15 dB on camera, +0.5 on brick at σ = 10), 7×7
above (at σ = 30: +0.5 dB on brick, +0.2 on text, −0.1 on camera against
5×5). The group sizes follow from the patch
(:func:`nlmeans.backends._bayes_rules.group_sizes`) and the search window is a
few times the group. h, the square root of the noise variance the Wiener
filters subtract, is σ (the paper's β = 1; 0.9σ and 1.1σ measured worse).
"""

from __future__ import annotations

#: (upper σ bound, 8-bit scale; f; r) for 2-D images, gray and colour alike.
BAYES_PRESETS_2D = (
    (25.0, 2, 9),
    (100.0, 3, 11),
)
#: Volumes and 4-D stacks: 3×3×3 patches (27 values, as a 5×5 one), a 7³ window.
BAYES_PRESETS_ND = ((100.0, 1, 3),)


def bayes_preset(sigma_8bit: float, ndim: int = 2) -> tuple[int, int, float]:
    """(f, r, h / σ) of NL-Bayes for noise ``sigma_8bit`` (8-bit scale) on ``ndim`` axes."""
    table = BAYES_PRESETS_2D if ndim <= 2 else BAYES_PRESETS_ND
    for bound, f, r in table:
        if sigma_8bit <= bound:
            return f, r, 1.0
    _, f, r = table[-1]
    return f, r, 1.0
