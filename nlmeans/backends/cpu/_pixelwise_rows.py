"""The accumulation rows of the 2-D pixelwise tile (:func:`._pixelwise.denoise_tile`).

One output row's share of one shift t > 0: the weight W_t(p) serves p with the
candidate p + t, and W_t(p − t) serves p with the candidate p − t, so

    Σ_q w(p, q) u_c(q)  += W_t(p) u_c(p + t) + W_t(p − t) u_c(p − t)
    Σ_q w(p, q)         += W_t(p) + W_t(p − t)

(:func:`accumulate`), or, with a mask μ, the same terms with μ(q) u_c(q) in
the numerator and μ(q) w in the denominator (:func:`accumulate_masked`).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..._kernel_cache import ensure_kernel_cache
from ._fastexp import FMA

ensure_kernel_cache(__file__)  # before the first cached kernel is defined


@njit(cache=True, fastmath=FMA)
def accumulate(padded, fwd, bwd, weights, w_fwd, w_bwd, n, numerator, denominator, i):
    """Σ w u(q) and Σ w of output row i: += W_t(p) u(p+t) + W_t(p−t) u(p−t).

    ``fwd`` / ``bwd`` are the (row, column) of u(p+t) / u(p−t) for the row's
    first pixel in the padded stack; ``w_fwd`` / ``w_bwd`` the (ring row,
    column) of W_t(p) / W_t(p−t) in ``weights``. One loop for 1 and 3 channels.
    """
    n_channels = padded.shape[0]
    i = np.uint64(i)
    n = np.uint64(n)
    f_row, f_col = np.uint64(fwd[0]), np.uint64(fwd[1])
    b_row, b_col = np.uint64(bwd[0]), np.uint64(bwd[1])
    wf_row, wf_col = np.uint64(w_fwd[0]), np.uint64(w_fwd[1])
    wb_row, wb_col = np.uint64(w_bwd[0]), np.uint64(w_bwd[1])
    zero = np.uint64(0)
    if n_channels == 1:
        for x in range(n):
            wf = weights[wf_row, wf_col + x]
            wb = weights[wb_row, wb_col + x]
            denominator[i, x] += wf + wb
            numerator[zero, i, x] += (
                wf * padded[zero, f_row, f_col + x] + wb * padded[zero, b_row, b_col + x]
            )
    elif n_channels == 3:
        one = np.uint64(1)
        two = np.uint64(2)
        for x in range(n):
            wf = weights[wf_row, wf_col + x]
            wb = weights[wb_row, wb_col + x]
            denominator[i, x] += wf + wb
            numerator[zero, i, x] += (
                wf * padded[zero, f_row, f_col + x] + wb * padded[zero, b_row, b_col + x]
            )
            numerator[one, i, x] += (
                wf * padded[one, f_row, f_col + x] + wb * padded[one, b_row, b_col + x]
            )
            numerator[two, i, x] += (
                wf * padded[two, f_row, f_col + x] + wb * padded[two, b_row, b_col + x]
            )
    else:
        for x in range(n):
            denominator[i, x] += weights[wf_row, wf_col + x] + weights[wb_row, wb_col + x]
        for c in range(np.uint64(n_channels)):
            for x in range(n):
                numerator[c, i, x] += (
                    weights[wf_row, wf_col + x] * padded[c, f_row, f_col + x]
                    + weights[wb_row, wb_col + x] * padded[c, b_row, b_col + x]
                )


@njit(cache=True, fastmath=FMA)
def accumulate_masked(values, mask, fwd, bwd, weights, w_fwd, w_bwd, n, num, den, i):
    """Output row i: num_c += W_t(p) (μ u_c)(p+t) + W_t(p−t) (μ u_c)(p−t); den likewise with μ.

    ``fwd`` / ``bwd``: (row, column) of p + t / p − t for the row's first pixel
    in the padded arrays; ``w_fwd`` / ``w_bwd``: (ring row, column) of W_t(p) /
    W_t(p − t) in ``weights``.
    """
    i = np.uint64(i)
    n = np.uint64(n)
    f_row, f_col = np.uint64(fwd[0]), np.uint64(fwd[1])
    b_row, b_col = np.uint64(bwd[0]), np.uint64(bwd[1])
    wf_row, wf_col = np.uint64(w_fwd[0]), np.uint64(w_fwd[1])
    wb_row, wb_col = np.uint64(w_bwd[0]), np.uint64(w_bwd[1])
    for x in range(n):
        den[i, x] += (
            weights[wf_row, wf_col + x] * mask[f_row, f_col + x]
            + weights[wb_row, wb_col + x] * mask[b_row, b_col + x]
        )
    for c in range(np.uint64(values.shape[0])):
        for x in range(n):
            num[c, i, x] += (
                weights[wf_row, wf_col + x] * values[c, f_row, f_col + x]
                + weights[wb_row, wb_col + x] * values[c, b_row, b_col + x]
            )
