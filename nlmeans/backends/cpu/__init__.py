"""The Numba CPU backend: parallel kernels whose cost does not depend on the patch size.

- :mod:`.pixelwise`: the exact pixelwise formula for one h on a 2-D image with
  equal radii (the common case, tuned hardest: fused row loops, 1- and
  3-channel specialisations);
- :mod:`.ndim`: pixelwise and patchwise for 1 to 4 spatial axes, per-axis
  radii and K strengths at once (SURE's sweeps), in tiles; also every run with
  the Gaussian patch kernel;
- :mod:`.bayes`: NL-Bayes (``method="bayes"``), any dimension, parallel over tiles;
- :mod:`.fastexp`: the vectorisable float32 exp of the weights.

The kernel modules import (and compile or load) on first use, so importing
nlmeans stays fast.
"""

from __future__ import annotations

from ..contract import Backend, is_square


def pixel_estimates(padded, f, r, sigma, hs, *, patch_kernel="uniform"):
    """Pixelwise NLM: the 2-D kernel for one h, equal radii and the uniform patch kernel,
    else the N-D kernel (which also computes the Gaussian patch distance)."""
    if len(hs) == 1 and is_square(f, r) and patch_kernel == "uniform":
        from .pixelwise import pixelwise

        return pixelwise(padded, int(f[0]), int(r[0]), sigma, hs[0])[None]
    from .ndim import pixelwise

    return pixelwise(padded, f, r, sigma, hs, patch_kernel=patch_kernel)


def patch_estimates(padded, f, r, sigma, hs, *, patch_kernel="uniform"):
    """Patchwise NLM for K strengths (the distances are shared across them)."""
    from .ndim import patchwise

    return patchwise(padded, f, r, sigma, hs, patch_kernel=patch_kernel)


def bayes_estimates(padded, f, r, sigma, hs, *, patch_kernel="uniform"):
    """NL-Bayes (Lebrun, Buades & Morel 2013), both steps, for K strengths."""
    from .bayes import bayes

    return bayes(padded, f, r, sigma, hs, patch_kernel=patch_kernel)


def set_threads(n: int) -> None:
    """Use ``n`` Numba threads (1 … NUMBA_NUM_THREADS), else NLMeansError."""
    import numba
    import numpy as np

    from ...errors import NLMeansError

    most = numba.config.NUMBA_NUM_THREADS
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= n <= most:
        raise NLMeansError(
            f"threads={n!r} is out of range; expected an integer 1 <= threads <= {most} "
            "(the CPU threads Numba may use here; the NUMBA_NUM_THREADS variable sets the limit)"
        )
    numba.set_num_threads(int(n))


BACKEND = Backend(
    name="cpu",
    summary="Numba, parallel",
    methods={"pixel": pixel_estimates, "patch": patch_estimates, "bayes": bayes_estimates},
    max_dims=4,
    patch_kernels=("uniform", "gaussian"),
    set_threads=set_threads,
)
