"""The search space: which patch and search radii a search tries, per kind of stack."""

import pytest

from nlmeans import Params
from nlmeans.errors import NLMeansError
from nlmeans.sure._grids import candidate_radii


def base(f, r):
    return Params(f=f, r=r, h=10.0, sigma=10.0)


def test_a_2d_image_searches_the_open_radii():
    assert candidate_radii(base(1, 10), None, None, 2, True) == ([1, 2, 3], [8])
    assert candidate_radii(base(2, 10), 2, None, 2, True) == ([2], [8])  # f given
    # One axis of f given: the other takes each candidate (per-axis radii).
    assert candidate_radii(base((1, 1), 10), (1, None), None, 2, True) == (
        [1, (1, 2), (1, 3)], [8]
    )  # fmt: skip
    # Too small for tiles (SURE on the whole image): an 11 × 11 window as well.
    assert candidate_radii(base(1, 10), None, None, 2, False) == ([1, 2, 3], [5, 8])
    assert candidate_radii(base(1, 6), None, 6, 2, False) == ([1, 2, 3], [6])  # r given


def test_noise_that_hides_the_image_adds_the_presets_wider_window():
    assert candidate_radii(base(3, 17), None, None, 2, True, noise_dominated=True) == (
        [1, 2, 3], [8, 17]
    )  # fmt: skip
    assert candidate_radii(base(3, 17), None, None, 2, False, noise_dominated=True)[1] == [5, 8, 17]
    # Not where the presets' window is no wider, nor for radii given or asked for.
    assert candidate_radii(base(1, 8), None, None, 2, True, noise_dominated=True)[1] == [8]
    assert candidate_radii(base(3, 8), None, 8, 2, True, noise_dominated=True)[1] == [8]
    assert candidate_radii(
        base(3, 17), None, None, 2, True, radii=(4, 6), noise_dominated=True
    )[1] == [4, 6]  # fmt: skip
    assert candidate_radii(base(3, 17), None, None, 2, True)[1] == [8]


def test_a_volume_searches_around_its_presets_where_it_has_tiles():
    assert candidate_radii(base(1, 3), None, None, 3, True) == ([1, 2], [2, 3])
    assert candidate_radii(base(1, 3), None, None, 3, False) == ([1], [3])  # small: kept
    assert candidate_radii(base(1, 2), None, None, 4, True) == ([1], [2])  # 4-D: kept


def test_a_time_stack_searches_its_frames_as_a_2d_image():
    fs, rs = candidate_radii(base((0, 2, 2), (2, 10, 10)), (0, None, None), (2, None, None), 3,
                             True)  # fmt: skip
    assert fs == [(0, 1, 1), (0, 2, 2), (0, 3, 3)] and rs == [(2, 8, 8)]
    # Fully given per-axis radii are kept.
    fixed = base((0, 1, 1), (2, 10, 10))
    assert candidate_radii(fixed, (0, 1, 1), (2, 10, 10), 3, True) == ([(0, 1, 1)], [(2, 10, 10)])


def test_asked_candidates_are_checked():
    assert candidate_radii(base(1, 3), None, None, 3, True, (1,), (1, 4)) == ([1], [1, 4])
    with pytest.raises(NLMeansError, match="r="):
        candidate_radii(base(1, 3), None, None, 3, True, (1,), (-1,))
