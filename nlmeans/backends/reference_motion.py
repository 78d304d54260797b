"""The NumPy oracle of motion-compensated NLM on time stacks (2-D patches).

A literal float64 transcription in the notation of
:mod:`nlmeans.backends.reference`: the search box of each pixel in another
frame is centred on the pixel moved by its block's displacement.
"""

from __future__ import annotations

import numpy as np

from ._oracle_terms import box, nlm_weight

__all__ = ["motion_pixelwise"]


def motion_pixelwise(padded: np.ndarray, f, r, sigma: float, h: float, moves, block, margin):
    """Motion-compensated pixelwise NLM of a reflect-padded time stack (2-D patches).

    A time stack u(t, y, x) with f = (0, f_s, f_s) and r = (r_t, r_s, r_s): the
    search box of pixel p of frame t in frame t + k, |k| ≤ r_t, is centred on
    p + v(t, k, p) instead of p, with v the displacement of the block of side
    ``block`` that holds p (``moves[t, r_t + k, p_y // block, p_x // block]``,
    (dy, dx), |dy|, |dx| ≤ ``margin``; v(t, 0, p) = 0)::

        û_c(t, p) = Σ_k Σ_{s ∈ B(0, r_s)} w((t, p), (t + k, q)) u_c(t + k, q)
                    / Σ_k Σ_s w((t, p), (t + k, q)),     q = p + v(t, k, p) + s

    with the weight and the 2-D patch distance of
    :func:`nlmeans.backends.reference.pixelwise`; only the centre of the box moves.

    Parameters
    ----------
    padded : ndarray, shape (C, T + 2 r_t, H + 2 m, W + 2 m)
        The frames reflect-padded by r_t in time and by m = r_s + f_s + ``margin``
        in space (a displaced box and its patches reach ``margin`` further out).
    f, r : (0, f_s, f_s), (r_t, r_s, r_s)
    sigma, h : float
    moves : int array (T, 2 r_t + 1, ⌈H / block⌉, ⌈W / block⌉, 2)
    block, margin : int

    Returns
    -------
    ndarray, float32, shape (C, T, H, W)

    References
    ----------
    A. Buades, B. Coll, J.-M. Morel, "Non-Local Means Denoising", IPOL 1 (2011);
    "Denoising image sequences does not require motion estimation", AVSS 2005.
    """
    u = np.asarray(padded, dtype=np.float64)
    rt, fs, rs = int(r[0]), int(f[1]), int(r[1])
    m = rs + fs + int(margin)
    n_channels, frames, rows, cols = u.shape
    shape = (frames - 2 * rt, rows - 2 * m, cols - 2 * m)
    moves = np.asarray(moves)
    y, x = np.indices(shape[1:])
    numerator = np.zeros((n_channels,) + shape)
    denominator = np.zeros(shape)
    for t in range(shape[0]):
        for k in range(-rt, rt + 1):
            vy = moves[t, rt + k, y // block, x // block, 0] if k else 0 * y
            vx = moves[t, rt + k, y // block, x // block, 1] if k else 0 * x
            for sy, sx in box((rs, rs)):
                qy, qx = y + vy + sy, x + vx + sx  # q = p + v + s
                d2 = np.zeros(shape[1:])
                # Σ_c Σ_{j ∈ B(0, f_s)} (u_c(t, p + j) − u_c(t + k, q + j))²
                for jy, jx in box((fs, fs)):
                    here = u[:, rt + t, m + y + jy, m + x + jx]
                    there = u[:, rt + t + k, m + qy + jy, m + qx + jx]
                    d2 += ((here - there) ** 2).sum(axis=0)
                weight = nlm_weight(d2 / (n_channels * (2 * fs + 1) ** 2), sigma, float(h))
                numerator[:, t] += weight * u[:, rt + t + k, m + qy, m + qx]
                denominator[t] += weight
    return (numerator / denominator).astype(np.float32)
