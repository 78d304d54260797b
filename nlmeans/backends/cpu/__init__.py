"""The Numba CPU backend: parallel kernels whose cost does not depend on the patch size.

- :mod:`._pixelwise`: the exact pixelwise formula for one h on a 2-D image with
  equal radii (the common case, tuned hardest: fused row loops, 1- and
  3-channel specialisations);
- :mod:`._framepair`: the exact pixelwise formula for one h on a time stack
  with 2-D patches (f_t = 0, equal spatial radii): the 2-D row loops run on
  each pair of frames of the temporal window;
- :mod:`._ndim`: host side of pixelwise and patchwise for 1 to 4 spatial axes,
  per-axis radii and K strengths at once (SURE's sweeps), in tiles; also every
  run with the Gaussian patch kernel. Its kernels: :mod:`._ndim_symmetric`
  (pixelwise estimates, or the patchwise normalisation),
  :mod:`._ndim_aggregation` (the patchwise second pass),
  :mod:`._ndim_sums` (the steps they share: patch sums, weights,
  accumulation) and :mod:`._ndim_tile` (a tile's extent, buffers and sums);
- :mod:`._mapped` and :mod:`._ndim_mapped`: the mapped pixelwise method
  (guide vs values, σ map, mask), host side and kernel; :mod:`._mapped_tiles`
  its live tiles; a mask on a 2-D image runs on the 2-D kernel's tiles instead
  (:mod:`._mapped_interior` plans the boxes, :mod:`._pixelwise_masked` holds
  the masked tile); both deal their uneven tiles or boxes to the threads in
  shares of equal estimated work (:mod:`._shares`);
- :mod:`._sure_pixel`: pixelwise estimates with their exact SURE divergence;
- :mod:`._bayes`: NL-Bayes (``method="bayes"``), any dimension, parallel over tiles;
- :mod:`._fastexp`: the vectorisable float32 exp of the weights.

The kernel modules import (and compile or load) on first use, so importing
nlmeans stays fast.
"""

from __future__ import annotations

import numpy as np

from .._contract import Backend, is_square, is_time_stack


def pixel_estimates(padded, f, r, sigma, hs, *, patch_kernel="uniform"):
    """Compute pixelwise NLM with the fastest CPU kernel that applies.

    The 2-D kernel for one h, equal radii and the uniform patch kernel (and the
    frame-pair kernel for such frames in a time stack, f_t = 0), else the N-D
    kernel (which also computes the Gaussian patch distance).

    Arguments and result as every backend method's (:class:`~nlmeans.backends.Backend`): the K
    estimates as :func:`nlmeans.backends.reference.pixelwise` computes them.
    """
    if len(hs) == 1 and patch_kernel == "uniform":
        if is_square(f, r):
            from ._pixelwise import pixelwise

            return pixelwise(padded, int(f[0]), int(r[0]), sigma, hs[0])[None]
        if is_time_stack(f, r):
            from ._framepair import framepair

            return framepair(padded, int(r[0]), int(f[1]), int(r[1]), sigma, hs[0])[None]
    from ._ndim import pixelwise

    return pixelwise(padded, f, r, sigma, hs, patch_kernel=patch_kernel)


def patch_estimates(padded, f, r, sigma, hs, *, patch_kernel="uniform"):
    """Patchwise NLM for K strengths (the distances are shared across them).

    Arguments and result as every backend method's (:class:`~nlmeans.backends.Backend`): the K
    estimates as :func:`nlmeans.backends.reference.patchwise` computes them.
    """
    from ._ndim import patchwise

    return patchwise(padded, f, r, sigma, hs, patch_kernel=patch_kernel)


def mapped_estimates(guide, values, f, r, sigma, hs, *, sigma_map=None, mask=None):
    """Pixelwise NLM of ``values`` weighted on ``guide`` with a σ map and a mask (N-D).

    Arguments and result as every backend method's (:class:`~nlmeans.backends.Backend`): the K
    estimates as :func:`nlmeans.backends.reference_mapped.mapped_pixelwise`.
    """
    from ._mapped import mapped_pixelwise

    return mapped_pixelwise(guide, values, f, r, sigma, hs, sigma_map=sigma_map, mask=mask)


def motion_estimates(padded, f, r, sigma, h, moves, block, margin):
    """Compute motion-compensated pixelwise NLM of a time stack.

    The frame-pair kernel with each block's search boxes displaced
    (:func:`.framepair.framepair_motion`); where no box moves, the static frame-pair
    kernel on the stack without the margin (the same formula, in larger tiles).

    Arguments and result as every backend's ``motion`` method
    (:class:`~nlmeans.backends.Backend`).
    """
    from ._framepair import framepair, framepair_motion

    if margin > 0 and not np.any(moves):
        inner = padded[:, :, margin:-margin, margin:-margin]
        return framepair(inner, int(r[0]), int(f[1]), int(r[1]), sigma, h)

    return framepair_motion(padded, int(r[0]), int(f[1]), int(r[1]), sigma, h, moves, block, margin)


def bayes_estimates(padded, f, r, sigma, hs, *, patch_kernel="uniform"):
    """NL-Bayes (Lebrun, Buades & Morel 2013), both steps, for K strengths.

    Arguments and result as every backend method's (:class:`~nlmeans.backends.Backend`): the K
    estimates as :func:`nlmeans.backends.reference_bayes.bayes` computes them.
    """
    from ._bayes import bayes

    return bayes(padded, f, r, sigma, hs, patch_kernel=patch_kernel)


def kernel_cache_folder() -> str:
    """Return the folder where Numba keeps this installation's compiled CPU kernels.

    Numba's dispatcher knows the folder it picked (beside the module, or a user
    cache folder when that one is not writable); older Numba versions may not
    say, and then Numba's configured cache folder or the module's ``__pycache__``
    is returned.

    Returns
    -------
    str
        The folder's path.
    """
    from pathlib import Path

    from . import _pixelwise

    cache = getattr(_pixelwise.pixelwise_kernel, "_cache", None)
    if getattr(cache, "_cache_path", None):
        return str(cache._cache_path)
    import numba

    return numba.config.CACHE_DIR or str(Path(_pixelwise.__file__).parent / "__pycache__")


def set_threads(n: int) -> None:
    """Use ``n`` Numba threads (1 … NUMBA_NUM_THREADS), else NLMeansError.

    Parameters
    ----------
    n : int
        Threads for the CPU kernels, 1 … NUMBA_NUM_THREADS.
    """
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
    mapped=mapped_estimates,
    motion=motion_estimates,
)
