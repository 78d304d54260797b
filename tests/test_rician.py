"""The Rician model: NLM of m² with weights on m, the 2Nσ² bias removed, σ from the background."""

import numpy as np
import pytest

import nlmeans
from nlmeans._rician import background_sigma
from nlmeans.backends import reference


def rician(clean, sigma, rng, coils=1):
    """Magnitude of N coils' complex Gaussian noise around ``clean`` (sum of squares)."""
    total = (clean + rng.normal(0, sigma, clean.shape)) ** 2 + rng.normal(
        0, sigma, clean.shape
    ) ** 2
    for _ in range(coils - 1):
        total += rng.normal(0, sigma, clean.shape) ** 2 + rng.normal(0, sigma, clean.shape) ** 2
    return np.sqrt(total)


def phantom(shape=(12, 40, 40)):
    """A dark background around a bright ellipsoid holding a darker one."""
    z, y, x = np.indices(shape, dtype=float)
    cz, cy, cx = (np.array(shape) - 1) / 2
    outer = ((z - cz) / (shape[0] / 2.5)) ** 2 + ((y - cy) / 14) ** 2 + ((x - cx) / 15) ** 2 < 1
    inner = ((z - cz) / (shape[0] / 4)) ** 2 + ((y - cy) / 6) ** 2 + ((x - cx) / 7) ** 2 < 1
    return 100.0 * outer - 85.0 * inner


@pytest.mark.parametrize("coils", [1, 3])
def test_estimate_is_the_formula(rng, coils):
    noisy = rician(phantom((4, 12, 12)), 5.0, rng, coils)
    f, r, h, sigma = (1, 1, 1), (1, 2, 2), 8.0, 5.0
    got = nlmeans.denoise(noisy, h=h, sigma=sigma, f=f, r=r, noise="rician", coils=coils,
                          backend="reference")  # fmt: skip
    padded = np.pad(noisy, [(fk + rk, fk + rk) for fk, rk in zip(f, r, strict=True)], "reflect")
    mean_square = reference.mapped_pixelwise(padded[None], padded[None] ** 2, f, r, sigma, [h])[
        0, 0
    ].astype(np.float64)
    expected = np.sqrt(np.maximum(mean_square - 2 * coils * sigma**2, 0))
    np.testing.assert_allclose(got, np.minimum(expected, noisy.max()), rtol=0, atol=1e-3)


def test_removes_the_bias_of_the_dark_tissue(rng):
    clean = phantom()
    noisy = rician(clean, 8.0, rng)
    dark = (clean > 0) & (clean < 50)  # 15: a bias of about 2 at σ = 8
    gaussian = nlmeans.denoise(noisy, h=10, sigma=8.0, f=1, r=2)
    corrected = nlmeans.denoise(noisy, h=10, sigma=8.0, f=1, r=2, noise="rician")
    bias_gaussian = abs(gaussian[dark].mean() - clean[dark].mean())
    bias_rician = abs(corrected[dark].mean() - clean[dark].mean())
    assert bias_rician < 0.5 * bias_gaussian


@pytest.mark.parametrize("coils", [1, 4])
def test_background_sigma(rng, coils):
    noisy = rician(phantom(), 6.0, rng, coils)
    assert background_sigma(noisy, coils) == pytest.approx(6.0, rel=0.1)


def test_sigma_estimated_from_the_background(rng):
    noisy = rician(phantom(), 6.0, rng)
    _, params = nlmeans.denoise(noisy, noise="rician", f=1, r=2, return_params=True)
    assert params.sigma_estimated and params.sigma == pytest.approx(6.0, rel=0.1)


def test_sigma_with_an_object_mask_is_read_outside_it(rng):
    # A brain-style mask (the object only): the noisy background lies outside it,
    # and σ is the acquisition's. Read from inside only, σ̂ was the tissue's level.
    clean = phantom()
    noisy = rician(clean, 6.0, rng)
    _, params = nlmeans.denoise(noisy, noise="rician", f=1, r=2, mask=clean > 0, return_params=True)
    assert params.sigma == pytest.approx(6.0, rel=0.1)


def test_sigma_with_a_zero_filled_outside_is_read_inside_the_mask(rng):
    # Outside a field of view the volume is exactly 0 (most of it): no noise to
    # read there, so the pixels inside the mask (background included) are read.
    clean = phantom()
    noisy = rician(clean, 6.0, rng)
    view = np.zeros(clean.shape, bool)
    view[:, 4:36, 6:34] = True
    noisy = np.where(view, noisy, 0.0)
    with pytest.raises(nlmeans.NLMeansError, match="give sigma"):
        nlmeans.denoise(noisy, noise="rician", f=1, r=2)
    _, params = nlmeans.denoise(noisy, noise="rician", f=1, r=2, mask=view, return_params=True)
    assert params.sigma == pytest.approx(6.0, rel=0.15)


def test_background_of_zeros_is_refused():
    image = np.zeros((20, 20))
    image[5:8, 5:8] = 10
    with pytest.raises(nlmeans.NLMeansError, match="give sigma"):
        nlmeans.denoise(image, noise="rician", f=1, r=2)


def test_sigma_map_removes_each_pixels_own_bias(rng):
    clean = phantom((4, 12, 12))
    sigma_map = np.linspace(3.0, 9.0, clean.size).reshape(clean.shape)
    noisy = rician(clean, sigma_map, rng)
    f, r, h = (1, 1, 1), (1, 2, 2), 8.0
    got = nlmeans.denoise(noisy, h=h, sigma=sigma_map, f=f, r=r, noise="rician",
                          backend="reference")  # fmt: skip
    widths = [(fk + rk, fk + rk) for fk, rk in zip(f, r, strict=True)]
    padded = np.pad(noisy, widths, "reflect")
    sigma0 = np.sqrt(np.mean(sigma_map**2))
    mean_square = reference.mapped_pixelwise(
        padded[None], padded[None] ** 2, f, r, sigma0, [h],
        sigma_map=np.pad(sigma_map, widths, "reflect"),
    )[0, 0].astype(np.float64)  # fmt: skip
    expected = np.sqrt(np.maximum(mean_square - 2 * sigma_map**2, 0))
    np.testing.assert_allclose(got, np.minimum(expected, noisy.max()), rtol=0, atol=1e-3)
