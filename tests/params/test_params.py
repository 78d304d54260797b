"""Parameter resolution: the IPOL presets, units and the data_range rule."""

import numpy as np
import pytest

import nlmeans
from nlmeans.params import MIN_PRESET_SIGMA_8BIT, image_data_range, preset, resolve, sigma_floor


@pytest.mark.parametrize(
    "sigma, expected",
    [
        (15.0, (1, 10, 0.40)),
        (15.01, (2, 10, 0.40)),
        (30.0, (2, 10, 0.40)),
        (30.5, (3, 17, 0.35)),
        (45.0, (3, 17, 0.35)),
        (75.0, (4, 17, 0.35)),
        (100.0, (5, 17, 0.30)),
        (250.0, (5, 17, 0.30)),  # above the table: the last row
    ],
)
def test_gray_table_boundaries(sigma, expected):
    assert preset(sigma, 1) == expected


@pytest.mark.parametrize(
    "sigma, expected",
    [
        (25.0, (1, 10, 0.55)),
        (25.1, (2, 17, 0.40)),
        (55.0, (2, 17, 0.40)),
        (55.1, (3, 17, 0.35)),
        (140.0, (3, 17, 0.35)),
    ],
)
def test_color_table_boundaries(sigma, expected):
    assert preset(sigma, 3) == expected


def test_presets_scale_with_data_range():
    on_8bit = resolve(1, sigma=20.0, data_range=255.0)
    on_unit = resolve(1, sigma=20.0 / 255.0, data_range=1.0)
    on_16bit = resolve(1, sigma=20.0 * 257.0, data_range=65535.0)
    assert (on_8bit.f, on_8bit.r) == (on_unit.f, on_unit.r) == (on_16bit.f, on_16bit.r)
    assert on_8bit.h == pytest.approx(8.0)
    assert on_unit.h == pytest.approx(8.0 / 255.0)
    assert on_16bit.h == pytest.approx(8.0 * 257.0)


def test_noise_free_image_gets_a_small_positive_h():
    params = resolve(1, sigma=0.0, data_range=255.0)
    assert params.h == pytest.approx(0.40 * MIN_PRESET_SIGMA_8BIT)


def test_the_floor_is_one_step_of_an_integer_image():
    assert sigma_floor(np.zeros(4, np.uint8), 255.0) == pytest.approx(1.0)
    assert sigma_floor(np.zeros(4, np.uint16), 65535.0) == pytest.approx(1.0)  # not 257
    assert sigma_floor(np.zeros(4, np.uint16), 100.0) == pytest.approx(100.0 / 255.0)
    assert sigma_floor(np.zeros(4, np.float32), 1.0) == pytest.approx(1.0 / 255.0)
    assert resolve(1, sigma=0.0, data_range=65535.0, sigma_floor=1.0).h == pytest.approx(0.40)


@pytest.mark.parametrize("tune", [False, True])
def test_a_12_bit_image_in_uint16_is_denoised_at_its_own_noise_level(tune):
    """The dtype's range (65535) puts one 8-bit level at 257, far above σ = 20."""
    from skimage import data

    clean = data.brick()[:128, :128].astype(np.float64) / 255.0 * 4000.0
    noisy = clean + np.random.default_rng(0).normal(0.0, 20.0, clean.shape)
    noisy = np.rint(noisy).astype(np.uint16)

    def mse(image):
        return np.mean((image.astype(np.float64) - clean) ** 2)

    result, params = nlmeans.denoise(noisy, sigma=20.0, tune=tune, return_params=True)
    assert params.h < 2.5 * 20.0  # the presets' 0.4 σ, or SURE's choice near σ (not 0.4 × 257)
    assert mse(result) < 0.8 * mse(noisy)  # the old floor: 2.7 (presets), 2.2 (tuned) times it


def test_estimate_is_only_called_when_sigma_is_unset():
    def boom():
        raise AssertionError("estimate called")

    assert resolve(1, sigma=5.0, data_range=255.0, estimate=boom).sigma == 5.0
    assert resolve(1, data_range=255.0, estimate=lambda: 3.0).sigma_estimated


@pytest.mark.parametrize(
    "image, expected",
    [
        (np.zeros((4, 4), np.uint8), 255.0),
        (np.zeros((4, 4), np.uint16), 65535.0),
        (np.linspace(0, 1, 100).reshape(10, 10), 1.0),
        (np.linspace(-0.6, 1.7, 100).reshape(10, 10), 1.0),  # noise overshoot allowed
        (np.linspace(0, 255, 100).reshape(10, 10), 255.0),
        (np.linspace(0, 3, 100).reshape(10, 10).astype(np.float32), 255.0),
        # At most 0.5 % of the finite values beyond [-1, 2]: still the [0, 1] scale.
        (np.r_[np.zeros(996), [5.0] * 4, [np.nan, np.inf]], 1.0),
        (np.r_[np.zeros(994), [5.0] * 6], 255.0),
        (np.r_[np.zeros(994), [-3.0] * 6], 255.0),
    ],
)
def test_data_range_rule(image, expected):
    assert image_data_range(image) == expected
