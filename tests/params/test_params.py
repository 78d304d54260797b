"""Parameter resolution: the IPOL presets, units and the data_range rule."""

import numpy as np
import pytest

from nlmeans.params import MIN_PRESET_SIGMA_8BIT, image_data_range, preset, resolve


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
    ],
)
def test_data_range_rule(image, expected):
    assert image_data_range(image) == expected
