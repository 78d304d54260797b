"""The public front door: quality, dtypes, layouts, validation."""

import numpy as np
import pytest
from _support import noisy_camera
from skimage.metrics import peak_signal_noise_ratio

from nlmeans import NLMeansError, Params, denoise, estimate_sigma, resolve_params


def test_defaults_gain_six_db_on_camera_sigma_20():
    clean, noisy = noisy_camera(sigma=20.0, seed=0)
    out = denoise(noisy)
    before = peak_signal_noise_ratio(clean, noisy, data_range=255)
    after = peak_signal_noise_ratio(clean, out, data_range=255)
    assert after - before >= 6.0


def test_uint8_and_float_in_8bit_units_agree(rng):
    image = rng.integers(0, 256, (24, 20), dtype=np.uint8)
    kwargs = dict(h=15.0, sigma=10.0, f=1, r=3)
    as_uint8 = denoise(image, **kwargs)
    as_float = denoise(image.astype(np.float64), **kwargs)
    assert as_uint8.dtype == np.uint8
    assert np.abs(as_uint8.astype(float) - as_float).max() <= 0.5 + 1e-3


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32, np.float64])
def test_dtype_and_shape_are_kept(rng, dtype):
    image = (rng.random((13, 14, 3)) * (200 if dtype == np.uint8 else 0.8)).astype(dtype)
    out = denoise(image, h=0.1, sigma=0.0, f=1, r=2, channel_axis=-1)
    assert out.dtype == dtype and out.shape == image.shape


def test_uint16_units_are_raw(rng):
    image = (rng.random((16, 16)) * 60000).astype(np.uint16)
    out = denoise(image, h=3000.0, sigma=1000.0, f=1, r=2)
    expected = denoise(image.astype(np.float64), h=3000.0, sigma=1000.0, f=1, r=2)
    assert np.abs(out.astype(float) - expected).max() <= 0.5 + 1e-6 * 65535


def test_input_is_not_modified(rng):
    image = rng.random((12, 12))
    copy = image.copy()
    denoise(image, h=0.2, f=1, r=2)
    np.testing.assert_array_equal(image, copy)


def test_constant_image_is_unchanged():
    image = np.full((10, 11, 3), 77, dtype=np.uint8)
    np.testing.assert_array_equal(denoise(image, channel_axis=-1), image)


def test_return_params_and_resolve_params_agree(rng):
    image = rng.random((32, 32)).astype(np.float32)
    out, params = denoise(image, return_params=True, tune=False)
    assert params == resolve_params(image)
    assert params.sigma_estimated and params.h > 0


def test_resolve_params_keeps_given_values(rng):
    image = rng.random((16, 16))
    assert resolve_params(image, h=0.3, sigma=0.1, f=2, r=4) == Params(2, 4, 0.3, 0.1, False)


def test_estimate_sigma_recovers_the_noise_in_raw_units():
    _, noisy = noisy_camera(sigma=20.0, seed=1)
    assert estimate_sigma(noisy) == pytest.approx(20.0, rel=0.1)
    assert estimate_sigma(noisy / 255.0) == pytest.approx(20.0 / 255.0, rel=0.1)


def test_estimate_sigma_averages_channels(rng):
    planes = np.stack([rng.normal(0, s, (64, 64)) for s in (0.02, 0.04, 0.06)], axis=-1)
    assert estimate_sigma(planes, channel_axis=-1) == pytest.approx(0.04, rel=0.1)


@pytest.mark.parametrize(
    "kwargs, names",
    [
        (dict(h=0.0), "h="),
        (dict(h=-1.0), "h="),
        (dict(h=float("nan")), "h="),
        (dict(h="soft"), "h="),
        (dict(sigma=-0.1), "sigma="),
        (dict(sigma=float("inf")), "sigma="),
        (dict(f=-1), "f="),
        (dict(f=1.5), "f="),
        (dict(r=-2), "r="),
        (dict(r=10**6), "r="),
        (dict(data_range=0), "data_range="),
        (dict(backend="tpu"), "backend="),
        (dict(channel_axis=-1), "channel_axis"),
    ],
)
def test_bad_parameters_raise_one_clear_error(rng, kwargs, names):
    image = rng.random((8, 8))
    with pytest.raises(NLMeansError, match=names):
        denoise(image, **kwargs)


@pytest.mark.parametrize(
    "image",
    [
        np.zeros((4, 4), dtype=bool),
        np.zeros((4, 4), dtype=np.int64),
        np.zeros((4, 4), dtype=np.complex64),
        np.zeros((0, 4)),
        np.zeros((2, 2, 2, 2, 2)),  # 5 spatial axes (channel_axis=None: every axis is one)
    ],
)
def test_bad_images_raise_one_clear_error(image):
    with pytest.raises(NLMeansError):
        denoise(image)


def test_non_finite_pixels_are_refused(rng):
    image = rng.random((8, 8))
    image[2, 3] = np.nan
    image[4, 4] = np.inf
    with pytest.raises(NLMeansError, match="2 non-finite"):
        denoise(image)


def test_long_runs_go_in_slabs_with_progress_and_the_same_result(monkeypatch, rng):
    import nlmeans._blocks as core

    volume = rng.random((24, 20, 18)).astype(np.float32)
    options = dict(h=0.3, sigma=0.1, f=(1, 1, 1), r=(3, 2, 2))
    whole = denoise(volume, **options)
    monkeypatch.setattr(core, "SLAB_WORK", 1.0)  # every slab as thin as allowed
    seen = []
    sliced = denoise(volume, progress=lambda done, total: seen.append((done, total)), **options)
    # Slabs of 4 patch margins (4 × 1 rows; the search radius is no part of the margin):
    # the padding is taken from the neighbouring rows, so only float32 rounding of the
    # running sums differs.
    assert [done for done, _ in seen] == [4, 8, 12, 16, 20, 24] and {t for _, t in seen} == {24}
    np.testing.assert_allclose(sliced, whole, rtol=0, atol=1e-6)
    reference = denoise(volume, backend="reference", **options)
    np.testing.assert_allclose(sliced, reference, rtol=0, atol=1e-4)
