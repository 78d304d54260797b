"""Threads' shares of uneven work units (:mod:`nlmeans.backends.cpu._shares`)."""

import numpy as np
import pytest

from nlmeans.backends.cpu._shares import equal_shares


@pytest.mark.parametrize("n_shares", [1, 2, 3, 16])
def test_every_unit_once_and_shares_within_one_unit_of_the_mean(n_shares):
    work = np.random.default_rng(2).pareto(1.5, 50) + 1
    order, starts = equal_shares(work, n_shares)
    assert len(starts) == n_shares + 1 and starts[0] == 0 and starts[-1] == work.size
    assert sorted(order.tolist()) == list(range(work.size))
    totals = [work[order[a:b]].sum() for a, b in zip(starts[:-1], starts[1:], strict=True)]
    assert max(totals) <= work.sum() / n_shares + work.max()


def test_two_heavy_units_go_to_different_shares():
    # A prange over these four units gives both heavy ones to the first thread.
    order, starts = equal_shares(np.array([10.0, 10.0, 1.0, 1.0]), 2)
    shares = [set(order[a:b].tolist()) for a, b in zip(starts[:-1], starts[1:], strict=True)]
    assert all(len(share & {0, 1}) == 1 for share in shares)
