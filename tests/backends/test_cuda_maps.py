"""The CUDA mapped pixelwise kernel (guide vs values, σ map, mask) against the oracle.

Run with NUMBA_ENABLE_CUDASIM=1 (Numba's CUDA simulator) or on a machine with an
NVIDIA GPU; elsewhere the tests are skipped with the reason. Tiny images: the
simulator runs each GPU thread as a Python thread.
"""

import numpy as np
import pytest
from _support import MAPPED_CASES, mapped_inputs

import nlmeans
from nlmeans.backends import reference
from nlmeans.backends.cuda import _launcher as launcher

pytestmark = pytest.mark.cuda

REASON = launcher.availability()
device = pytest.mark.skipif(
    REASON is not None,
    reason=f"no CUDA device and no simulator ({REASON}); run with NUMBA_ENABLE_CUDASIM=1",
)
TOLERANCE = 1e-4  # of the data range, which is 1


@device
@pytest.mark.parametrize("case", MAPPED_CASES)
@pytest.mark.parametrize(
    "with_map, with_mask, with_values",
    [(False, False, False), (True, True, True), (True, False, True), (False, True, False)],
)
def test_cuda_mapped_matches_oracle(rng, case, with_map, with_mask, with_values):
    from nlmeans.backends.cuda._mapped import mapped_pixelwise

    n_channels, shape, f, r = case
    guide, values, sigma_map, mask = mapped_inputs(
        rng, n_channels, shape, f, r, with_map=with_map, with_mask=with_mask,
        with_values=with_values,
    )  # fmt: skip
    hs, sigma = [0.15, 0.4], 0.1
    expected = reference.mapped_pixelwise(
        guide, values, f, r, sigma, hs, sigma_map=sigma_map, mask=mask
    )
    got = mapped_pixelwise(guide, values, f, r, sigma, hs, sigma_map=sigma_map, mask=mask)
    assert got.shape == expected.shape and got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=0, atol=TOLERANCE)


@device
def test_cuda_front_door_mask_and_rician(rng):
    image = (40 + 100 * rng.random((10, 12))).astype(np.float32)
    mask = rng.random(image.shape) > 0.5
    kwargs = dict(h=20, sigma=6.0, f=1, r=1, mask=mask, noise="rician")
    gpu = nlmeans.denoise(image, backend="cuda", **kwargs)
    oracle = nlmeans.denoise(image, backend="reference", **kwargs)
    np.testing.assert_allclose(gpu, oracle, rtol=0, atol=TOLERANCE * 140)
    np.testing.assert_array_equal(gpu[~mask], image[~mask])
