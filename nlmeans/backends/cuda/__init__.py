"""The CUDA backend: NLM on an NVIDIA GPU through numba.cuda.

- :mod:`._launcher` and :mod:`._kernels`: the availability probe and the 2-D
  pixelwise kernel for one h (shared-memory staging, register sums);
- :mod:`._ndim` and :mod:`._ndim_kernels`: pixelwise and patchwise for 1 to 3
  spatial axes, per-axis radii and several h at once (SURE's sweeps);
- :mod:`._mapped` and :mod:`._mapped_kernels`: the mapped pixelwise method
  (guide vs values, σ map, mask; 1 to 3 axes);
- :mod:`._motion`: motion-compensated pixelwise NLM of a time stack.

Importing this package does not import numba.cuda: the availability probe
and the first denoising call do.
"""

from __future__ import annotations

from ..._interrupts import reraise_interrupt
from .._contract import Backend, is_square
from . import _ndim as ndim
from ._launcher import availability


def pixel_estimates(padded, f, r, sigma, hs, *, patch_kernel="uniform"):
    """Compute pixelwise NLM on the GPU with the fastest kernel that applies.

    The staged 2-D kernel for one h, equal radii and the uniform patch kernel,
    else N-D (which also computes the Gaussian patch distance).

    Arguments and result as every backend method's (:class:`~nlmeans.backends.Backend`): the K
    estimates as :func:`nlmeans.backends.reference.pixelwise` computes them.
    """
    if len(hs) == 1 and is_square(f, r) and patch_kernel == "uniform":
        from ._launcher import pixelwise

        return pixelwise(padded, int(f[0]), int(r[0]), sigma, hs[0])[None]
    return ndim.pixelwise(padded, f, r, sigma, hs, patch_kernel=patch_kernel)


def mapped_estimates(guide, values, f, r, sigma, hs, *, sigma_map=None, mask=None):
    """Pixelwise NLM of ``values`` weighted on ``guide`` with a σ map and a mask (1–3 axes).

    Arguments and result as every backend method's (:class:`~nlmeans.backends.Backend`): the K
    estimates as :func:`nlmeans.backends.reference_mapped.mapped_pixelwise`.
    """
    from ._mapped import mapped_pixelwise

    return mapped_pixelwise(guide, values, f, r, sigma, hs, sigma_map=sigma_map, mask=mask)


def motion_estimates(padded, f, r, sigma, h, moves, block, margin):
    """Compute motion-compensated pixelwise NLM of a time stack, one thread per output pixel.

    See :func:`nlmeans.backends.cuda._motion.motion_pixelwise`.

    Arguments and result as every backend's ``motion`` method
    (:class:`~nlmeans.backends.Backend`).
    """
    from ._motion import motion_pixelwise

    return motion_pixelwise(padded, f, r, sigma, h, moves, block, margin)


def device() -> str:
    """Return the GPU's name (or the simulator's), for ``nlmeans info``."""
    import numba

    if numba.config.ENABLE_CUDASIM:
        return "Numba's CUDA simulator (NUMBA_ENABLE_CUDASIM=1), no GPU"
    try:
        from numba import cuda

        name = cuda.get_current_device().name
        return name.decode() if isinstance(name, bytes) else str(name)
    except Exception as error:  # a description, never a failure
        reraise_interrupt(error)
        return f"device name unavailable ({error})"


BACKEND = Backend(
    name="cuda",
    summary="numba.cuda, NVIDIA GPU",
    methods={"pixel": pixel_estimates, "patch": ndim.patchwise},
    max_dims=3,
    patch_kernels=("uniform", "gaussian"),
    availability=availability,
    device=device,
    mapped=mapped_estimates,
    motion=motion_estimates,
)
