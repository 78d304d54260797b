"""numba.cuda kernels for pixelwise and patchwise NLM on 1–3 spatial axes with K strengths.

Importing this module imports ``numba.cuda``; :mod:`nlmeans.backends.cuda._ndim`
imports it only when a CUDA run is asked for.

Every image is seen as 3-D (a 2-D or 1-D image has leading singleton axes, with
f = r = 0 there), with per-axis patch radii (f0, f1, f2) and search radii. The
formulas (Buades, Coll & Morel, "Non-Local Means Denoising", IPOL 2011), for a
shift t of the search window B(0, r):

    patch_sum_t(p) = Σ_c Σ_{j ∈ B(0,f)} (u_c(p + j) − u_c(p + t + j))²
    w_k(p, p + t)  = exp(−max(patch_sum_t(p) · scale_k − offset_k, 0))

with the host's float32 constants scale_k = 1 / (C Π(2f_a+1) h_k²) and
offset_k = 2σ²/h_k², so that w_k = exp(−max(d² − 2σ², 0) / h_k²). The patch
distance is computed once per shift and shared by the K strengths.

Layout: every array is a flat float32 device buffer, C order. The padded image
is (C, P0, P1, P2); "centres" are the points whose weights are needed: the
image S (pixelwise) or the image plus an f margin, Q = S + 2f (patchwise). A
centre index i sits at padded coordinate i + r + f, so the squared-difference
field of a shift, over the centres plus an f margin, starts at padded
coordinate r.

The host processes the shifts in batches of ``n_batch`` (``shifts[g0 + g]``,
g < n_batch) whose buffers fit in device memory:

1. :func:`squared_differences_axis0` — the patch box sum along axis 0 fused
   with the channel sum of squared differences, for all shifts of a batch;
2. :func:`box_sum` — the box sum along axis 1 (also used for the patchwise
   aggregation's box sums of V);
3. the box sum along axis 2 is fused into the consumer: the pixelwise
   :func:`pixel_accumulate`, or the patchwise :func:`patch_normalisation`
   (first pass over all shifts) and :func:`patch_weights` then
   :func:`patch_aggregate` (second pass).

With the Gaussian patch kernel (patch_sum_t = Σ_c Σ_j g(j)(…)², g(j) = Π_a g_a(j_a),
Σ g = 1, and scale_k = 1 / (C h_k²)), step 1 runs with a zero axis-0 radius (the
squared differences alone, over the centres plus the f margin on every axis),
:func:`weighted_sum` then sums axes 0, 1 and 2 with the weights g_a, and the
consumers run with f2 = 0 (their axis-2 sum is a single term).

One thread computes one element of its kernel's output (grid-stride loops, so
any grid covers any size); a thread owns its output elements across launches,
so the accumulations need no atomics. All arithmetic is float32 (array values,
float32 constants, ``math.exp`` of a float32); indices are integers.
"""

from __future__ import annotations

import math

from numba import cuda, float32

from ..._kernel_cache import ensure_kernel_cache

ensure_kernel_cache(__file__)  # before the first cached kernel is defined


@cuda.jit(cache=True)
def fill_zero(values, size):
    """values[:size] = 0 (the accumulators before the first batch)."""
    start = cuda.grid(1)
    step = cuda.gridsize(1)
    for n in range(start, size, step):
        values[n] = float32(0.0)


@cuda.jit(cache=True)
def squared_differences_axis0(
    u, n_channels, plane, p1, p2, shifts, g0, n_batch, f0, r0, r1, r2, a0, a1, a2, out
):
    """out[g, i0, i1, i2] = Σ_{m=0}^{2f0} Σ_c (u_c(z, y, x) − u_c((z, y, x) + t_g))².

    (z, y, x) = (r0 + i0 + m, r1 + i1, r2 + i2) in padded coordinates and
    t_g = ``shifts[g0 + g]``; ``out`` is (n_batch, a0, a1, a2) with a0 the number
    of centres along axis 0 and a1, a2 the centres plus the 2f margin along
    axes 1 and 2. ``u`` is the flat (C, P0, P1, P2) padded image, ``plane`` =
    P0 P1 P2. This is patch_sum_t summed over the patch's axis-0 extent only.
    """
    start = cuda.grid(1)
    step = cuda.gridsize(1)
    per_shift = a0 * a1 * a2
    for n in range(start, n_batch * per_shift, step):
        g = n // per_shift
        rest = n - g * per_shift
        i0 = rest // (a1 * a2)
        rest -= i0 * (a1 * a2)
        i1 = rest // a2
        i2 = rest - i1 * a2
        # Flat offset of u_c(p + j) − u_c(p + t + j)'s second term relative to its first.
        shift = (shifts[g0 + g, 0] * p1 + shifts[g0 + g, 1]) * p2 + shifts[g0 + g, 2]
        acc = float32(0.0)
        # Σ over the patch offsets j0 ∈ [−f0, f0] (m = j0 + f0) and the channels c
        # of (u_c(p + j) − u_c(p + t + j))².
        for m in range(2 * f0 + 1):
            a = ((r0 + i0 + m) * p1 + r1 + i1) * p2 + r2 + i2
            for c in range(n_channels):
                d = u[a + c * plane] - u[a + c * plane + shift]
                acc += d * d
        out[n] = acc


@cuda.jit(device=True)
def _outputs_per_item(n0, n1, n2, axis, width):
    """Entries of one item of a (n0, n1, n2) block after a width-``width`` sum along ``axis``."""
    if axis == 0:
        return (n0 - width + 1) * n1 * n2
    if axis == 1:
        return n0 * (n1 - width + 1) * n2
    return n0 * n1 * (n2 - width + 1)


@cuda.jit(device=True)
def _axis_window(n, n0, n1, n2, axis, width):
    """(flat index of the first source term, stride along ``axis``) of output entry ``n``.

    The output is (items, m0, m1, m2), the source (items, n0, n1, n2) with m_k = n_k
    except m_axis = n_axis − width + 1.
    """
    m0 = n0
    m1 = n1
    m2 = n2
    stride = 1
    if axis == 0:
        m0 = n0 - width + 1
        stride = n1 * n2
    elif axis == 1:
        m1 = n1 - width + 1
        stride = n2
    else:
        m2 = n2 - width + 1
    rest = n
    i2 = rest % m2
    rest //= m2
    i1 = rest % m1
    rest //= m1
    i0 = rest % m0
    item = rest // m0
    return ((item * n0 + i0) * n1 + i1) * n2 + i2, stride


@cuda.jit(cache=True)
def box_sum(src, n_items, n0, n1, n2, axis, width, dst):
    """dst[i, x] = Σ_{m=0}^{width−1} src[i, x + m e_axis]: a box sum along one axis.

    ``src`` is (n_items, n0, n1, n2) and ``dst`` the same with ``width − 1``
    fewer entries along ``axis`` (0, 1 or 2). For the patch distances it sums
    the axis-1 patch offsets j1 ∈ [−f1, f1]; for the patchwise aggregation it
    sums V_t over the patch centres x − j, j ∈ B(0, f), one axis at a time.
    """
    start = cuda.grid(1)
    step = cuda.gridsize(1)
    for n in range(start, n_items * _outputs_per_item(n0, n1, n2, axis, width), step):
        a, stride = _axis_window(n, n0, n1, n2, axis, width)
        acc = float32(0.0)
        for m in range(width):
            acc += src[a + m * stride]
        dst[n] = acc


@cuda.jit(cache=True)
def weighted_sum(src, n_items, n0, n1, n2, axis, width, weights, dst):
    """dst[i, x] = Σ_{m=0}^{width−1} weights[m] src[i, x + m e_axis]: a weighted sum along one axis.

    As :func:`box_sum`, with the patch weights g_axis(j) (j = m − f_axis) of the
    Gaussian patch distance: Σ_j g(j) D_t(p + j) = Σ_{j0} g_0 Σ_{j1} g_1 Σ_{j2} g_2 D_t,
    one axis per launch.
    """
    start = cuda.grid(1)
    step = cuda.gridsize(1)
    for n in range(start, n_items * _outputs_per_item(n0, n1, n2, axis, width), step):
        a, stride = _axis_window(n, n0, n1, n2, axis, width)
        acc = float32(0.0)
        for m in range(width):
            acc += weights[m] * src[a + m * stride]
        dst[n] = acc


@cuda.jit(cache=True)
def pixel_accumulate(
    u, n_channels, plane, p1, p2, shifts, g0, n_batch,
    f2, pad0, pad1, pad2, s0, s1, s2, box, scale, offset, n_k, num, den,
):  # fmt: skip
    """Add a batch of shifts to the pixelwise sums Σ_t w_k(p, p+t) u_c(p+t) and Σ_t w_k(p, p+t).

    ``box`` is (n_batch, s0, s1, s2 + 2 f2): the patch sums over the axis-0 and
    axis-1 patch offsets; this kernel adds the axis-2 offsets. ``num`` is
    (K, C, s0, s1, s2) and ``den`` (K, s0, s1, s2); (pad0, pad1, pad2) = r + f is
    the padding, so pixel p is u at padded coordinate p + pad.
    """
    start = cuda.grid(1)
    step = cuda.gridsize(1)
    size = s0 * s1 * s2
    b2 = s2 + 2 * f2
    for p in range(start, size, step):
        i0 = p // (s1 * s2)
        rest = p - i0 * (s1 * s2)
        i1 = rest // s2
        i2 = rest - i1 * s2
        for g in range(n_batch):
            # patch_sum_t(p): the last box sum, over the patch offsets j2 ∈ [−f2, f2].
            a = ((g * s0 + i0) * s1 + i1) * b2 + i2
            patch_sum = float32(0.0)
            for m in range(2 * f2 + 1):
                patch_sum += box[a + m]
            # u_c(p + t) for c = 0: padded coordinate p + pad + t.
            q = (
                ((pad0 + i0 + shifts[g0 + g, 0]) * p1 + pad1 + i1 + shifts[g0 + g, 1]) * p2
                + pad2 + i2 + shifts[g0 + g, 2]
            )  # fmt: skip
            for k in range(n_k):
                # w_k(p, p + t) = exp(−max(patch_sum · scale_k − offset_k, 0)).
                e = patch_sum * scale[k] - offset[k]
                if e < float32(0.0):
                    e = float32(0.0)
                w = math.exp(-e)
                # Denominator Σ_t w_k(p, p + t) and numerators Σ_t w_k(p, p + t) u_c(p + t).
                den[k * size + p] += w
                for c in range(n_channels):
                    num[(k * n_channels + c) * size + p] += w * u[q + c * plane]


@cuda.jit(cache=True)
def pixel_normalise(num, den, n_channels, size, n_k):
    """û_k,c(p) = Σ_t w_k u_c(p+t) / Σ_t w_k, in place in ``num`` (den ≥ w_k(p,p) = 1)."""
    start = cuda.grid(1)
    step = cuda.gridsize(1)
    for n in range(start, n_k * n_channels * size, step):
        p = n % size
        k = n // (n_channels * size)
        num[n] = num[n] / den[k * size + p]


@cuda.jit(cache=True)
def patch_normalisation(box, n_batch, q0, q1, q2, f2, scale, offset, n_k, norm):
    """Add a batch of shifts to the patchwise normalisation C_k(x) = Σ_t w_k(x, x + t).

    For every patch centre x of Q = S + 2f; ``box`` is (n_batch, q0, q1, q2 + 2 f2)
    (the patch sums over the axis-0 and axis-1 offsets) and ``norm`` is (K, q0, q1, q2).
    """
    start = cuda.grid(1)
    step = cuda.gridsize(1)
    size = q0 * q1 * q2
    b2 = q2 + 2 * f2
    for x in range(start, size, step):
        i0 = x // (q1 * q2)
        rest = x - i0 * (q1 * q2)
        i1 = rest // q2
        i2 = rest - i1 * q2
        for g in range(n_batch):
            # patch_sum_t(x): the last box sum, over the patch offsets j2 ∈ [−f2, f2].
            a = ((g * q0 + i0) * q1 + i1) * b2 + i2
            patch_sum = float32(0.0)
            for m in range(2 * f2 + 1):
                patch_sum += box[a + m]
            for k in range(n_k):
                # C_k(x) += w_k(x, x + t) = exp(−max(patch_sum · scale_k − offset_k, 0)).
                e = patch_sum * scale[k] - offset[k]
                if e < float32(0.0):
                    e = float32(0.0)
                norm[k * size + x] += math.exp(-e)


@cuda.jit(cache=True)
def patch_weights(box, n_batch, q0, q1, q2, f2, scale, offset, n_k, norm, inv_n, v):
    """v[g, k, x] = V_t,k(x) / N = w_k(x, x + t) / (N C_k(x)) for every patch centre x of Q.

    ``box`` and ``norm`` as in :func:`patch_normalisation` (``norm`` complete);
    ``inv_n`` = 1/N, N = Π(2f_a+1), the patchwise estimate's average over the
    N patches containing a pixel, folded in here.
    """
    start = cuda.grid(1)
    step = cuda.gridsize(1)
    size = q0 * q1 * q2
    b2 = q2 + 2 * f2
    for n in range(start, n_batch * size, step):
        g = n // size
        x = n - g * size
        i0 = x // (q1 * q2)
        rest = x - i0 * (q1 * q2)
        i1 = rest // q2
        i2 = rest - i1 * q2
        # patch_sum_t(x): the last box sum, over the patch offsets j2 ∈ [−f2, f2].
        a = ((g * q0 + i0) * q1 + i1) * b2 + i2
        patch_sum = float32(0.0)
        for m in range(2 * f2 + 1):
            patch_sum += box[a + m]
        for k in range(n_k):
            # V_t,k(x) = w_k(x, x + t) / C_k(x); C_k(x) ≥ w_k(x, x) = 1.
            e = patch_sum * scale[k] - offset[k]
            if e < float32(0.0):
                e = float32(0.0)
            v[(g * n_k + k) * size + x] = math.exp(-e) * inv_n / norm[k * size + x]


@cuda.jit(cache=True)
def patch_aggregate(
    u, n_channels, plane, p1, p2, shifts, g0, n_batch,
    f2, pad0, pad1, pad2, s0, s1, s2, vbox, n_k, num,
):  # fmt: skip
    """Add a batch of shifts to û_k,c(x) = 1/N Σ_t u_c(x + t) Σ_{j ∈ B(0,f)} V_t,k(x − j).

    ``vbox`` is (n_batch, K, s0, s1, s2 + 2 f2): V_t,k / N already summed over
    the centres' axis-0 and axis-1 offsets (patch centre x − j is centre index
    x + f − j); this kernel adds the axis-2 offsets. ``num`` is (K, C, s0, s1, s2);
    (pad0, pad1, pad2) = r + 2f, so pixel x is u at padded coordinate x + pad.
    """
    start = cuda.grid(1)
    step = cuda.gridsize(1)
    size = s0 * s1 * s2
    b2 = s2 + 2 * f2
    for x in range(start, size, step):
        i0 = x // (s1 * s2)
        rest = x - i0 * (s1 * s2)
        i1 = rest // s2
        i2 = rest - i1 * s2
        for g in range(n_batch):
            # u_c(x + t) for c = 0: padded coordinate x + pad + t.
            q = (
                ((pad0 + i0 + shifts[g0 + g, 0]) * p1 + pad1 + i1 + shifts[g0 + g, 1]) * p2
                + pad2 + i2 + shifts[g0 + g, 2]
            )  # fmt: skip
            for k in range(n_k):
                # Σ_{j ∈ B(0,f)} V_t,k(x − j) / N: the last box sum, over j2 ∈ [−f2, f2].
                a = (((g * n_k + k) * s0 + i0) * s1 + i1) * b2 + i2
                share = float32(0.0)
                for m in range(2 * f2 + 1):
                    share += vbox[a + m]
                # û_k,c(x) += u_c(x + t) · Σ_j V_t,k(x − j) / N.
                for c in range(n_channels):
                    num[(k * n_channels + c) * size + x] += share * u[q + c * plane]
