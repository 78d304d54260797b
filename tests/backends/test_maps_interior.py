"""A mask on a 2-D image: the 2-D kernel's plain and masked tiles inside the mapped method."""

import numpy as np
import pytest
from _support import pad_stack

from nlmeans.backends import reference
from nlmeans.backends.cpu import _mapped_interior
from nlmeans.backends.cpu._mapped import mapped_pixelwise
from nlmeans.backends.cpu._mapped_interior import interior, plan_boxes

TOLERANCE = 1e-4  # of the data range, which is 1


def _disc_mask(shape, f, r, hole=True):
    """A padded disc mask (with a hole) covering about half of ``shape``."""
    y, x = np.indices(shape)
    cy, cx = (np.array(shape) - 1) / 2
    inside = (y - cy) ** 2 + (x - cx) ** 2 < 0.16 * shape[0] * shape[1]
    if hole:
        inside[int(cy) - 1 : int(cy) + 2, int(cx) + 3 : int(cx) + 5] = False
    return pad_stack(inside[None], f, r, dtype=None)[0]


def test_interior_is_the_eroded_mask():
    # Brute force: p is interior when every q of its (2r + 1)² window is inside.
    rng = np.random.default_rng(3)
    shape, f, r = (23, 31), 1, 2
    mask = pad_stack((rng.random(shape) > 0.05)[None], f, r, dtype=None)[0]
    pad = f + r
    expected = np.array(
        [
            [mask[pad + y - r : pad + y + r + 1, pad + x - r : pad + x + r + 1].all()
             for x in range(shape[1])]
            for y in range(shape[0])
        ]
    )  # fmt: skip
    np.testing.assert_array_equal(interior(mask, r, shape), expected)
    assert expected.any() and not expected.all()


def test_boxes_cover_the_mask_and_plain_boxes_only_the_interior():
    inside = np.zeros((50, 700), bool)
    inside[3:47, 5:660] = True
    inner = np.zeros_like(inside)
    inner[5:45, 10:650] = True
    inner[20, 300] = False
    inner[30, 100:640] = False  # leaves runs of 10 interior columns: too short
    boxes = plan_boxes(inside, inner, rows=8)
    covered = np.zeros(inside.shape, int)
    plain = np.zeros(inside.shape, bool)
    for y0, y1, x0, x1, kind in boxes:
        assert 0 < x1 - x0 <= 512 and 0 < y1 - y0 <= (8 if kind < 2 else 512)
        assert kind != 2 or x1 - x0 < 32  # only narrow masked boxes run transposed
        covered[y0:y1, x0:x1] += 1
        if kind > 0:  # masked boxes start and end on rows holding a pixel inside
            assert inside[y0, x0:x1].any() and inside[y1 - 1, x0:x1].any()
        if kind == 0:
            assert inner[y0:y1, x0:x1].all() and x1 - x0 >= 16
            plain[y0:y1, x0:x1] = True
    assert (covered[inside] == 1).all()  # every pixel inside once
    assert not covered[:, :5].any() and not covered[:, 660:].any()  # columns without any
    # Bands wholly in the interior rows go to the plain tile, but the hole's columns
    # and the short runs of the band of row 30.
    assert plain[8:16, 10:650].all() and plain[32:40, 10:650].all()
    assert not plain[16:24, 300].any() and plain[16:24, 301:650].all()
    assert not plain[24:32, 100:640].any()
    # The narrow edge columns 5-9 of the bands of rows 8-39 are one transposed box.
    assert [8, 40, 5, 10, 2] in boxes.tolist()
    # The first band's masked boxes hold rows 3-7 only: rows 0-2 are outside.
    assert [3, 8, 5, 332, 1] in boxes.tolist() and [3, 8, 332, 660, 1] in boxes.tolist()


@pytest.mark.parametrize("n_threads", [1, 2, 3, 8])
def test_balance_shares_the_boxes_by_their_work(n_threads):
    rng = np.random.default_rng(5)
    y0, x0 = rng.integers(0, 500, 40), rng.integers(0, 500, 40)
    boxes = np.stack(
        [
            y0,
            y0 + rng.integers(1, 65, 40),
            x0,
            x0 + rng.integers(1, 513, 40),
            rng.integers(0, 3, 40),
        ],
        axis=1,
    )
    f, r = 2, 7
    ordered, starts = _mapped_interior.balance(boxes, f, r, n_threads)
    assert starts[0] == 0 and starts[-1] == len(boxes) and len(starts) == n_threads + 1
    assert sorted(map(tuple, ordered.tolist())) == sorted(map(tuple, boxes.tolist()))
    rows, cols = ordered[:, 1] - ordered[:, 0], ordered[:, 3] - ordered[:, 2]
    work = (rows + r) * (cols + 2 * (r + f)) * np.where(ordered[:, 4] > 0, 2, 1)
    shares = [work[a:b].sum() for a, b in zip(starts[:-1], starts[1:], strict=True)]
    # Largest first to the least loaded share: no share exceeds the mean by more
    # than one box's work (a prange's equal counts of boxes need not).
    assert max(shares) <= work.sum() / n_threads + work.max()
    if n_threads == 2:
        assert max(shares) - min(shares) <= work.max()


@pytest.mark.parametrize("n_channels, f, r", [(1, 1, 2), (3, 2, 3), (1, 0, 1)])
@pytest.mark.parametrize("band, narrow", [(4, 32), (8, 32), (4, 6)])
def test_masked_2d_with_an_interior_matches_the_oracle(
    rng, monkeypatch, n_channels, f, r, band, narrow
):
    # Wide enough for interior runs of MIN_COLS columns; bands of 4 rows cut the
    # disc into many boxes; the edge's boxes read the mask.
    monkeypatch.setattr(_mapped_interior, "BAND_ROWS", band)
    monkeypatch.setattr(_mapped_interior, "NARROW", narrow)
    shape = (40, 56)
    guide = pad_stack(rng.random((n_channels, *shape)), f, r)
    mask = _disc_mask(shape, f, r)
    calls = []
    real = _mapped_interior.boxes_kernel

    def spy(*args):
        calls.append(args[7][:, 4].tolist())
        return real(*args)

    monkeypatch.setattr(_mapped_interior, "boxes_kernel", spy)
    args = (guide, None, (f, f), (r, r), 0.1, [0.3])
    expected = reference.mapped_pixelwise(*args, mask=mask)
    got = mapped_pixelwise(*args, mask=mask)
    # The plain tile, the masked one on the transposed narrow boxes, and (a
    # lower NARROW) on boxes as they are.
    assert {0, 2} <= set(calls[0]) and (narrow > 6 or 1 in calls[0])
    np.testing.assert_allclose(got, expected, rtol=0, atol=TOLERANCE)
    pad = f + r
    outside = ~mask[pad:-pad, pad:-pad]
    np.testing.assert_array_equal(got[0][:, outside], guide[:, pad:-pad, pad:-pad][:, outside])


def test_the_interior_path_is_left_out_where_it_does_not_apply(rng, monkeypatch):
    # Two strengths, a σ map or values ≠ guide: the N-D mapped kernel.
    def refuse(*args):
        raise AssertionError("the 2-D tiles ran")

    monkeypatch.setattr(_mapped_interior, "boxes_kernel", refuse)
    shape, f, r = (30, 40), 1, 2
    guide = pad_stack(rng.random((1, *shape)), f, r)
    mask = _disc_mask(shape, f, r, hole=False)
    sigma_map = np.full(mask.shape, 0.1) * (1 + 0.5 * rng.random(mask.shape))
    for kwargs in (
        dict(hs=[0.2, 0.3]),
        dict(sigma_map=sigma_map),
        dict(values=np.square(guide)),
    ):
        hs = kwargs.pop("hs", [0.3])
        values = kwargs.pop("values", None)
        args = (guide, values, (f, f), (r, r), 0.1, hs)
        expected = reference.mapped_pixelwise(*args, mask=mask, **kwargs)
        got = mapped_pixelwise(*args, mask=mask, **kwargs)
        np.testing.assert_allclose(got, expected, rtol=0, atol=TOLERANCE)
