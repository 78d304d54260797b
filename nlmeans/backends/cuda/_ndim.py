"""CUDA host functions: pixelwise and patchwise NLM sweeps on 1–3 spatial axes.

Both functions have the backend signature ``fn(padded, f, r, sigma, hs)`` and
return the float32 (K, C, *S) estimates for the K strengths ``hs`` at once (the
patch distances of a shift are computed once and shared by the K strengths).
They run the kernels of :mod:`nlmeans.backends.cuda._ndim_kernels`:

- the padded image is uploaded once (per tile), every shift of the search
  window runs on the device, and the estimates are downloaded once (per tile);
- the shifts run in batches whose distance buffers fit in device memory: per
  batch, one launch computes the squared differences summed over the patch's
  axis-0 offsets, one launch sums the axis-1 offsets, and the consumer kernel
  sums the axis-2 offsets (a separable box sum: O(C (2f0+1) + (2f1+1) + (2f2+1))
  work per patch distance instead of O(C Π(2f_a+1))); with the Gaussian patch
  kernel, one launch computes the squared differences and one weighted-sum
  launch per axis applies the patch weights g_a (separable too);
- patchwise needs the normalisation C_k(x) over all shifts before any
  aggregation, so it makes two passes over the shifts; the batch of the first
  pass still on the device is reused by the second pass (with a single batch,
  the distances are computed once);
- when the padded image, the accumulators and one shift's buffers exceed
  :data:`MEMORY_FRACTION` of the device's free memory, the output is cut into
  tiles along the first spatial axis, each with its own padded halo; every
  output depends only on its padded neighbourhood, so the tiles are independent.

Importing this module does not import numba.cuda; calling a function does.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np

from .._contract import patch_profiles, weight_constants
from ._launcher import MEMORY_FRACTION, configure

#: Threads per block of every (1-D, grid-stride) launch.
THREADS = 128
#: Most blocks per launch on a GPU (grid-stride loops cover the rest).
MAX_BLOCKS = 1 << 16
#: Most blocks per launch under Numba's CUDA simulator, where every thread is a
#: Python thread: few threads, each looping over many elements, run much faster.
SIMULATOR_BLOCKS = 2


def pixelwise(
    padded: np.ndarray,
    f: Sequence[int],
    r: Sequence[int],
    sigma: float,
    hs: Sequence[float],
    *,
    tile: int | None = None,
    batch: int | None = None,
    patch_kernel: str = "uniform",
) -> np.ndarray:
    """Pixelwise NLM estimates for K strengths on the GPU.

    û_k,c(p) = Σ_{q ∈ B(p,r)} w_k(p, q) u_c(q) / Σ_q w_k(p, q), with
    w_k(p, q) = exp(−max(d²(p, q) − 2σ², 0) / h_k²).

    Parameters
    ----------
    padded : ndarray
        float32 (C, S_1 + 2 pad_1, …, S_D + 2 pad_D), D ≤ 3, reflect-padded with
        pad_a = r_a + f_a.
    f, r : sequence of int
        Patch and search radii per spatial axis (D each, 0 allowed).
    sigma : float
        Noise standard deviation, in the units of ``padded``.
    hs : sequence of float
        The K filtering strengths h_k > 0.
    tile : int, optional
        Output extent along the first spatial axis per upload; default: the
        whole image when it fits in :data:`MEMORY_FRACTION` of the free device
        memory, else smaller tiles.
    batch : int, optional
        Shifts per batch of launches; default: as many as fit in memory.
    patch_kernel : {"uniform", "gaussian"}
        The patch distance: the mean over the patch, or the Gaussian-weighted
        mean of :mod:`nlmeans.backends.reference`.

    Returns
    -------
    ndarray
        float32 (K, C, S_1, …, S_D).

    References
    ----------
    A. Buades, B. Coll, J.-M. Morel, "Non-Local Means Denoising", Image
    Processing On Line 1 (2011), pp. 208–212.
    """
    return _run("pixel", padded, f, r, sigma, hs, tile, batch, patch_kernel)


def patchwise(
    padded: np.ndarray,
    f: Sequence[int],
    r: Sequence[int],
    sigma: float,
    hs: Sequence[float],
    *,
    tile: int | None = None,
    batch: int | None = None,
    patch_kernel: str = "uniform",
) -> np.ndarray:
    """Patchwise NLM estimates for K strengths on the GPU.

    Every patch B(p, f), p in the image plus an f margin, gets
    B̂_k,c(p)(j) = Σ_q w_k(p, q) u_c(q + j) / C_k(p), C_k(p) = Σ_q w_k(p, q), and
    û_k,c(x) = 1/N Σ_{j ∈ B(0,f)} B̂_k,c(x − j)(j), N = Π(2f_a+1); computed as
    û_k,c(x) = 1/N Σ_t u_c(x + t) Σ_j V_t,k(x − j), V_t,k = w_k(·, · + t) / C_k.

    Parameters
    ----------
    padded : ndarray
        float32 (C, S_1 + 2 pad_1, …, S_D + 2 pad_D), D ≤ 3, reflect-padded with
        pad_a = r_a + 2 f_a.
    f, r, sigma, hs, tile, batch, patch_kernel
        As for :func:`pixelwise`.

    Returns
    -------
    ndarray
        float32 (K, C, S_1, …, S_D).

    References
    ----------
    A. Buades, B. Coll, J.-M. Morel, "Non-Local Means Denoising", Image
    Processing On Line 1 (2011), pp. 208–212 (the patchwise variant).
    """
    return _run("patch", padded, f, r, sigma, hs, tile, batch, patch_kernel)


def _run(method, padded, f, r, sigma, hs, tile, batch, patch_kernel="uniform") -> np.ndarray:
    """Validate, promote to 3-D, tile along the first spatial axis and run ``method``."""
    padded = np.ascontiguousarray(padded, dtype=np.float32)
    f, r = tuple(int(a) for a in f), tuple(int(a) for a in r)
    n_dims = padded.ndim - 1
    if not 1 <= n_dims <= 3 or len(f) != n_dims or len(r) != n_dims:
        raise ValueError(
            f"padded has {n_dims} spatial axes, f {len(f)} and r {len(r)} entries; "
            "the CUDA N-D kernels take 1 to 3 spatial axes, one radius per axis"
        )
    if min(f + r) < 0:
        raise ValueError(f"radii must be >= 0, got f={f}, r={r}")
    hs = [float(h) for h in hs]
    if not hs or min(hs) <= 0:
        raise ValueError(f"hs must be one or more strengths > 0, got {hs}")
    # A 2-D or 1-D image is 3-D with leading singleton axes and zero radii there.
    lead = 3 - n_dims
    f3, r3 = (0,) * lead + f, (0,) * lead + r
    u = padded.reshape(padded.shape[:1] + (1,) * lead + padded.shape[1:])
    pad = tuple(ra + fa + (fa if method == "patch" else 0) for fa, ra in zip(f3, r3, strict=True))
    shape = tuple(n - 2 * p for n, p in zip(u.shape[1:], pad, strict=True))
    if min(shape) < 1:
        raise ValueError(
            f"padded spatial shape {padded.shape[1:]} is too small for padding {pad[lead:]}"
        )
    scale, offset = weight_constants(hs, sigma, f3, u.shape[0], patch_kernel)
    out = np.empty((len(hs), u.shape[0]) + shape, dtype=np.float32)

    from numba import cuda

    from . import _ndim_kernels as kernels

    # Tiles cut the first spatial axis of the input: axis ``lead`` of the 3-D view.
    plan = _Plan(method, u.shape[0], len(hs), f3, r3, pad, lead, patch_kernel)
    rows, n_batch = plan.fit(shape, _free_memory(cuda), tile, batch)
    shifts = np.array(list(itertools.product(*(range(-ra, ra + 1) for ra in r3))), dtype=np.int32)
    d_shifts = cuda.to_device(shifts)
    d_scale, d_offset = cuda.to_device(scale), cuda.to_device(offset)
    for z0 in range(0, shape[lead], rows):
        depth = min(rows, shape[lead] - z0)
        # The tile's outputs z0 … z0+depth−1 need padded z0 … z0+depth−1 + 2 pad.
        halo = (slice(None),) * (1 + lead) + (slice(z0, z0 + depth + 2 * pad[lead]),)
        piece = np.ascontiguousarray(u[halo])
        result = plan.run(
            cuda, kernels, piece, plan.cut(shape, depth), d_shifts, d_scale, d_offset, n_batch
        )
        out[(slice(None),) * (2 + lead) + (slice(z0, z0 + depth),)] = result
    return out.reshape(out.shape[:2] + shape[lead:])


def _free_memory(cuda) -> float:
    """Free device memory in bytes (the simulator answers infinity)."""
    return float(cuda.current_context().get_memory_info()[0])


class _Plan:
    """Buffer sizes and the launch sequence of one method for one image geometry."""

    def __init__(self, method, n_channels, n_k, f, r, pad, axis, patch_kernel="uniform"):
        self.method = method
        self.gaussian = patch_kernel == "gaussian"
        # The patch weights g_a per axis (float32), for the Gaussian patch distance.
        self.profiles = [g.astype(np.float32) for g in patch_profiles(f, patch_kernel)]
        self.axis = axis  # the axis that tiles cut
        self.n_channels = n_channels
        self.n_k = n_k
        self.f = f
        self.r = r
        self.pad = pad
        self.n_shifts = math.prod(2 * ra + 1 for ra in r)

    def centres(self, shape):
        """Extent of the weight centres: the image (pixel) or the image plus f (patch)."""
        if self.method == "pixel":
            return tuple(shape)
        return tuple(s + 2 * fa for s, fa in zip(shape, self.f, strict=True))

    def sizes(self, shape):
        """Size the device buffers: (fixed floats, floats per shift of a batch)."""
        f, c, k = self.f, self.n_channels, self.n_k
        q = self.centres(shape)
        size = math.prod(shape)
        padded = c * math.prod(s + 2 * p for s, p in zip(shape, self.pad, strict=True))
        first = q[0] * (q[1] + 2 * f[1]) * (q[2] + 2 * f[2])
        second = q[0] * q[1] * (q[2] + 2 * f[2])
        per_shift = first + second
        if self.gaussian:
            # The squared differences over the centres plus the f margin, and the sums.
            per_shift += math.prod(qa + 2 * fa for qa, fa in zip(q, f, strict=True))
            per_shift += math.prod(q)
        fixed = padded + k * c * size + k * math.prod(q)  # image, numerators, den or C_k
        if self.method == "patch":
            # V_t,k over the centres, then its box sums along axes 0 and 1.
            per_shift += k * (math.prod(q) + shape[0] * q[1] * q[2] + shape[0] * shape[1] * q[2])
        return fixed, per_shift

    def cut(self, shape, rows):
        """``shape`` with ``rows`` entries along the tiled axis."""
        return tuple(rows if a == self.axis else n for a, n in enumerate(shape))

    def fit(self, shape, free_bytes, tile, batch):
        """(output extent along the tiled axis per tile, shifts per batch) within the budget."""
        budget = MEMORY_FRACTION * free_bytes / 4  # floats
        full = shape[self.axis]
        rows = full if tile is None else max(1, min(int(tile), full))
        if tile is None:
            while sum(self.sizes(self.cut(shape, rows))) > budget:
                if rows == 1:
                    from ...errors import NLMeansError

                    raise NLMeansError(
                        "not enough free CUDA device memory for one slice of the image"
                    )
                rows = (rows + 1) // 2
        if batch is not None:
            return rows, max(1, min(int(batch), self.n_shifts))
        fixed, per_shift = self.sizes(self.cut(shape, rows))
        spare = (budget - fixed) // per_shift if math.isfinite(budget) else self.n_shifts
        return rows, int(max(1, min(spare, self.n_shifts)))

    def run(self, cuda, kernels, piece, shape, d_shifts, d_scale, d_offset, n_batch):
        """Upload ``piece``, run every shift on the device, download the (K, C, *shape) result."""
        f, r, pad = self.f, self.r, self.pad
        c, k = self.n_channels, self.n_k
        q = self.centres(shape)
        p1, p2 = piece.shape[2], piece.shape[3]
        plane = math.prod(piece.shape[1:])
        size = math.prod(shape)
        d_u = cuda.to_device(piece.reshape(-1))
        # Distance buffers of a batch: after the axis-0 sum (a) and the axis-1 sum (b).
        a_dims = (q[0], q[1] + 2 * f[1], q[2] + 2 * f[2])
        b_dims = (q[0], q[1], q[2] + 2 * f[2])
        d_a = cuda.device_array(n_batch * math.prod(a_dims), dtype=np.float32)
        d_b = d_a if f[1] == 0 else cuda.device_array(n_batch * math.prod(b_dims), np.float32)
        if self.gaussian:
            field = tuple(qa + 2 * fa for qa, fa in zip(q, f, strict=True))
            n_field = n_batch * math.prod(field)
            d_field = d_a if f[0] == 0 else cuda.device_array(n_field, np.float32)
            d_c = d_b if f[2] == 0 else cuda.device_array(n_batch * math.prod(q), np.float32)
            d_prof = [cuda.to_device(g) for g in self.profiles]
        # The consumers sum the last patch axis themselves, except after the weighted sums.
        f2 = 0 if self.gaussian else f[2]
        d_num = cuda.device_array(k * c * size, dtype=np.float32)
        d_acc = cuda.device_array(k * math.prod(q), dtype=np.float32)  # den or C_k
        _launch(kernels.fill_zero, d_num.size, d_num, d_num.size)
        _launch(kernels.fill_zero, d_acc.size, d_acc, d_acc.size)
        batches = [
            (g0, min(n_batch, self.n_shifts - g0)) for g0 in range(0, self.n_shifts, n_batch)
        ]

        def distances(g0, ng):
            """Sum patches over the axis-0 and axis-1 offsets of shifts g0 … g0+ng−1 into d_b.

            Gaussian: the whole weighted patch sums go to the returned buffer.
            """
            if self.gaussian:
                return weighted_distances(g0, ng)
            _launch(
                kernels.squared_differences_axis0, ng * math.prod(a_dims),
                d_u, c, plane, p1, p2, d_shifts, g0, ng, f[0], r[0], r[1], r[2], *a_dims, d_a,
            )  # fmt: skip
            if f[1] > 0:
                _launch(
                    kernels.box_sum, ng * math.prod(b_dims),
                    d_a, ng, *a_dims, 1, 2 * f[1] + 1, d_b,
                )  # fmt: skip
            return d_b

        def weighted_distances(g0, ng):
            """Σ_c Σ_j g(j) (u_c(x + j) − u_c(x + t + j))² for the shifts g0 … g0+ng−1."""
            # D_t = Σ_c (…)² on the centres plus the f margin (an axis-0 radius of 0).
            _launch(
                kernels.squared_differences_axis0, ng * math.prod(field),
                d_u, c, plane, p1, p2, d_shifts, g0, ng, 0, r[0], r[1], r[2], *field, d_field,
            )  # fmt: skip
            # Σ_{j_a} g_a(j_a) …, one axis at a time: field → a_dims → b_dims → q.
            steps = [(d_field, field, d_a), (d_a, a_dims, d_b), (d_b, b_dims, d_c)]
            for axis, (src, dims, dst) in enumerate(steps):
                if f[axis] > 0:
                    width = 2 * f[axis] + 1
                    n_out = math.prod(dims) // dims[axis] * (dims[axis] - width + 1)
                    _launch(
                        kernels.weighted_sum, ng * n_out,
                        src, ng, *dims, axis, width, d_prof[axis], dst,
                    )  # fmt: skip
            return d_c

        if self.method == "pixel":
            for g0, ng in batches:
                d_box = distances(g0, ng)
                _launch(
                    kernels.pixel_accumulate, size,
                    d_u, c, plane, p1, p2, d_shifts, g0, ng, f2, *pad, *shape,
                    d_box, d_scale, d_offset, k, d_num, d_acc,
                )  # fmt: skip
            _launch(kernels.pixel_normalise, d_num.size, d_num, d_acc, c, size, k)
        else:
            # First pass: C_k(x) = Σ_t w_k(x, x + t) over every shift.
            for g0, ng in batches:
                d_box = distances(g0, ng)
                _launch(
                    kernels.patch_normalisation, math.prod(q),
                    d_box, ng, *q, f2, d_scale, d_offset, k, d_acc,
                )  # fmt: skip
            # Second pass, last batch first: its distances are still in d_b.
            v_dims = [q, (shape[0], q[1], q[2]), (shape[0], shape[1], q[2])]
            d_v = [cuda.device_array(n_batch * k * math.prod(v_dims[0]), np.float32)]
            for axis in (0, 1):
                if f[axis] > 0:
                    size_v = n_batch * k * math.prod(v_dims[axis + 1])
                    d_v.append(cuda.device_array(size_v, np.float32))
                else:
                    d_v.append(d_v[-1])
            inv_n = np.float32(1.0 / math.prod(2 * fa + 1 for fa in f))
            for index, (g0, ng) in enumerate(reversed(batches)):
                if index > 0:
                    d_box = distances(g0, ng)
                _launch(
                    kernels.patch_weights, ng * math.prod(q),
                    d_box, ng, *q, f2, d_scale, d_offset, k, d_acc, inv_n, d_v[0],
                )  # fmt: skip
                # Σ_{j ∈ B(0,f)} V_t,k(x − j), along axes 0 and 1 (axis 2 in the aggregation).
                for axis in (0, 1):
                    if f[axis] > 0:
                        _launch(
                            kernels.box_sum, ng * k * math.prod(v_dims[axis + 1]),
                            d_v[axis], ng * k, *v_dims[axis], axis, 2 * f[axis] + 1,
                            d_v[axis + 1],
                        )  # fmt: skip
                _launch(
                    kernels.patch_aggregate, size,
                    d_u, c, plane, p1, p2, d_shifts, g0, ng, f[2], *pad, *shape,
                    d_v[2], k, d_num,
                )  # fmt: skip
        return d_num.copy_to_host().reshape((k, c) + tuple(shape))


def _launch(kernel, n_items: int, *args) -> None:
    """Run ``kernel(*args)`` on a 1-D grid covering ``n_items`` (grid-stride kernels).

    numba.cuda warns about grids under 128 blocks; small images need few
    blocks, and the kernels' grid-stride loops already cover every element, so
    the warning is silenced for these launches only.
    """
    from numba import config

    limit = SIMULATOR_BLOCKS if config.ENABLE_CUDASIM else MAX_BLOCKS
    blocks = max(1, min(math.ceil(n_items / THREADS), limit))
    configure(kernel, blocks, THREADS, 0)(*args)
