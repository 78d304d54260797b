"""numba.cuda kernel of the mapped pixelwise method: guide vs values, σ map, mask.

The formulas of :func:`nlmeans.backends.reference.mapped_pixelwise`. Every
image is seen as 3-D (leading singleton axes with f = r = 0). One thread per
output pixel p (grid-stride); a pixel outside the mask returns at once (the
host gives it v(p)), so the work falls with the mask's area. For each shift t
of B(0, r) the thread sums the patch distance directly,

    patch_sum = Σ_c Σ_{j ∈ B(0,f)} (u_c(p + j) − u_c(p + t + j))²,
    w         = exp(−max(patch_sum · scale / ρ − offset, 0)),  ρ = (m(p) + m(p + t)) / 2,

with the host's constants scale = 1/(C N h²), offset = 2σ₀²/h² and the variance
ratios m = s²/σ₀² on the grid of centres within r of the image, multiplies w by
the candidate's mask μ(p + t) (t ≠ 0) and adds w v_c(p + t) and w. O(C N) work per
candidate: simple and exact, slower than the box-sum kernels for large patches.

Layout: flat float32 device buffers in C order: guide (C, P0, P1, P2), values
(C_v, P0, P1, P2) with P_a = S_a + 2(r_a + f_a); ratio and mask (G0, G1, G2)
with G_a = S_a + 2 r_a; out (C_v, S0, S1, S2) for one strength.
"""

from __future__ import annotations

import math

from numba import cuda, float32

from ..._kernel_cache import ensure_kernel_cache

ensure_kernel_cache(__file__)  # before the first cached kernel is defined


@cuda.jit(cache=True)
def mapped_pixel(
    guide, n_ch, values, n_v, ratio, mask, f0, f1, f2, r0, r1, r2, s0, s1, s2, scale, offset,
    out,
):  # fmt: skip
    """out[c, p] = Σ_q M w v_c(q) / Σ_q M w for every pixel p inside the mask."""
    p1 = s1 + 2 * (r1 + f1)
    p2 = s2 + 2 * (r2 + f2)
    plane = (s0 + 2 * (r0 + f0)) * p1 * p2
    g1 = s1 + 2 * r1
    g2 = s2 + 2 * r2
    n = s0 * s1 * s2
    start = cuda.grid(1)
    step = cuda.gridsize(1)
    for idx in range(start, n, step):
        i2 = idx % s2
        i1 = (idx // s2) % s1
        i0 = idx // (s1 * s2)
        at_p = ((i0 + r0) * g1 + i1 + r1) * g2 + i2 + r2  # p on the centre grid
        if mask[at_p] == float32(0.0):
            continue
        m_p = ratio[at_p]
        den = float32(0.0)
        for c in range(n_v):
            out[c * n + idx] = float32(0.0)
        for t0 in range(-r0, r0 + 1):
            for t1 in range(-r1, r1 + 1):
                for t2 in range(-r2, r2 + 1):
                    at_q = ((i0 + r0 + t0) * g1 + i1 + r1 + t1) * g2 + i2 + r2 + t2
                    w = float32(1.0)  # M(p, p) w(p, p) = 1
                    if t0 != 0 or t1 != 0 or t2 != 0:
                        if mask[at_q] == float32(0.0):
                            continue  # M(p, q) = μ(q) = 0
                        # patch_sum = Σ_c Σ_j (u_c(p + j) − u_c(q + j))²
                        total = float32(0.0)
                        for c in range(n_ch):
                            for j0 in range(-f0, f0 + 1):
                                for j1 in range(-f1, f1 + 1):
                                    row = (i0 + r0 + f0 + j0) * p1 + i1 + r1 + f1 + j1
                                    there = (i0 + r0 + f0 + j0 + t0) * p1 + i1 + r1 + f1 + j1 + t1
                                    for j2 in range(-f2, f2 + 1):
                                        a = guide[c * plane + row * p2 + i2 + r2 + f2 + j2]
                                        b = guide[c * plane + there * p2 + i2 + r2 + f2 + j2 + t2]
                                        d = a - b
                                        total += d * d
                        # ρ = σ̄²/σ₀², the mean of both patches' variance ratios
                        rho = float32(0.5) * (m_p + ratio[at_q])
                        arg = max(total * scale / rho - offset, float32(0.0))
                        w = float32(math.exp(-arg))
                    # Σ_q M w v_c(q) and Σ_q M w
                    den += w
                    at_v = ((i0 + r0 + f0 + t0) * p1 + i1 + r1 + f1 + t1) * p2 + i2 + r2 + f2 + t2
                    for c in range(n_v):
                        out[c * n + idx] += w * values[c * plane + at_v]
        for c in range(n_v):
            out[c * n + idx] = out[c * n + idx] / den
