"""The noise estimator (nlmeans.noise, used by nlmeans.estimate_sigma)."""

import numpy as np
import pytest
from skimage import data
from skimage.restoration import estimate_sigma as robust_median

from nlmeans import estimate_sigma
from nlmeans.noise.wavelet import chi2_quantile_over_n


@pytest.mark.parametrize("sigma", [5.0, 20.0])
def test_low_noise_on_a_textured_photo_is_not_overestimated(sigma):
    clean = data.camera().astype(np.float64)
    noisy = clean + np.random.default_rng(7).normal(0.0, sigma, clean.shape)
    estimate = estimate_sigma(noisy)
    assert abs(estimate - sigma) < 0.08 * sigma
    # Closer than the robust median of the whole band, which counts the texture.
    assert abs(estimate - sigma) < abs(robust_median(noisy) - sigma)


def test_saturated_regions_are_skipped():
    rng = np.random.default_rng(1)
    level = np.where(np.arange(256)[None, :] < 128, 250.0, 128.0)
    image = np.clip(level + rng.normal(0.0, 10.0, (256, 256)), 0, 255).astype(np.uint8)
    assert 9.0 < estimate_sigma(image) < 11.0


def test_flat_and_tiny_images():
    assert estimate_sigma(np.full((64, 64), 3.0)) < 1e-6
    tiny = np.random.default_rng(2).normal(0.0, 5.0, (20, 20))
    assert 3.0 < estimate_sigma(tiny) < 7.0  # the robust-median fallback


def test_chi2_quantile_matches_a_simulation():
    draws = np.random.default_rng(3).chisquare(64, 200_000) / 64
    assert abs(np.quantile(draws, 0.1) - chi2_quantile_over_n(64)) < 2e-3


@pytest.mark.parametrize("shape", [(97, 64), (64, 97), (97, 97), (95, 64), (131, 98)])
def test_odd_sizes_are_measured(shape):
    """Every plane size works (97 rows once asked for pixels beyond the plane)."""
    noisy = np.random.default_rng(1).normal(100.0, 10.0, shape)
    assert abs(estimate_sigma(noisy) - 10.0) < 1.5
