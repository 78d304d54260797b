"""The N-D CPU kernels (nlmeans.backends.cpu._ndim) against the N-D NumPy oracle."""

import numpy as np
import pytest
from _support import pad_stack

from nlmeans.backends import reference
from nlmeans.backends.cpu import _ndim as ndim

#: method -> (kernel, oracle)
METHODS = {
    "pixel": (ndim.pixelwise, reference.pixelwise),
    "patch": (ndim.patchwise, reference.patchwise),
}


def check(image, f, r, sigma, hs, method, tile=None):
    """Kernel and oracle agree to 1e-4 of the data range; returns the kernel's estimate."""
    kernel, oracle = METHODS[method]
    padded = pad_stack(image, f, r, method)
    out = kernel(padded, f, r, sigma, hs, tile=tile)
    expected = oracle(padded, f, r, sigma, hs)
    assert out.shape == expected.shape == (len(hs),) + image.shape
    assert out.dtype == np.float32
    span = float(image.max() - image.min())
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-4 * span)
    return out


def noisy(rng, shape, channels, scale=1.0):
    """A smooth ramp plus noise: weights spread over (0, 1] rather than all 0 or 1."""
    grid = np.indices(shape).sum(axis=0) / max(1, sum(shape))
    base = np.stack([grid * (c + 1) for c in range(channels)])
    return (scale * (base + 0.15 * rng.standard_normal((channels,) + shape))).astype(np.float32)


CASES = [
    # shape, f, r
    ((23,), (2,), (4,)),
    ((9, 12), (1, 2), (3, 1)),
    ((6, 7, 9), (0, 1, 1), (1, 2, 2)),
    ((5, 6, 8), (1, 1, 2), (2, 1, 1)),
    ((3, 4, 5, 6), (1, 0, 1, 1), (1, 1, 0, 2)),
]


@pytest.mark.parametrize("method", ["pixel", "patch"])
@pytest.mark.parametrize("shape, f, r", CASES)
@pytest.mark.parametrize("channels", [1, 3])
def test_one_strength_matches_the_oracle(rng, method, shape, f, r, channels):
    check(noisy(rng, shape, channels), f, r, 0.05, [0.2], method)


@pytest.mark.parametrize("method", ["pixel", "patch"])
@pytest.mark.parametrize("shape, f, r", CASES[1:4])
@pytest.mark.parametrize("channels", [2, 5])
def test_three_strengths_match_the_oracle(rng, method, shape, f, r, channels):
    out = check(noisy(rng, shape, channels), f, r, 0.0, [0.05, 0.2, 1.0], method)
    # The strengths differ, so do the estimates: h is not shared by mistake.
    assert np.abs(out[0] - out[2]).max() > 1e-3


@pytest.mark.parametrize("method", ["pixel", "patch"])
@pytest.mark.parametrize("sigma", [0.0, 0.1, 5.0])
def test_sigma_offset(rng, method, sigma):
    image = noisy(rng, (7, 8, 9), 1)
    out = check(image, (1, 1, 1), (1, 1, 1), sigma, [0.1], method)
    if sigma == 5.0:
        # d² < 2σ²: every weight is 1, the estimate is a plain mean (not the input).
        assert np.abs(out[0] - image).max() > 1e-2


@pytest.mark.parametrize("method", ["pixel", "patch"])
@pytest.mark.parametrize("tile", [(1, 1, 1), (2, 3, 4), (3, 5, 2), (7, 1, 16)])
def test_tile_borders(rng, method, tile):
    # Tiles that do not divide the image, including one-pixel tiles.
    check(noisy(rng, (6, 7, 11), 2), (1, 1, 1), (2, 1, 2), 0.02, [0.15, 0.4], method, tile)


@pytest.mark.parametrize("method", ["pixel", "patch"])
def test_image_smaller_than_the_window(rng, method):
    # Shape 2 with r = 3 and f = 2: the padding reflects several times over.
    image = noisy(rng, (2, 4, 3), 1)
    f, r = (1, 1, 1), (1, 2, 1)
    check(image, f, r, 0.0, [0.3], method)


@pytest.mark.parametrize("method", ["pixel", "patch"])
def test_radius_zero_on_an_axis_filters_slices_alone(rng, method):
    kernel = METHODS[method][0]
    volume = noisy(rng, (4, 7, 8), 3)
    f, r = (0, 1, 1), (0, 2, 2)
    out = kernel(pad_stack(volume, f, r, method), f, r, 0.0, [0.2])
    for z in range(4):
        alone = kernel(pad_stack(volume[:, z], f[1:], r[1:], method), f[1:], r[1:], 0.0, [0.2])
        np.testing.assert_allclose(out[:, :, z], alone, rtol=0, atol=1e-6)


def test_uint8_range_and_large_search_window(rng):
    # Pixel values in [0, 255] and 5 × 9 × 9 shifts: float32 sums stay within 1e-4.
    image = noisy(rng, (5, 12, 13), 1, scale=120.0) + 60
    check(image, (0, 2, 2), (2, 4, 4), 10.0, [12.0], "pixel")


def test_constant_image_is_unchanged():
    image = np.full((1, 6, 5, 7), 0.5, np.float32)
    padded = pad_stack(image, (1, 1, 1), (2, 2, 2), "pixel")
    out = ndim.pixelwise(padded, (1, 1, 1), (2, 2, 2), 0.0, [0.1])
    np.testing.assert_array_equal(out[0], image)


def test_default_tiles_cover_a_larger_volume(rng):
    # Several default tiles per axis (compared with the oracle on a cheap window).
    volume = noisy(rng, (20, 40, 150), 1)
    f, r = (1, 0, 1), (0, 1, 1)
    tile = ndim.tile_shape((20, 40, 150), f, r)
    assert np.prod(-(-np.array((1, 20, 40, 150)) // tile)) > 1
    check(volume, f, r, 0.0, [0.2], "pixel")


@pytest.mark.parametrize(
    "shape, f, r",
    [
        ((40, 96, 96), (1, 1, 1), (2, 2, 2)),
        ((64, 128, 128), (2, 2, 2), (5, 5, 5)),
        ((41, 70, 300), (1, 1, 1), (1, 1, 1)),
    ],
)
def test_default_tiles_are_even(shape, f, r):
    # Tiles of one axis differ by less than their count: no short last tile that
    # leaves one thread's share of tiles much lighter than the other's.
    tile = ndim.tile_shape(shape, f, r)
    for extent, size in zip((1, *shape), tile, strict=True):
        count = -(-extent // size)
        last = extent - (count - 1) * size
        assert size - last < count, (shape, tile)
    if shape == (40, 96, 96):
        assert tile[1] == 20  # two tiles of 20 planes, not 32 and 8


def test_far_patches_weigh_nothing_not_nan():
    # Distances far beyond h: weights underflow to 0, the estimate is the input, no NaN.
    image = np.zeros((1, 12), np.float32)
    image[0, ::2] = 1000.0
    padded = pad_stack(image, (1,), (3,), "pixel")
    out = ndim.pixelwise(padded, (1,), (3,), 0.0, [1e-3])
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out[0], image, rtol=0, atol=1e-3)


def test_bad_arguments_are_refused():
    padded = np.zeros((1, 9, 9), np.float32)
    with pytest.raises(ValueError):
        ndim.pixelwise(padded, (1,), (1, 1), 0.0, [1.0])
    with pytest.raises(ValueError):
        ndim.pixelwise(np.zeros((1, 3, 3, 3, 3, 3), np.float32), (0,) * 5, (0,) * 5, 0.0, [1.0])
    with pytest.raises(ValueError):
        ndim.patchwise(padded, (2, 2), (1, 1), 0.0, [1.0])
