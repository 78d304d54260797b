"""numba.cuda kernels for pixelwise NLM; imported only by :mod:`.launcher`.

Importing this module imports ``numba.cuda``, so the launcher imports it only
once the CUDA backend has been asked for and found usable.

One thread computes one output pixel p of a block tile. For each shift t of the
search window the block box-sums D_t(p) = Σ_c (u_c(p) − u_c(p + t))² over the
(2f+1)² patch in shared memory (Darbon, Cunha, Chan, Osher & Jensen, 2008:
first the squared differences of the tile plus its f-halo, then column sums,
then each thread's row sum), so a patch distance costs O(f) loads instead of
O(f²). The weight and the sums Σ w and Σ w u_c(q) stay in registers; the output
is written once. All arithmetic is float32.

Shared memory is one dynamic float32 buffer (its size set by the launcher), carved as:

- ``D``   (BH + 2f) × (BW + 2f): squared channel differences for the current shift,
- ``V``   BH × (BW + 2f): their column sums over the patch's 2f + 1 rows,
- ``img`` C × (BH + 2(r+f)) × (BW + 2(r+f)): the staged tile plus its r+f halo
  (staged kernel only; the other kernel reads the image from global memory,
  for search windows too large to stage).

A kernel launch accumulates up to 4 channels (c0 … c0+ng−1) of the numerator;
the launcher covers more channels with further launches. The patch distance
always uses all C channels.
"""

from __future__ import annotations

import math

from numba import cuda, float32

from ..._kernel_cache import ensure_kernel_cache

ensure_kernel_cache(__file__)  # before the first cached kernel is defined

#: Channels of the numerator Σ w u_c(q) one launch accumulates in registers.
GROUP = 4


@cuda.jit(device=True)
def _tile_estimate(src, origin, plane, row, n_channels, c0, ng, f, r, scale, offset, buf, out):
    """Accumulate the NLM estimate of this thread's pixel and write ``out[c0:c0+ng]``.

    ``src[origin + c·plane + i·row + j]`` is the padded image at (i, j) relative
    to the block tile's padded origin; ``buf`` is the dynamic shared buffer with
    D at 0 and V right after it. ``scale`` = 1 / (C (2f+1)² h²) and ``offset`` =
    2σ²/h², so w = exp(−max(patch_sum · scale − offset, 0)).
    """
    height = out.shape[1]
    width = out.shape[2]
    bw = cuda.blockDim.x
    bh = cuda.blockDim.y
    lx = cuda.threadIdx.x
    ly = cuda.threadIdx.y
    y = cuda.blockIdx.y * bh + ly
    x = cuda.blockIdx.x * bw + lx
    side = 2 * f + 1
    pad = r + f
    d_height = bh + 2 * f
    d_width = bw + 2 * f
    d_size = d_height * d_width
    # D rows/columns below these feed a pixel inside the image (the rest of a
    # border tile is never read, and reading it could leave the padded array).
    d_rows = height - cuda.blockIdx.y * bh + 2 * f
    d_cols = width - cuda.blockIdx.x * bw + 2 * f
    inside = y < height and x < width
    zero = float32(0.0)
    den = zero
    n0 = zero
    n1 = zero
    n2 = zero
    n3 = zero
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            # D_t(p) = Σ_c (u_c(p) − u_c(p + t))² over the tile plus its f-halo;
            # thread (lx, ly) fills D(i, j) for i ≡ ly (mod bh), j ≡ lx (mod bw).
            i = ly
            while i < d_height:
                j = lx
                while j < d_width:
                    acc = zero
                    if i < d_rows and j < d_cols:
                        a = origin + (r + i) * row + (r + j)
                        b = a + dy * row + dx
                        for c in range(n_channels):
                            d = src[a + c * plane] - src[b + c * plane]
                            acc += d * d
                    buf[i * d_width + j] = acc
                    j += bw
                i += bh
            cuda.syncthreads()
            # V(ly, j) = Σ_{m=0}^{2f} D(ly + m, j): the patch's vertical sums.
            j = lx
            while j < d_width:
                acc = zero
                for m in range(side):
                    acc += buf[(ly + m) * d_width + j]
                buf[d_size + ly * d_width + j] = acc
                j += bw
            cuda.syncthreads()
            # The next shift writes only D, which no thread reads past the
            # barrier above, so V needs no further barrier before it is read.
            if inside:
                # Σ_{j ∈ B(0,f)} D_t(p + j) = C (2f+1)² d²(p, p + t).
                s = zero
                for m in range(side):
                    s += buf[d_size + ly * d_width + lx + m]
                # w(p, p+t) = exp(−max(d² − 2σ², 0) / h²). (No min/max builtins
                # in the kernels: not every numba.cuda version compiles them.)
                e = s * scale - offset
                if e < zero:
                    e = zero
                w = math.exp(-e)
                den += w
                # Σ_q w(p, q) u_c(q) for this launch's channels.
                q = origin + (pad + ly + dy) * row + (pad + lx + dx) + c0 * plane
                n0 += w * src[q]
                if ng > 1:
                    n1 += w * src[q + plane]
                if ng > 2:
                    n2 += w * src[q + 2 * plane]
                if ng > 3:
                    n3 += w * src[q + 3 * plane]
    if inside:
        # û_c(p) = Σ w u_c(q) / Σ w; the centre weight is exp(0) = 1, so den >= 1.
        out[c0, y, x] = n0 / den
        if ng > 1:
            out[c0 + 1, y, x] = n1 / den
        if ng > 2:
            out[c0 + 2, y, x] = n2 / den
        if ng > 3:
            out[c0 + 3, y, x] = n3 / den


@cuda.jit(cache=True)
def staged_kernel(padded, p_height, p_width, n_channels, c0, ng, f, r, scale, offset, out):
    """NLM with the block's tile plus its r+f halo staged in shared memory.

    ``padded`` is the flat (C · p_height · p_width) reflect-padded image and
    ``out`` the (C, H, W) estimate; see :func:`_tile_estimate`.
    """
    buf = cuda.shared.array(0, dtype=float32)
    bw = cuda.blockDim.x
    bh = cuda.blockDim.y
    pad = r + f
    s_height = bh + 2 * pad
    s_width = bw + 2 * pad
    s_plane = s_height * s_width
    base = (bh + 2 * f) * (bw + 2 * f) + bh * (bw + 2 * f)
    y0 = cuda.blockIdx.y * bh
    x0 = cuda.blockIdx.x * bw
    # Cooperative copy of u over the tile and its halo; what lies past the
    # padded array (border tiles) is zero and never feeds an inside pixel.
    for c in range(n_channels):
        i = cuda.threadIdx.y
        while i < s_height:
            j = cuda.threadIdx.x
            while j < s_width:
                value = float32(0.0)
                if y0 + i < p_height and x0 + j < p_width:
                    value = padded[(c * p_height + y0 + i) * p_width + x0 + j]
                buf[base + c * s_plane + i * s_width + j] = value
                j += bw
            i += bh
    cuda.syncthreads()
    _tile_estimate(buf, base, s_plane, s_width, n_channels, c0, ng, f, r, scale, offset, buf, out)


@cuda.jit(cache=True)
def global_kernel(padded, p_height, p_width, n_channels, c0, ng, f, r, scale, offset, out):
    """NLM reading u from global memory (search windows too large to stage).

    Same arguments and result as :func:`staged_kernel`.
    """
    buf = cuda.shared.array(0, dtype=float32)
    origin = cuda.blockIdx.y * cuda.blockDim.y * p_width + cuda.blockIdx.x * cuda.blockDim.x
    _tile_estimate(
        padded,
        origin,
        p_height * p_width,
        p_width,
        n_channels,
        c0,
        ng,
        f,
        r,
        scale,
        offset,
        buf,
        out,
    )
