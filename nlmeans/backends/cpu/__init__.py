"""The Numba CPU backend: parallel kernels whose cost does not depend on the patch size.

- :mod:`.pixelwise`: the exact pixelwise formula for one h, in tiles, with
  per-shift running box sums and symmetric weights (half the shifts);
- :mod:`.sweeps`: the pixelwise formula for K strengths at once (SURE);
- :mod:`.patchwise`: patchwise aggregation for K strengths at once;
- :mod:`.fastexp`: the vectorisable float32 exp of the weights.

The kernel modules import (and compile or load) on first use, so importing
nlmeans stays fast.
"""

from __future__ import annotations

from ..contract import Backend, square_radii


def pixel_estimates(padded, f, r, sigma, hs):
    """Pixelwise NLM: the symmetric tiled kernel for one h, the sweep kernel for several."""
    f1, r1 = square_radii(f, r)
    if len(hs) == 1:
        from .pixelwise import pixelwise as one

        return one(padded, f1, r1, sigma, hs[0])[None]
    from .sweeps import pixelwise_sweep

    return pixelwise_sweep(padded, f1, r1, sigma, hs)


def patch_estimates(padded, f, r, sigma, hs):
    """Patchwise NLM for K strengths (the distances are shared across them)."""
    from .patchwise import patchwise_sweep

    return patchwise_sweep(padded, *square_radii(f, r), sigma, hs)


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
    methods={"pixel": pixel_estimates, "patch": patch_estimates},
    max_dims=2,
    set_threads=set_threads,
)
