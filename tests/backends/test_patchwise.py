"""Patchwise NLM (method="patch"): the CPU kernel against the NumPy oracle, and the dispatch."""

import numpy as np
import pytest
from _support import PATCH_CASES, noisy_camera, pad_stack

from nlmeans import NLMeansError, denoise, resolve_params
from nlmeans.backends import AUTO_ORDER, select
from nlmeans.backends.reference import patchwise, pixelwise


@pytest.mark.parametrize("shape, channel_axis, f, r, h, sigma", PATCH_CASES)
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
    f, r = (0, 0), (3, 3)
    padded = pad_stack(image, f, r, "patch")
    np.testing.assert_array_equal(padded, pad_stack(image, f, r, "pixel"))  # r + 2f = r + f
    np.testing.assert_allclose(
        patchwise(padded, f, r, 0.05, [0.2]), pixelwise(padded, f, r, 0.05, [0.2]), atol=1e-6
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


def test_backends_without_the_method_refuse_it_and_auto_skips_them(
    rng, monkeypatch, pixel_only_backend
):
    import nlmeans.backends

    image = rng.random((12, 12))
    monkeypatch.setattr(nlmeans.backends, "AUTO_ORDER", ("gpu", *AUTO_ORDER))
    with pytest.raises(NLMeansError, match="method='patch' is not available on backend='gpu'"):
        denoise(image, sigma=0.1, method="patch", backend="gpu")
    assert select("auto", "patch").name == "cpu"
    assert select("auto", "pixel") is pixel_only_backend
    np.testing.assert_allclose(  # and auto does run it for the pixelwise method
        denoise(image, h=0.2, sigma=0.1, f=1, r=2),
        denoise(image, h=0.2, sigma=0.1, f=1, r=2, backend="reference"),
        atol=1e-6,
    )
