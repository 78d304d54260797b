"""Parameters chosen by SURE, Stein's unbiased risk estimate, without a clean image.

- :mod:`._scores`: SURE of NLM estimates on sampled tiles (Monte-Carlo divergence);
- :mod:`._exact`: SURE of pixelwise NLM with its exact divergence (images and volumes);
- :mod:`._search`: :func:`tune`, the pruned search over method, f, r, h (and h_chroma);
- :mod:`._grids`: the search space (candidate radii, the h grids and their centre);
- :mod:`._ranking`: scoring and ranking candidates, luminance and chrominance apart;
- :mod:`._combination`: SURE-weighted linear combinations of estimates (``method="combined"``);
- :mod:`._choice`: the choice between the NLM result and NL-Bayes (``method="auto"``).
"""

from __future__ import annotations

from ._choice import BAYES_EPSILON_RATIO, bayes_sweep, choose_bayes
from ._combination import combined_estimate, fit_combination, fit_weights
from ._grids import (
    COARSE_STEPS,
    COLOR_COARSE_STEPS,
    FINE_STEPS,
    KEEP,
    PATCH_RADII,
    SEARCH_RADII,
    SMALL_IMAGE_SEARCH_RADII,
    VOLUME_PATCH_RADII,
    VOLUME_SEARCH_RADII,
    centre_ratio,
    patch_scale,
)
from ._ranking import best_per_group, interior_blocks
from ._scores import (
    MIN_SAMPLE_PIXELS,
    SAMPLE_FRACTION,
    TILE,
    Candidate,
    Sweep,
    sample_blocks,
    sample_tiles,
    sure_scores,
    sweep_tiles,
)
from ._search import tune

__all__ = [
    "BAYES_EPSILON_RATIO",
    "COARSE_STEPS",
    "COLOR_COARSE_STEPS",
    "FINE_STEPS",
    "KEEP",
    "MIN_SAMPLE_PIXELS",
    "PATCH_RADII",
    "SAMPLE_FRACTION",
    "SEARCH_RADII",
    "SMALL_IMAGE_SEARCH_RADII",
    "TILE",
    "VOLUME_PATCH_RADII",
    "VOLUME_SEARCH_RADII",
    "Candidate",
    "Sweep",
    "bayes_sweep",
    "best_per_group",
    "centre_ratio",
    "choose_bayes",
    "combined_estimate",
    "fit_combination",
    "fit_weights",
    "interior_blocks",
    "patch_scale",
    "sample_blocks",
    "sample_tiles",
    "sure_scores",
    "sweep_tiles",
    "tune",
]
