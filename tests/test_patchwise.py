"""Patchwise NLM (method="patch"): the CPU kernel against the NumPy oracle, and the dispatch."""

import numpy as np
import pytest

from nlmeans import NLMeansError, denoise, resolve_params
from nlmeans.params import Params
from nlmeans.reference import denoise_padded, denoise_padded_patchwise

CASES = [
    # (shape, channel_axis, f, r, h, sigma), values in [0, 1]
    ((17, 23), None, 1, 2, 0.15, 0.0),
    ((17, 23), None, 2, 3, 0.3, 0.05),
    ((13, 15), None, 0, 3, 0.1, 0.02),
    ((3, 4), None, 2, 4, 0.2, 0.0),  # smaller than the patch and the window
    ((11, 9, 3), -1, 1, 3, 0.2, 0.05),
    ((3, 11, 9), 0, 2, 2, 0.25, 0.0),
    ((41, 37), None, 3, 2, 0.2, 0.05),  # more than one band of rows
]


@pytest.mark.parametrize("shape, channel_axis, f, r, h, sigma", CASES)
def test_cpu_patchwise_matches_reference(rng, shape, channel_axis, f, r, h, sigma):
    image = rng.random(shape).astype(np.float32)
    kwargs = dict(h=h, sigma=sigma, f=f, r=r, channel_axis=channel_axis, method="patch")
    expected = denoise(image, backend="reference", **kwargs)
    got = denoise(image, backend="cpu", **kwargs)
    assert got.shape == image.shape
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-4)  # data range is 1


def test_cpu_patchwise_matches_reference_in_8bit_units(rng):
    image = (rng.random((19, 21, 3)) * 255).astype(np.float64)
    kwargs = dict(h=12.0, sigma=10.0, f=2, r=3, channel_axis=-1, method="patch")
    expected = denoise(image, backend="reference", **kwargs)
    got = denoise(image, backend="cpu", **kwargs)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-4 * 255)


def test_patchwise_with_point_patches_is_pixelwise(rng):
    # f = 0: every pixel is its own patch, so both methods compute the same formula.
    image = rng.random((1, 12, 14))
    params = Params(f=0, r=3, h=0.2, sigma=0.05)
    padded = np.pad(image, ((0, 0), (3, 3), (3, 3)), mode="reflect")
    np.testing.assert_allclose(
        denoise_padded_patchwise(padded, params), denoise_padded(padded, params), atol=1e-6
    )


def test_patchwise_differs_from_pixelwise(rng):
    image = rng.random((16, 18)).astype(np.float32)
    kwargs = dict(h=0.3, sigma=0.0, f=2, r=3, backend="cpu")
    assert np.abs(denoise(image, method="patch", **kwargs) - denoise(image, **kwargs)).max() > 1e-3


@pytest.mark.parametrize("backend", ["cpu", "reference"])
def test_tiny_h_keeps_pixels_finite(rng, backend):
    # Every non-centre weight underflows: each patch keeps itself, so the image comes back.
    image = rng.random((15, 16)).astype(np.float32)
    out = denoise(image, h=1e-6, sigma=0.0, f=1, r=2, backend=backend, method="patch")
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out, image, atol=1e-6)


def test_constant_image_is_preserved():
    image = np.full((20, 21, 3), 0.25, dtype=np.float32)
    out = denoise(image, h=0.1, sigma=0.0, f=2, r=3, channel_axis=-1, method="patch")
    np.testing.assert_allclose(out, image, atol=1e-6)


def test_patchwise_denoises_better_than_noisy():
    from tests.conftest import noisy_camera

    clean, noisy = noisy_camera(sigma=20.0)
    clean, noisy = clean[200:296, 200:296], noisy[200:296, 200:296]
    out = denoise(noisy, sigma=20.0, method="patch")
    assert np.mean((out - clean) ** 2) < 0.5 * np.mean((noisy - clean) ** 2)


def test_method_is_resolved_and_validated(rng):
    image = rng.random((10, 10))
    assert resolve_params(image, sigma=0.1, method="patch").method == "patch"
    assert resolve_params(image, sigma=0.1).method == "pixel"
    _, params = denoise(image, sigma=0.1, method="patch", return_params=True)
    assert params.method == "patch"
    with pytest.raises(NLMeansError, match="method='blockwise'"):
        denoise(image, method="blockwise")


def test_backends_without_the_method_refuse_it_and_auto_skips_them(rng, monkeypatch):
    import importlib

    front = importlib.import_module("nlmeans.denoise")  # the module, not the function

    image = rng.random((12, 12))
    monkeypatch.setitem(front.BACKENDS, "gpu", "nlmeans.reference")  # pixelwise only
    monkeypatch.setitem(front.KERNELS, ("gpu", "pixel"), "nlmeans.reference:denoise_padded")
    monkeypatch.setattr(front, "AUTO_ORDER", ("gpu", "cpu"))
    with pytest.raises(NLMeansError, match="method='patch' is not available on backend='gpu'"):
        denoise(image, sigma=0.1, method="patch", backend="gpu")
    assert front.backend_name("auto", "patch") == "cpu"
    assert front.backend_name("auto", "pixel") == "gpu"
