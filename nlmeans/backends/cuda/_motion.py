"""numba.cuda: motion-compensated pixelwise NLM of a time stack with 2-D patches.

One thread computes one output pixel (t, y, x): for each neighbour frame
t + k (|k| ≤ r_t) it visits the (2r + 1)² candidates q = p + v + s of the
search box displaced by its block's v (v = 0 for k = 0), the patch distance
summed directly over the (2f + 1)² offsets and C channels, and keeps Σ w and
Σ w u_c(q) in registers (up to :data:`MAX_CHANNELS` channels). The formulas
are those of :func:`nlmeans.backends.reference.motion_pixelwise`; float32
throughout. Importing this module imports numba.cuda: the backend imports it
on first use.
"""

from __future__ import annotations

import math

import numpy as np
from numba import cuda, float32

from ..._kernel_cache import ensure_kernel_cache
from ...errors import NLMeansError
from .._contract import weight_constants

ensure_kernel_cache(__file__)  # before the first cached kernel is defined

#: Channels whose numerators one thread keeps in registers.
MAX_CHANNELS = 4


@cuda.jit(cache=True)
def _motion_kernel(u, rt, f, r, pad, scale, offset, moves, block, out):
    """out[c, t, y, x] = Σ w u_c(t + k, q) / Σ w over the displaced boxes (one thread each).

    ``u`` (C, T + 2 r_t, H + 2 pad, W + 2 pad); ``scale`` = 1 / (C (2f+1)² h²),
    ``offset`` = 2σ²/h²: w = exp(−max(patch_sum · scale − offset, 0)).
    """
    n_channels, n_frames, height, width = out.shape
    x, y, t = cuda.grid(3)
    if x >= width or y >= height or t >= n_frames:
        return
    num = cuda.local.array(MAX_CHANNELS, float32)
    for c in range(n_channels):
        num[c] = float32(0.0)
    den = float32(0.0)
    by = y // block
    bx = x // block
    for k in range(-rt, rt + 1):
        vy = 0
        vx = 0
        if k != 0:
            vy = moves[t, rt + k, by, bx, 0]
            vx = moves[t, rt + k, by, bx, 1]
        for sy in range(-r, r + 1):
            for sx in range(-r, r + 1):
                qy = y + vy + sy
                qx = x + vx + sx
                # Σ_c Σ_j (u_c(t, p + j) − u_c(t + k, q + j))²: the patch sum of d².
                total = float32(0.0)
                for c in range(n_channels):
                    for jy in range(-f, f + 1):
                        for jx in range(-f, f + 1):
                            d = (
                                u[c, rt + t, pad + y + jy, pad + x + jx]
                                - u[c, rt + t + k, pad + qy + jy, pad + qx + jx]
                            )
                            total += d * d
                # w = exp(−max(d² − 2σ², 0) / h²)
                e = max(total * scale - offset, float32(0.0))
                w = float32(math.exp(-e))
                den += w
                for c in range(n_channels):
                    num[c] += w * u[c, rt + t + k, pad + qy, pad + qx]
    for c in range(n_channels):
        out[c, t, y, x] = num[c] / den


def motion_pixelwise(padded, f, r, sigma, h, moves, block, margin) -> np.ndarray:
    """Motion-compensated pixelwise NLM on the GPU.

    As :func:`nlmeans.backends.reference.motion_pixelwise` (same arguments; f = (0, f, f),
    r = (r_t, r, r); at most :data:`MAX_CHANNELS` channels).

    References
    ----------
    A. Buades, B. Coll, J.-M. Morel, "Non-Local Means Denoising", IPOL 1 (2011).
    """
    padded = np.ascontiguousarray(padded, dtype=np.float32)
    rt, fs, rs = int(r[0]), int(f[1]), int(r[1])
    pad = rs + fs + int(margin)
    n_channels, frames, rows, cols = padded.shape
    if n_channels > MAX_CHANNELS:
        raise NLMeansError(
            f"motion=True on the CUDA backend takes up to {MAX_CHANNELS} channels, not "
            f"{n_channels}; use backend='cpu'"
        )
    shape = (n_channels, frames - 2 * rt, rows - 2 * pad, cols - 2 * pad)
    scales, offsets = weight_constants([h], sigma, (0, fs, fs), n_channels)
    d_out = cuda.device_array(shape, np.float32)
    threads = (16, 8, 1)
    grid = tuple(-(-n // b) for n, b in zip((shape[3], shape[2], shape[1]), threads, strict=True))
    _motion_kernel[grid, threads](
        cuda.to_device(padded), rt, fs, rs, pad, np.float32(scales[0]), np.float32(offsets[0]),
        cuda.to_device(np.ascontiguousarray(moves, dtype=np.int64)), int(block), d_out,
    )  # fmt: skip
    return d_out.copy_to_host()
