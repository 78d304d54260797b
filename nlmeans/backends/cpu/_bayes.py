"""NL-Bayes on the CPU: Numba kernels for 1 to 4 spatial axes, parallel over tiles.

The formulas, the grouping order and the skip rule are those of the oracle
(:mod:`nlmeans.backends.reference_bayes`); this module computes them on
flattened planes (a patch or a window is a list of linear offsets), so that
one compiled kernel serves every dimension.

Parallelism: the tiles of references (:mod:`nlmeans.backends._bayes_rules`)
are independent. A tile's groups write the rows within r + f of it, so tiles
``ncolour`` apart (ncolour = 1 + ⌈2(r+f)/TILE⌉) never write the same pixel:
each colour runs its tiles in parallel, straight into the shared sums, and
every pixel receives its terms in the same order whatever the thread count.

Precision: images and sums float32; the patch distances, the group
statistics and the small linear solves (a Cholesky factorisation of the
d × d covariance) in float64, where the ranking of the candidates and the
inversion of a nearly singular covariance need it.
"""

from __future__ import annotations

import itertools

import numpy as np
from numba import njit, prange

from ..._color import OPPONENT
from ..._kernel_cache import ensure_kernel_cache
from .._bayes_rules import (
    BOOST,
    FLOOR,
    GAMMA_STEP1,
    GAMMA_STEP2,
    QUANTUM,
    RIDGE,
    TILE,
    boost_offsets,
    group_sizes,
    grouping_channels,
    padding_rule,
    zones,
)

ensure_kernel_cache(__file__)  # before the first cached kernel is defined

# The kernels use NumPy's error model: a division by zero gives inf or nan as in the NumPy
# oracle instead of raising inside the parallel loop.


def bayes(padded, f, r, sigma, hs, *, patch_kernel="uniform") -> np.ndarray:
    """NL-Bayes (Lebrun, Buades & Morel 2013) of the interior of ``padded``, per strength h.

    The contract and the formulas are the oracle's
    (:func:`nlmeans.backends.reference_bayes.bayes`).

    References
    ----------
    Lebrun, Buades & Morel, SIAM J. Imaging Sciences 6(3), 2013; IPOL 3, 2013.
    """
    if patch_kernel != "uniform":
        raise ValueError("NL-Bayes compares patches with the uniform kernel only")
    f = tuple(int(v) for v in f)
    r = tuple(int(v) for v in r)
    n_channels = padded.shape[0]
    shape = padded.shape[1:]
    pad = tuple(padding_rule(fk, rk) for fk, rk in zip(f, r, strict=True))
    colour = n_channels == 3
    u = np.ascontiguousarray(padded, dtype=np.float32)
    if colour:
        u = np.tensordot(OPPONENT, u, axes=1).astype(np.float32)
    u = u.reshape(n_channels, -1)
    zone1, zone2 = zones(shape, pad, f, r)
    n1, n2 = group_sizes(f, n_channels)
    geometry = _geometry(shape, f, r)
    interior = (slice(None),) + tuple(slice(p, n - p) for p, n in zip(pad, shape, strict=True))
    grouping = np.asarray(grouping_channels(n_channels), dtype=np.int64)
    every = np.arange(n_channels, dtype=np.int64)
    out = []
    for h in hs:
        basic = _step(u, u, geometry, zone1, n1, grouping, float(sigma), float(h), True, f, r)
        final = _step(u, basic, geometry, zone2, n2, every, float(sigma), float(h), False, f, r)
        final = final.reshape((n_channels, *shape))[interior]
        if colour:
            final = np.tensordot(OPPONENT.T, final, axes=1)
        out.append(final.astype(np.float32))
    return np.stack(out)


def _geometry(shape, f, r):
    """(shape, strides, window offsets (nw, D), patch offsets (d1,) linear), int64."""
    strides = np.ones(len(shape), dtype=np.int64)
    for k in range(len(shape) - 2, -1, -1):
        strides[k] = strides[k + 1] * shape[k + 1]
    box = lambda radius: list(itertools.product(*(range(-k, k + 1) for k in radius)))  # noqa: E731
    window = np.asarray(box(r), dtype=np.int64).reshape(-1, len(shape))
    patch = np.asarray(box(f), dtype=np.int64).reshape(-1, len(shape)) @ strides
    return np.asarray(shape, dtype=np.int64), strides, window, patch.astype(np.int64)


def _step(u, guide, geometry, zone, n_group, channels, sigma, h, first, f, r, boost=BOOST):
    """One step's aggregated estimate (C, L) float32; pixels no group reaches keep ``guide``.

    ``boost``: the paste boost of the skip rule (:mod:`nlmeans.backends._bayes_rules`).
    """
    shape, strides, window, patch = geometry
    total = np.zeros(u.shape, dtype=np.float32)
    count = np.zeros(u.shape[1], dtype=np.float32)
    lo = np.asarray([z[0] for z in zone], dtype=np.int64)
    hi = np.asarray([z[1] for z in zone], dtype=np.int64)
    tiles = np.arange(lo[0], hi[0], TILE, dtype=np.int64)
    ncolour = 1 + -(-2 * (r[0] + f[0]) // TILE)
    fr = np.asarray(f, dtype=np.int64)
    # The rules' constants go in as arguments: a cached kernel never keeps a stale one.
    gamma = GAMMA_STEP1 if first else GAMMA_STEP2
    constants = np.asarray([gamma, RIDGE, QUANTUM, FLOOR], dtype=np.float64)
    # The paste boost's offsets (coordinates, linear) from a member of the references it skips.
    near = np.asarray(boost_offsets(shape.size) if boost else (), dtype=np.int64)
    near = near.reshape(-1, shape.size)
    for colour in range(ncolour):
        _tiles(
            u, guide, total, count, tiles[colour::ncolour], lo, hi, shape, strides, fr,
            window, patch, channels, n_group, sigma, h, first, TILE, constants, near,
        )  # fmt: skip
    reached = count > 0
    result = guide.copy()
    result[:, reached] = total[:, reached] / count[reached]
    return result


@njit(cache=True, error_model="numpy", parallel=True)
def _tiles(
    u, guide, total, count, tiles, lo, hi, shape, strides, f, window, patch, channels,
    n_group, sigma, h, first, tile, constants, near,
):  # fmt: skip
    """Estimate the groups of the references of ``tiles``.

    No two tiles are within reach of each other; ``constants`` = (γ of this
    step, RIDGE, QUANTUM, FLOOR); ``near`` the paste boost's offsets (m, D).
    """
    for i in prange(tiles.size):
        _tile(
            u, guide, total, count, tiles[i], lo, hi, shape, strides, f, window, patch,
            channels, n_group, sigma, h, first, tile, constants, near,
        )  # fmt: skip


@njit(cache=True, error_model="numpy")
def _tile(
    u, guide, total, count, start, lo, hi, shape, strides, f, window, patch, channels,
    n_group, sigma, h, first, tile, constants, near,
):  # fmt: skip
    n_channels = u.shape[0]
    dims = shape.size
    d1 = patch.size
    nw = window.shape[0]
    stop = min(start + tile, hi[0])
    row = strides[0]
    taken = np.zeros(tile * row, dtype=np.bool_)  # group members formed in this tile
    distances = np.empty(nw, dtype=np.float64)
    candidates = np.empty(nw, dtype=np.int64)
    n_max = min(n_group, nw)
    width = d1 if first else n_channels * d1
    # Groups are stored dimension × member (z[j, i]: value j of member i), so that the
    # statistics and the solves run over contiguous members.
    z = np.empty((width, n_max), dtype=np.float64)
    b = np.empty((width, n_max), dtype=np.float64)
    work = np.empty((width, n_max), dtype=np.float64)
    estimate = np.empty((n_channels * d1, n_max), dtype=np.float64)
    cov = np.empty((width, width), dtype=np.float64)
    mean = np.empty(width, dtype=np.float64)
    coords = np.empty(dims, dtype=np.int64)
    gamma, ridge, quantum, floor = constants[0], constants[1], constants[2] * h * h, constants[3]
    positions = stop - start
    for k in range(1, dims):
        positions *= hi[k] - lo[k]
    for index in range(positions):
        # Raster order over the tile's rows × the zone on the other axes.
        rest = index
        for k in range(dims - 1, 0, -1):
            extent = hi[k] - lo[k]
            coords[k] = lo[k] + rest % extent
            rest //= extent
        coords[0] = start + rest
        p = 0
        for k in range(dims):
            p += coords[k] * strides[k]
        if taken[p - start * row]:
            continue  # the skip rule: already estimated in this tile
        # δ(p, q) = Σ_c Σ_j (v_c(p+j) − v_c(q+j))² over the window's candidates, raster order.
        nc = 0
        for w in range(nw):
            q = p
            inside = True
            for k in range(dims):
                qk = coords[k] + window[w, k]
                if qk < f[k] or qk >= shape[k] - f[k]:
                    inside = False
                    break
                q += window[w, k] * strides[k]
            if not inside:
                continue
            acc = 0.0
            for c in channels:
                for j in range(d1):
                    diff = np.float64(guide[c, p + patch[j]]) - np.float64(guide[c, q + patch[j]])
                    acc += diff * diff
            distances[nc] = np.floor(acc / quantum + 0.5)  # δ in multiples of QUANTUM·h²
            candidates[nc] = q
            nc += 1
        # The group: the n smallest (rounded δ, index) — a stable sort of raster-ordered candidates.
        order = np.argsort(distances[:nc], kind="mergesort")
        n = min(n_group, nc)
        if first:
            for c in range(n_channels):
                for i in range(n):
                    q = candidates[order[i]]
                    for j in range(d1):
                        z[j, i] = u[c, q + patch[j]]
                _step1_channel(z, n, d1, cov, mean, work, sigma, h, gamma, ridge, floor)
                for j in range(d1):
                    for i in range(n):
                        estimate[c * d1 + j, i] = z[j, i]
        else:
            for i in range(n):
                q = candidates[order[i]]
                for c in range(n_channels):
                    for j in range(d1):
                        z[c * d1 + j, i] = u[c, q + patch[j]]
                        b[c * d1 + j, i] = guide[c, q + patch[j]]
            _step2_group(z, b, n, n_channels, d1, cov, mean, work, sigma, h, gamma, floor)
            for j in range(width):
                for i in range(n):
                    estimate[j, i] = z[j, i]
        # Aggregation: every member's estimate onto its patch, count one per pixel.
        for i in range(n):
            q = candidates[order[i]]
            for c in range(n_channels):
                for j in range(d1):
                    total[c, q + patch[j]] += np.float32(estimate[c * d1 + j, i])
            for j in range(d1):
                count[q + patch[j]] += np.float32(1.0)
            local = q - start * row
            if 0 <= local < tile * row:
                taken[local] = True
            if near.shape[0] > 0:
                # The paste boost: the member's neighbours (offsets ``near``) are skipped too.
                rest = q
                for k in range(dims):
                    coords[k] = rest // strides[k]
                    rest -= coords[k] * strides[k]
                for m in range(near.shape[0]):
                    local = q - start * row
                    inside = True
                    for k in range(dims):
                        nk = coords[k] + near[m, k]
                        if nk < 0 or nk >= shape[k]:
                            inside = False
                            break
                        local += near[m, k] * strides[k]
                    if inside and 0 <= local < tile * row:
                        taken[local] = True


@njit(cache=True, error_model="numpy", fastmath=True)
def _step1_channel(z, n, d, cov, mean, work, sigma, h, gamma, ridge, floor):
    """Apply step 1 to one channel, in place on z[:d, :n] (value × member).

    Z_i − h² (C + εI)⁻¹ (Z_i − m) with ε = ridge·h² + floor·tr(C)/d, or the
    group's mean when its variance is at most γσ² (flat area).
    """
    mean_all = 0.0
    for j in range(d):
        for i in range(n):
            mean_all += z[j, i]
    mean_all /= n * d
    spread = 0.0
    for j in range(d):
        for i in range(n):
            spread += (z[j, i] - mean_all) ** 2
    if spread / (n * d) <= gamma * sigma * sigma:
        z[:d, :n] = mean_all
        return
    _covariance(z, n, d, cov, mean, work)
    guard = ridge * h * h + floor * _trace(cov, d) / d
    for j in range(d):
        cov[j, j] += guard  # C + εI
    _wiener(z, n, d, cov, mean, work, h)


@njit(cache=True, error_model="numpy", fastmath=True)
def _step2_group(z, b, n, n_channels, d1, cov, mean, work, sigma, h, gamma, floor):
    """Apply step 2 in place on z[:, :n] (noisy, over all channels, value × member).

    Z_i − h² (C_B + h² I)⁻¹ (Z_i − m), m and C_B those of the basic group b (the
    inverted matrix also gets floor·tr(C_B)/d on its diagonal); each channel's basic
    mean on a flat area.
    """
    d = n_channels * d1
    spread = 0.0
    for c in range(n_channels):
        m = 0.0
        for j in range(c * d1, (c + 1) * d1):
            for i in range(n):
                m += z[j, i]
        m /= n * d1
        for j in range(c * d1, (c + 1) * d1):
            for i in range(n):
                spread += (z[j, i] - m) ** 2
    if spread / (n * d) <= gamma * sigma * sigma:
        for c in range(n_channels):
            m = 0.0
            for j in range(c * d1, (c + 1) * d1):
                for i in range(n):
                    m += b[j, i]
            z[c * d1 : (c + 1) * d1, :n] = m / (n * d1)
        return
    _covariance(b, n, d, cov, mean, work)
    guard = h * h + floor * _trace(cov, d) / d
    for j in range(d):
        cov[j, j] += guard  # C_B + h² I (+ the floor)
    _wiener(z, n, d, cov, mean, work, h)


@njit(cache=True, error_model="numpy", fastmath=True)
def _covariance(x, n, d, cov, mean, work):
    """Set mean and cov to the members' mean and covariance.

    mean = the members' mean of x[:d, :n]; cov = Σ_i (x_i − mean)(x_i − mean)ᵀ / (n − 1).
    """
    for j in range(d):
        s = 0.0
        for i in range(n):
            s += x[j, i]
        mean[j] = s / n
        for i in range(n):
            work[j, i] = x[j, i] - mean[j]
    scale = 1.0 / max(n - 1, 1)
    for a in range(d):
        for c in range(a + 1):
            s = 0.0
            for i in range(n):
                s += work[a, i] * work[c, i]
            cov[a, c] = s * scale
            cov[c, a] = s * scale


@njit(cache=True, error_model="numpy", fastmath=True)
def _trace(cov, d):
    """tr(cov[:d, :d])."""
    s = 0.0
    for j in range(d):
        s += cov[j, j]
    return s


@njit(cache=True, error_model="numpy", fastmath=True)
def _wiener(z, n, d, a, mean, work, h):
    """Apply the Wiener step z_i ← z_i − h² A⁻¹ (z_i − mean) to the members i < n.

    The members are the columns of z[:d]; A is symmetric positive definite,
    factorised in place by Cholesky, the d × n systems solved at once.
    """
    # A = L Lᵀ, L in the lower triangle of a.
    for j in range(d):
        s = a[j, j]
        for k in range(j):
            s -= a[j, k] * a[j, k]
        a[j, j] = np.sqrt(max(s, 1e-300))
        for i in range(j + 1, d):
            s = a[i, j]
            for k in range(j):
                s -= a[i, k] * a[j, k]
            a[i, j] = s / a[j, j]
    for j in range(d):
        for i in range(n):
            work[j, i] = z[j, i] - mean[j]
    # work ← L⁻¹ work (forward), then L⁻ᵀ work (backward): work = A⁻¹ (z − mean).
    for j in range(d):
        for k in range(j):
            ljk = a[j, k]
            for i in range(n):
                work[j, i] -= ljk * work[k, i]
        inv = 1.0 / a[j, j]
        for i in range(n):
            work[j, i] *= inv
    for j in range(d - 1, -1, -1):
        for k in range(j + 1, d):
            lkj = a[k, j]
            for i in range(n):
                work[j, i] -= lkj * work[k, i]
        inv = 1.0 / a[j, j]
        for i in range(n):
            work[j, i] *= inv
    for j in range(d):
        for i in range(n):
            z[j, i] -= h * h * work[j, i]
