"""The Numba CPU backend against the NumPy oracle."""

import numpy as np
import pytest

from nlmeans import denoise

CASES = [
    # (shape, channel_axis, f, r, h, sigma), values in [0, 1]
    ((17, 23), None, 1, 2, 0.15, 0.0),
    ((17, 23), None, 2, 3, 0.3, 0.05),
    ((17, 23), None, 0, 4, 0.1, 0.02),
    ((3, 4), None, 2, 5, 0.2, 0.0),  # smaller than the patch and the window
    ((1, 1), None, 1, 2, 0.2, 0.0),
    ((11, 9, 3), -1, 1, 3, 0.2, 0.05),
    ((3, 11, 9), 0, 2, 2, 0.25, 0.0),
    ((9, 4, 7), 1, 1, 2, 0.2, 0.1),  # 4 channels on the middle axis
    ((40, 70), None, 3, 2, 0.2, 0.05),  # more than one band of rows
]


@pytest.mark.parametrize("shape, channel_axis, f, r, h, sigma", CASES)
def test_cpu_matches_reference(rng, shape, channel_axis, f, r, h, sigma):
    image = rng.random(shape).astype(np.float32)
    kwargs = dict(h=h, sigma=sigma, f=f, r=r, channel_axis=channel_axis)
    expected = denoise(image, backend="reference", **kwargs)
    got = denoise(image, backend="cpu", **kwargs)
    assert got.shape == image.shape
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-4)  # data range is 1


def test_cpu_matches_reference_in_8bit_units(rng):
    image = (rng.random((21, 19, 3)) * 255).astype(np.float64)
    kwargs = dict(h=12.0, sigma=10.0, f=2, r=3, channel_axis=-1)
    expected = denoise(image, backend="reference", **kwargs)
    got = denoise(image, backend="cpu", **kwargs)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-4 * 255)


def test_tiny_h_keeps_pixels_finite(rng):
    image = rng.random((15, 16)).astype(np.float32)
    out = denoise(image, h=1e-6, sigma=0.0, f=1, r=2, backend="cpu")
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out, image, atol=1e-6)  # only the centre weight survives
