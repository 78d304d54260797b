"""Host side of the CUDA mapped pixelwise method (guide vs values, σ map, mask; 1–3 axes).

Uploads the padded guide and values, the variance ratios and the mask on the
centre grid (:mod:`nlmeans.backends._maps`), runs
:func:`~nlmeans.backends.cuda._mapped_kernels.mapped_pixel` once per strength
and gives the pixels outside the mask their value. Importing this module does
not import numba.cuda; calling it does.
"""

from __future__ import annotations

import math

import numpy as np

from .._contract import weight_constants
from .._maps import centre_mask, centre_ratio, finish_outside
from ._launcher import configure
from ._ndim import MAX_BLOCKS, SIMULATOR_BLOCKS, THREADS


def mapped_pixelwise(
    guide: np.ndarray,
    values: np.ndarray | None,
    f,
    r,
    sigma: float,
    hs,
    *,
    sigma_map: np.ndarray | None = None,
    mask: np.ndarray | None = None,
) -> np.ndarray:
    """Pixelwise NLM of ``values`` weighted on ``guide``, with a σ map and a mask, on the GPU.

    Parameters
    ----------
    guide, values, f, r, sigma, hs, sigma_map, mask
        As in :func:`nlmeans.backends.reference.mapped_pixelwise` (1 to 3 spatial axes).

    Returns
    -------
    ndarray, float32, shape (K, C_v, S_1, …, S_D)
        As :func:`nlmeans.backends.reference.mapped_pixelwise`.

    References
    ----------
    A. Buades, B. Coll, J.-M. Morel, "Non-Local Means Denoising", IPOL 1 (2011).
    """
    from numba import config, cuda

    from ._mapped_kernels import mapped_pixel

    guide = np.ascontiguousarray(guide, dtype=np.float32)
    vals = guide if values is None else np.ascontiguousarray(values, dtype=np.float32)
    f, r = tuple(int(a) for a in f), tuple(int(a) for a in r)
    dims = guide.ndim - 1
    if not 1 <= dims <= 3 or len(f) != dims or len(r) != dims or vals.shape[1:] != guide.shape[1:]:
        raise ValueError(
            f"guide {guide.shape}, values {vals.shape}, f={f}, r={r}: the CUDA mapped kernel "
            "takes 1 to 3 spatial axes, one radius per axis, values on the guide's pixels"
        )
    lead = 3 - dims
    f3, r3 = (0,) * lead + f, (0,) * lead + r
    shape = tuple(
        n - 2 * (fa + ra) for n, fa, ra in zip((1,) * lead + guide.shape[1:], f3, r3, strict=True)
    )
    spatial = guide.shape[1:]
    scales, offsets = weight_constants(hs, sigma, f3, guide.shape[0])
    ratio = centre_ratio(sigma_map, f, r, sigma, spatial)
    inside = centre_mask(mask, f, r, spatial)
    d_guide = cuda.to_device(guide.reshape(-1))
    d_vals = d_guide if values is None else cuda.to_device(vals.reshape(-1))
    d_ratio = cuda.to_device(ratio.reshape(-1))
    d_mask = cuda.to_device(inside.reshape(-1))
    n = math.prod(shape)
    limit = SIMULATOR_BLOCKS if config.ENABLE_CUDASIM else MAX_BLOCKS
    blocks = max(1, min(math.ceil(n / THREADS), limit))
    out = np.zeros((len(scales), vals.shape[0], n), np.float32)
    d_out = cuda.device_array(vals.shape[0] * n, np.float32)
    for k in range(len(scales)):
        configure(mapped_pixel, blocks, THREADS, 0)(
            d_guide, guide.shape[0], d_vals, vals.shape[0], d_ratio, d_mask, *f3, *r3, *shape,
            scales[k], offsets[k], d_out,
        )  # fmt: skip
        out[k] = d_out.copy_to_host().reshape(vals.shape[0], n)
    out = out.reshape((len(scales), vals.shape[0]) + shape[lead:])
    return finish_outside(out, vals, mask, f, r)
