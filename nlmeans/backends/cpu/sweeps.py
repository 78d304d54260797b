"""NLM for several filtering strengths h in one pass over the shifts (for SURE tuning).

The patch distances d²(p, p+t) do not depend on h, so a sweep computes them
once per shift and turns them into K weights w_k = exp(−max(d² − 2σ², 0) / h_k²),
one per h: the pixelwise estimate of Buades, Coll & Morel (CVPR 2005; IPOL 2011).
The patchwise kernels (:mod:`.patchwise`) take several h the same way.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ..contract import weight_constants
from .fastexp import EXP_ARG_MAX, exp_minus
from .patchwise import band_patch_sums, band_rows

_ZERO = np.float32(0.0)


@njit(parallel=True, cache=True, nogil=True)
def _pixelwise_sweep_kernel(padded, f, r, scales, offsets, band, out):
    """``out[k, c, y, x] = Σ_t w_k(p, p+t) u_c(p+t) / Σ_t w_k(p, p+t)``, p = (y, x).

    ``padded`` is (C, H + 2(r+f), W + 2(r+f)); ``out`` is (K, C, H, W);
    ``scales[k]`` = 1/(C N h_k²) turns a patch sum into d²/h_k², ``offsets[k]`` = 2σ²/h_k².
    Threads take bands of ``band`` rows.
    """
    n_h, n_channels, height, width = out.shape
    pad = r + f
    n_bands = (height + band - 1) // band
    for band_index in prange(n_bands):
        y0 = band_index * band
        rows = min(band, height - y0)
        diff = np.empty((rows + 2 * f, width + 2 * f), dtype=np.float32)
        column_sum = np.empty(width + 2 * f, dtype=np.float32)
        sums = np.empty((rows, width), dtype=np.float32)
        weight = np.empty(width, dtype=np.float32)
        numerator = np.zeros((n_h, n_channels, rows, width), dtype=np.float32)
        denominator = np.zeros((n_h, rows, width), dtype=np.float32)
        for ty in range(-r, r + 1):
            for tx in range(-r, r + 1):
                band_patch_sums(padded, r + y0, r, rows, width, f, ty, tx, diff, column_sum, sums)
                src_col = np.uint64(pad + tx)
                for k in range(n_h):
                    scale, offset = scales[k], offsets[k]
                    for i in range(np.uint64(rows)):
                        # w_k(p, p + t) = exp(−max(d² − 2σ², 0) / h_k²); Σ_t w_k and Σ_t w_k u(p+t).
                        for x in range(np.uint64(width)):
                            arg = min(max(sums[i, x] * scale - offset, _ZERO), EXP_ARG_MAX)
                            weight[x] = exp_minus(arg)
                            denominator[k, i, x] += weight[x]
                        src_row = np.uint64(y0 + pad + ty) + i
                        for c in range(n_channels):
                            for x in range(np.uint64(width)):
                                numerator[k, c, i, x] += weight[x] * padded[c, src_row, src_col + x]
        # The centre weight is 1, so every denominator is at least 1.
        for k in range(n_h):
            for c in range(n_channels):
                for y in range(rows):
                    for x in range(width):
                        out[k, c, y0 + y, x] = numerator[k, c, y, x] / denominator[k, y, x]


def pixelwise_sweep(padded: np.ndarray, f: int, r: int, sigma: float, hs) -> np.ndarray:
    """Pixelwise NLM for every h in ``hs`` at once.

    ``padded`` is float32 (C, H + 2(r+f), W + 2(r+f)), reflect-padded; returns
    float32 (K, C, H, W), one estimate per h.
    """
    padded = np.ascontiguousarray(padded, dtype=np.float32)
    pad = r + f
    n_channels = padded.shape[0]
    height, width = padded.shape[1] - 2 * pad, padded.shape[2] - 2 * pad
    scales, offsets = weight_constants(hs, sigma, (f, f), n_channels)
    out = np.empty((len(scales), n_channels, height, width), dtype=np.float32)
    _pixelwise_sweep_kernel(padded, f, r, scales, offsets, band_rows(height), out)
    return out
