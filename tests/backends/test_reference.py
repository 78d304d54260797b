"""The oracle itself: checked on cases whose answer follows from the formulas by hand."""

import numpy as np
import pytest
from _support import pad_stack

from nlmeans import denoise
from nlmeans.backends.reference import pixelwise


def test_window_of_one_returns_the_input(rng):
    image = rng.random((7, 9))
    out = denoise(image, h=0.1, sigma=0.0, f=1, r=0, backend="reference")
    np.testing.assert_allclose(out, image, rtol=0, atol=1e-6)


def test_two_pixel_weights_follow_the_formula():
    # 1×2 image [a, b], f=0, r=1, reflect padding [b, a, b, a]: pixel a sees
    # candidates b (left, reflected), a (itself), b (right), each row 3 times.
    a, b, h, sigma = 0.2, 0.5, 0.4, 0.1
    image = np.array([[a, b]])
    weight = np.exp(-max((a - b) ** 2 - 2 * sigma**2, 0.0) / h**2)
    expected_a = (3 * a + 6 * weight * b) / (3 + 6 * weight)
    out = denoise(image, h=h, sigma=sigma, f=0, r=1, backend="reference")
    assert out[0, 0] == pytest.approx(expected_a, abs=1e-6)


def test_patch_distance_is_a_mean_over_channels_and_pixels():
    # Two flat halves differing by delta in one channel of three: d² = delta² / 3.
    delta, h = 0.3, 0.2
    image = np.zeros((1, 2, 3))
    image[0, 1, 0] = delta
    padded = pad_stack(np.moveaxis(image, -1, 0), f=0, r=1)
    out = pixelwise(padded, (0, 0), (1, 1), 0.0, [h])[0]
    weight = np.exp(-(delta**2 / 3) / h**2)
    # Pixel (0,0) sees itself 3 times, its right neighbour and its reflection 6 times.
    expected = 6 * weight * delta / (3 + 6 * weight)
    assert out[0, 0, 0] == pytest.approx(expected, abs=1e-6)


def test_sigma_offset_gives_full_weight_below_two_sigma_squared():
    image = np.array([[0.0, 0.1]])
    # d² = 0.01 < 2σ² = 0.02: every weight is 1, the estimate is the window mean.
    out = denoise(image, h=0.01, sigma=0.1, f=0, r=1, backend="reference")
    assert out[0, 0] == pytest.approx((3 * 0.0 + 6 * 0.1) / 9, abs=1e-6)
