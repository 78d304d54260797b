"""Threads' shares of uneven work units (tiles, boxes), dealt by the host.

A ``prange`` over work units gives each thread an equal *count* of them
(``numba.parallel_chunksize`` does not balance them under the OpenMP and
workqueue layers: the chunks are still dealt out in equal contiguous runs).
Where the units differ in cost, the kernels instead loop over one share per
thread, and the host deals the units into shares of about equal estimated work.
"""

from __future__ import annotations

import numpy as np


def equal_shares(work: np.ndarray, n_shares: int) -> tuple[np.ndarray, np.ndarray]:
    """Deal units of estimated ``work`` into ``n_shares`` shares; return (order, starts).

    Share k holds the units ``order[starts[k]:starts[k + 1]]``. The largest
    units go first, each to the share with the least work so far (the
    longest-processing-time rule: no share exceeds the mean by more than one
    unit's work).
    """
    work = np.asarray(work, dtype=np.float64)
    n_shares = max(1, int(n_shares))
    totals = np.zeros(n_shares)
    shares: list[list[int]] = [[] for _ in range(n_shares)]
    for unit in np.argsort(-work, kind="stable").tolist():
        k = int(np.argmin(totals))
        totals[k] += work[unit]
        shares[k].append(unit)
    starts = np.cumsum([0] + [len(share) for share in shares]).astype(np.int64)
    order = np.array([unit for share in shares for unit in share], np.int64)
    return order, starts
