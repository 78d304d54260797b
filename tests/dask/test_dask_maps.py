"""Dask chunks σ maps and masks along with the image: the same result as in memory."""

import numpy as np
import pytest

import nlmeans

da = pytest.importorskip("dask.array")
nd = pytest.importorskip("nlmeans.dask")


def ramp(rng, shape=(30, 41)):
    clean = np.tile(np.linspace(20, 230, shape[1]), (shape[0], 1))
    sigma_map = np.tile(np.linspace(4, 25, shape[0])[:, None], (1, shape[1]))
    return clean + rng.normal(0, 1, shape) * sigma_map, sigma_map


@pytest.mark.parametrize("dtype", [np.float64, np.uint8])
def test_map_and_mask_chunked_equal_in_memory(rng, dtype):
    noisy, sigma_map = ramp(rng)
    image = np.clip(noisy, 0, 255).astype(dtype)
    mask = rng.random(image.shape) > 0.3
    options = dict(h=15, f=1, r=3, sigma=sigma_map, mask=mask)
    expected = nlmeans.denoise(image, **options)
    lazy = nd.denoise(da.from_array(image, chunks=(11, 15)), **options)
    got = lazy.compute()
    assert got.dtype == image.dtype and lazy.chunks == ((11, 11, 8), (15, 15, 11))
    if dtype == np.uint8:
        assert np.abs(got.astype(int) - expected).max() <= 1
    else:
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6 * 255)
    np.testing.assert_array_equal(got[~mask], image[~mask])


def test_rician_chunked_equal_in_memory(rng):
    image = np.abs(rng.normal(50, 10, (6, 20, 22)))
    options = dict(h=12, sigma=5.0, f=1, r=2, noise="rician")
    expected = nlmeans.denoise(image, **options)
    got = nd.denoise(da.from_array(image, chunks=(3, 9, 10)), **options).compute()
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6 * image.max())


def test_dask_map_of_the_wrong_shape_is_named(rng):
    with pytest.raises(nlmeans.NLMeansError, match="sigma map has shape"):
        nd.denoise(da.zeros((10, 10), chunks=5), h=1, sigma=np.ones((3, 3)), f=1, r=1)
