"""Motion compensation for time stacks: block displacements, and the estimate that uses them.

The search box of a pixel in a neighbour frame is centred on the pixel's
displaced position (:func:`nlmeans.backends.reference.motion_pixelwise`); the
displacement is one integer vector per block of :data:`BLOCK` × :data:`BLOCK`
pixels, per frame and per neighbour, found by coarse-to-fine block matching:

1. a pyramid of the frames' channel mean, each level the 2 × 2 mean of the one
   below (the blocks keep their index, their side halves);
2. on the coarsest level every vector within the margin is tried; on each finer
   level the doubled vector of the level above and its 8 neighbours;
3. the criterion is the mean squared difference of the block and its displaced
   copy (coordinates clamped to the frame); at the finest level the zero vector
   is kept unless the best one lowers it by more than
   ``ZERO_BIAS · 2σ²/C + ZERO_RELATIVE · MSD(0)``, so that noise alone does not
   move the boxes of a static scene.

Padding rule: a displaced box and its patches reach ``margin`` pixels beyond
those of the static box, so the stack is reflect-padded by r_t in time and by
r + f + margin in space (:func:`~nlmeans.backends._contract.motion_padding`);
every displacement is at most ``margin`` = :data:`SPEED` · r_t on each axis
(8 pixels per frame of distance).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .._arrays import pad_reflect
from .._kernel_cache import ensure_kernel_cache
from ._contract import is_time_stack, motion_padding

ensure_kernel_cache(__file__)  # before the first cached kernel is defined

#: Side of the blocks that share a displacement (and of the CPU kernel's tiles).
BLOCK = 32
#: Largest displacement per frame of distance, pixels per axis.
SPEED = 8
#: The zero vector's advantage, in units of the noise's 2σ²/C, and relative to its MSD.
ZERO_BIAS = 0.2
ZERO_RELATIVE = 0.02


def margin_for(rt: int) -> int:
    """Return the largest displacement (pixels per axis) for a temporal radius ``rt``."""
    return SPEED * int(rt)


@njit(cache=True)
def _msd(cur, nbr, y0, y1, x0, x1, dy, dx):
    """Mean of (cur(y, x) − nbr(y + dy, x + dx))² over the block, nbr's coordinates clamped."""
    height, width = nbr.shape
    total = 0.0
    for y in range(y0, y1):
        yy = min(max(y + dy, 0), height - 1)
        for x in range(x0, x1):
            xx = min(max(x + dx, 0), width - 1)
            d = cur[y, x] - nbr[yy, xx]
            total += d * d
    return total / ((y1 - y0) * (x1 - x0))


@njit(parallel=True, cache=True)
def _match(cur, nbr, side, n_by, n_bx, guess, radius, limit, out):
    """out[i, j] = the (dy, dx) of least MSD for block (i, j) (``side`` pixels) of ``cur``.

    Candidates: ``guess[i, j]`` + every δ with |δ| ≤ ``radius``, each component
    within ±``limit``.
    """
    height, width = cur.shape
    for b in prange(n_by * n_bx):
        i = b // n_bx
        j = b % n_bx
        y0 = min(i * side, height - 1)
        x0 = min(j * side, width - 1)
        y1 = min(y0 + side, height)
        x1 = min(x0 + side, width)
        best = np.inf
        by = 0
        bx = 0
        for ddy in range(-radius, radius + 1):
            dy = guess[i, j, 0] + ddy
            if abs(dy) > limit:
                continue
            for ddx in range(-radius, radius + 1):
                dx = guess[i, j, 1] + ddx
                if abs(dx) > limit:
                    continue
                cost = _msd(cur, nbr, y0, y1, x0, x1, dy, dx)
                if cost < best:
                    best = cost
                    by = dy
                    bx = dx
        out[i, j, 0] = by
        out[i, j, 1] = bx


@njit(parallel=True, cache=True)
def _keep_zero(cur, nbr, side, n_by, n_bx, noise, moves):
    """Set a block's vector to 0 unless it lowers MSD(0) by more than the noise allowance."""
    height, width = cur.shape
    for b in prange(n_by * n_bx):
        i = b // n_bx
        j = b % n_bx
        y0, x0 = i * side, j * side
        y1, x1 = min(y0 + side, height), min(x0 + side, width)
        still = _msd(cur, nbr, y0, y1, x0, x1, 0, 0)
        moved = _msd(cur, nbr, y0, y1, x0, x1, moves[i, j, 0], moves[i, j, 1])
        if still - moved <= ZERO_BIAS * noise + ZERO_RELATIVE * still:
            moves[i, j, 0] = 0
            moves[i, j, 1] = 0


def _pyramid(frame: np.ndarray, levels: int) -> list[np.ndarray]:
    """[frame, its 2 × 2 mean, …], ``levels`` entries (odd edges dropped)."""
    out = [frame]
    for _ in range(levels - 1):
        f = out[-1]
        h, w = f.shape[0] // 2 * 2, f.shape[1] // 2 * 2
        f = f[:h, :w]
        out.append(0.25 * (f[0::2, 0::2] + f[1::2, 0::2] + f[0::2, 1::2] + f[1::2, 1::2]))
    return out


def displacements(gray: np.ndarray, rt: int, block: int, margin: int, noise: float) -> np.ndarray:
    """Block displacements of every frame towards each neighbour, coarse to fine.

    Parameters
    ----------
    gray : ndarray, float, shape (T + 2 r_t, H, W)
        The frames' channel mean, reflect-padded by r_t in time only.
    rt : int
        Temporal search radius.
    block : int
        Side of a block.
    margin : int
        Largest displacement per axis.
    noise : float
        The variance of the noise of ``gray`` (2σ²/C for σ per channel, C channels),
        for the zero vector's allowance.

    Returns
    -------
    ndarray, int64, shape (T, 2 r_t + 1, ⌈H / block⌉, ⌈W / block⌉, 2)
        ``[t, r_t + k, i, j]``: the (dy, dx) of block (i, j) of frame t in frame
        t + k (0 for k = 0).

    References
    ----------
    J. R. Jain, A. K. Jain, "Displacement measurement and its application in
    interframe image coding", IEEE Trans. Communications 29 (1981) (block matching).
    """
    gray = np.ascontiguousarray(gray, dtype=np.float32)
    frames, height, width = gray.shape
    n_out = frames - 2 * rt
    n_by, n_bx = -(-height // block), -(-width // block)
    moves = np.zeros((n_out, 2 * rt + 1, n_by, n_bx, 2), np.int64)
    if rt == 0 or margin == 0:
        return moves
    levels = 1
    while margin >> (levels - 1) > 4 and block >> levels >= 2 and min(height, width) >> levels >= 8:
        levels += 1
    pyramids = [_pyramid(gray[a], levels) for a in range(frames)]
    for t in range(n_out):
        for k in range(-rt, rt + 1):
            if k == 0:
                continue
            cur, nbr = pyramids[rt + t], pyramids[rt + t + k]
            guess = np.zeros((n_by, n_bx, 2), np.int64)
            found = np.zeros_like(guess)
            for level in range(levels - 1, -1, -1):
                limit = -(-margin // (1 << level))
                radius = limit if level == levels - 1 else 1
                side = max(block >> level, 1)
                _match(cur[level], nbr[level], side, n_by, n_bx, guess, radius, limit, found)
                guess = 2 * found
            _keep_zero(cur[0], nbr[0], block, n_by, n_bx, float(noise), found)
            moves[t, rt + k] = found
    return moves


def motion_estimate(
    backend, planes: np.ndarray, f, r, sigma: float, h: float, context: bool = False
) -> np.ndarray:
    """float32 (C, T, H, W) motion-compensated pixelwise NLM of (C, T, H, W) ``planes``.

    Pads by :func:`~nlmeans.backends._contract.motion_padding` with the margin of
    :func:`margin_for`, finds the :func:`displacements` on the frames' channel
    mean and runs ``backend.motion``. With ``context``, ``planes`` already hold
    r_t neighbour frames before and after the T' = T − 2 r_t frames to estimate
    (a block of a longer video), and only space is padded; the result has T' frames.
    """
    rt = int(r[0])
    margin = margin_for(rt)
    pad = motion_padding(f, r, margin)
    padded = pad_reflect(planes, (0, *pad[1:]) if context else pad)
    height, width = planes.shape[2:]
    m = pad[1]
    gray = padded[:, :, m : m + height, m : m + width].mean(axis=0)
    n_channels = planes.shape[0]
    moves = displacements(gray, rt, BLOCK, margin, 2.0 * sigma * sigma / n_channels)
    return backend.motion(padded, f, r, sigma, h, moves, BLOCK, margin)


def check_motion(params, ndim: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(f, r) of a motion-compensated run with ``params``, else NLMeansError saying why not.

    Motion compensation takes time stacks (3 spatial axes, time first) compared
    with 2-D patches (f_t = 0), equal spatial radii, pixelwise NLM with one h and
    the uniform patch kernel.
    """
    from ..errors import NLMeansError
    from ..params import radii

    if ndim != 3 or params.method != "pixel" or params.h_chroma is not None:
        raise NLMeansError(
            "motion=True takes a time stack (time, y, x, optional channels) denoised pixelwise "
            f"without h_chroma; this is {ndim} spatial axes, method={params.method!r}"
        )
    f, r = radii(params.f, 3), radii(params.r, 3)
    if not is_time_stack(f, r) or params.patch_kernel != "uniform":
        raise NLMeansError(
            f"motion=True compares 2-D patches across frames: it needs f=(0, f, f) and "
            f"r=(r_t, r, r) with the uniform patch kernel, not f={f}, r={r}, "
            f"patch_kernel={params.patch_kernel!r}"
        )
    return f, r


def motion_planes(backend, planes: np.ndarray, params, context: bool = False) -> np.ndarray:
    """Return the float32 (C, T, H, W) motion-compensated estimate of ``planes`` on ``backend``.

    :func:`check_motion`, then :func:`motion_estimate` (``context`` as there).
    """
    from .._memory import check_denoise_memory
    from ..errors import NLMeansError

    f, r = check_motion(params, planes.ndim - 1)
    if backend.motion is None:
        raise NLMeansError(f"backend={backend.name!r} has no motion-compensated kernel")
    check_denoise_memory(planes, motion_padding(f, r, margin_for(r[0])))
    return motion_estimate(backend, planes, f, r, params.sigma, params.h, context)
