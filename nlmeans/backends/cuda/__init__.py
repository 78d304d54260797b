"""The CUDA backend: NLM on an NVIDIA GPU through numba.cuda.

- :mod:`.launcher`: availability probe, uploads, tiles and launches of the
  pixelwise kernels; :mod:`.kernels`: the kernels themselves.

Importing this package does not import numba.cuda: the availability probe
and the first denoising call do.
"""

from __future__ import annotations

import numpy as np

from ..contract import Backend, square_radii
from .launcher import availability


def pixel_estimates(padded, f, r, sigma, hs):
    """Pixelwise NLM on the GPU, one kernel run per strength."""
    from .launcher import pixelwise

    f1, r1 = square_radii(f, r)
    return np.stack([pixelwise(padded, f1, r1, sigma, h) for h in hs])


def device() -> str:
    """The GPU's name (or the simulator's), for ``nlmeans info``."""
    import numba

    if numba.config.ENABLE_CUDASIM:
        return "Numba's CUDA simulator (NUMBA_ENABLE_CUDASIM=1), no GPU"
    try:
        from numba import cuda

        name = cuda.get_current_device().name
        return name.decode() if isinstance(name, bytes) else str(name)
    except Exception as error:  # a description, never a failure
        return f"device name unavailable ({error})"


BACKEND = Backend(
    name="cuda",
    summary="numba.cuda, NVIDIA GPU",
    methods={"pixel": pixel_estimates},
    max_dims=2,
    availability=availability,
    device=device,
)
