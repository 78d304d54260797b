"""The noise estimator (nlmeans.noise, used by nlmeans.estimate_sigma)."""

import numpy as np
import pytest
from skimage import data
from skimage.restoration import estimate_sigma as robust_median

from nlmeans import estimate_sigma
from nlmeans.noise._wavelet import chi2_quantile_over_n


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


# The default estimator: weakly textured patches, noise eigenvalues (nlmeans.noise._texture).


def test_a_texture_fools_the_patch_estimate_less_than_the_wavelet_one():
    """Gravel at σ = 5: the wavelet blocks read texture as noise, the patch estimate does not."""
    clean = data.gravel().astype(np.float64)[128:384, 128:384]
    noisy = clean + np.random.default_rng(5).normal(0.0, 5.0, clean.shape)
    patches = estimate_sigma(noisy)
    wavelet = estimate_sigma(noisy, method="wavelet")
    assert abs(patches / 5.0 - 1) < 0.1
    assert wavelet / 5.0 - 1 > 0.3


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32, np.float64])
def test_every_dtype_in_raw_units(dtype):
    clean = data.camera().astype(np.float64)[:200, :200]
    scale = 257.0 if dtype == np.uint16 else 1.0
    noisy = (clean + np.random.default_rng(4).normal(0.0, 10.0, clean.shape)) * scale
    image = np.clip(noisy, 0, np.iinfo(dtype).max).astype(dtype) if dtype in (
        np.uint8, np.uint16) else noisy.astype(dtype)  # fmt: skip
    assert abs(estimate_sigma(image) / (10.0 * scale) - 1) < 0.1


def test_channels_are_measured_each_and_averaged():
    rng = np.random.default_rng(6)
    clean = data.camera().astype(np.float64)[:128, :128]
    image = np.stack([clean + rng.normal(0, s, clean.shape) for s in (4.0, 8.0, 12.0)], axis=-1)
    assert abs(estimate_sigma(image, channel_axis=-1) - 8.0) < 0.6
    first = estimate_sigma(np.moveaxis(image, -1, 0), channel_axis=0)
    assert first == pytest.approx(estimate_sigma(image, channel_axis=-1))


@pytest.mark.parametrize("shape", [(20, 40, 40), (6, 10, 32, 32), (64, 5, 64)])
def test_volumes_and_thin_axes(shape):
    noisy = np.random.default_rng(8).normal(50.0, 6.0, shape)
    assert abs(estimate_sigma(noisy) / 6.0 - 1) < 0.1


def test_tiny_planes_fall_back_to_smaller_patches_and_then_the_wavelet():
    rng = np.random.default_rng(9)
    assert abs(estimate_sigma(rng.normal(0, 5.0, (12, 12))) / 5.0 - 1) < 0.3  # 3 × 3 patches
    assert np.isfinite(estimate_sigma(rng.normal(0, 5.0, (4, 4))))  # the wavelet fallback


def test_unknown_method_is_refused():
    from nlmeans import NLMeansError

    with pytest.raises(NLMeansError, match="method='median'"):
        estimate_sigma(np.zeros((32, 32)), method="median")


def test_the_texture_threshold_is_the_quantile_of_white_noise_gradient_energy():
    from nlmeans.noise._texture import DELTA, texture_threshold

    noise = np.random.default_rng(10).normal(size=(40_000, 7, 7))
    energy = (np.diff(noise, axis=2) ** 2).sum(axis=(1, 2)) + (np.diff(noise, axis=1) ** 2).sum(
        axis=(1, 2)
    )
    assert abs(np.quantile(energy, DELTA) / texture_threshold(7) - 1) < 0.02


def test_noise_eigenvalues_of_a_white_noise_covariance_average_to_its_variance():
    from nlmeans.noise._texture import noise_eigenvalue_mean

    patches = np.random.default_rng(11).normal(0.0, 3.0, (5000, 49))
    eigenvalues = np.linalg.eigvalsh(np.cov(patches, rowvar=False))
    assert abs(noise_eigenvalue_mean(eigenvalues) / 9.0 - 1) < 0.03
    # The smallest eigenvalue alone (Liu et al.'s reading) is biased low by the spread.
    assert eigenvalues.min() / 9.0 < 0.85


def test_each_rounds_covariance_is_that_of_the_weakest_patches():
    # The prefix sums (stored every STEP rows, the rest added) give the sample
    # covariance of the k patches of least gradient energy, for any k.
    from nlmeans.noise._texture import WeakestPatches, covariance_of_first

    rng = np.random.default_rng(4)
    patches = 100 + rng.normal(0, 3, (1300, 9)) @ rng.normal(0, 1, (9, 9))
    energy = rng.random(1300)
    weakest = WeakestPatches(patches, energy)
    order = np.argsort(energy)
    assert weakest.count_below(np.sort(energy)[700]) == 700
    for k in (2, 511, 512, 700, 1024, 1300):
        expected = np.cov(patches[order[:k]], rowvar=False)
        got = covariance_of_first(weakest.patches, k, *weakest.sums, weakest.STEP)
        np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-9 * np.abs(expected).max())
