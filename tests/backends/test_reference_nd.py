"""The N-D oracle (nlmeans.backends.reference): a pixel-by-pixel transcription, hand checks."""

import itertools
import math

import numpy as np
import pytest
from _support import pad_stack

from nlmeans.backends import reference

METHODS = {"pixel": (reference.pixelwise, 1), "patch": (reference.patchwise, 2)}


def run(image: np.ndarray, f, r, sigma, hs, method: str) -> np.ndarray:
    return METHODS[method][0](pad_stack(image, f, r, method, dtype=None), f, r, sigma, hs)


def literal_estimate(padded, f, r, sigma, h, method):
    """The estimate of one h pixel by pixel, with plain loops over p, q and j.

    An independent transcription of the formulas, slow enough for tiny images only.
    """
    u = np.asarray(padded, dtype=np.float64)
    extra = METHODS[method][1]
    pad = [rk + extra * fk for fk, rk in zip(f, r, strict=True)]
    shape = [n - 2 * p for n, p in zip(u.shape[1:], pad, strict=True)]
    patch = list(itertools.product(*(range(-k, k + 1) for k in f)))
    window = list(itertools.product(*(range(-k, k + 1) for k in r)))

    def at(point):
        return u[(slice(None), *(int(a) for a in point))]

    def weight(p, q):
        # d²(p, q) = 1/(C N) Σ_c Σ_j (u_c(p+j) − u_c(q+j))²; w = exp(−max(d² − 2σ², 0)/h²)
        total = sum(float(((at(np.add(p, j)) - at(np.add(q, j))) ** 2).sum()) for j in patch)
        d2 = total / (u.shape[0] * len(patch))
        return math.exp(-max(d2 - 2 * sigma * sigma, 0.0) / (h * h))

    out = np.zeros((u.shape[0], *shape))
    for x in itertools.product(*(range(n) for n in shape)):
        px = np.add(x, pad)  # index of pixel x in the padded array
        if method == "pixel":
            weights = [(weight(px, np.add(px, t)), np.add(px, t)) for t in window]
            total = sum(w for w, _ in weights)
            out[(slice(None), *x)] = sum(w * at(q) for w, q in weights) / total
            continue
        # Patchwise: the N patches B(x − j) that hold x, each its weighted mean at offset j.
        for j in patch:
            centre = np.subtract(px, j)
            weights = [(weight(centre, np.add(centre, t)), t) for t in window]
            total = sum(w for w, _ in weights)
            share = sum(w * at(np.add(px, t)) for w, t in weights) / total
            out[(slice(None), *x)] += share / len(patch)
    return out


@pytest.mark.parametrize("method", ["pixel", "patch"])
@pytest.mark.parametrize(
    "shape, f, r",
    [
        ((2, 5, 6), (1, 1), (1, 2)),
        ((1, 4, 5), (0, 2), (2, 1)),
        ((1, 3, 3, 4), (1, 0, 1), (1, 1, 0)),
    ],
)
def test_oracle_equals_a_pixel_by_pixel_transcription(rng, method, shape, f, r):
    image = rng.random(shape)
    sigma, hs = 0.05, [0.1, 0.3]
    padded = pad_stack(image, f, r, method, dtype=None)
    out = run(image, f, r, sigma, hs, method)
    assert out.shape == (2, *shape) and out.dtype == np.float32
    for k, h in enumerate(hs):
        expected = literal_estimate(padded, f, r, sigma, h, method)
        np.testing.assert_allclose(out[k], expected, rtol=0, atol=1e-6)


@pytest.mark.parametrize("method", ["pixel", "patch"])
def test_constant_image_is_unchanged(method):
    image = np.full((2, 4, 5, 6), 0.25)
    out = run(image, (1, 0, 1), (1, 2, 1), 0.0, [0.1], method)
    np.testing.assert_allclose(out[0], image, rtol=0, atol=1e-7)


@pytest.mark.parametrize("method", ["pixel", "patch"])
def test_search_radius_zero_returns_the_input(rng, method):
    image = rng.random((1, 5, 6, 7))
    out = run(image, (1, 1, 2), (0, 0, 0), 0.0, [0.05], method)
    np.testing.assert_allclose(out[0], image, rtol=0, atol=1e-6)


@pytest.mark.parametrize("method", ["pixel", "patch"])
def test_large_sigma_gives_the_box_mean_of_the_search_window(rng, method):
    # d² ≤ 1 < 2σ²: every weight is 1. Pixelwise: the mean of u over B(p, r).
    # Patchwise: 1/N Σ_j mean_t u(x − j + t + j), the same mean.
    image = rng.random((2, 6, 7))
    f, r = (1, 0), (1, 2)
    out = run(image, f, r, 10.0, [0.01], method)
    window = np.pad(image, [(0, 0), (1, 1), (2, 2)], mode="reflect")
    expected = np.zeros_like(image)
    for ty in range(3):
        for tx in range(5):
            expected += window[:, ty : ty + 6, tx : tx + 7]
    np.testing.assert_allclose(out[0], expected / 15, rtol=0, atol=1e-6)


@pytest.mark.parametrize("method", ["pixel", "patch"])
def test_radius_zero_on_an_axis_filters_each_slice_alone(rng, method):
    volume = rng.random((2, 4, 7, 8))
    out = run(volume, (0, 1, 1), (0, 2, 1), 0.02, [0.2], method)
    for z in range(4):
        expected = run(volume[:, z], (1, 1), (2, 1), 0.02, [0.2], method)
        np.testing.assert_allclose(out[:, :, z], expected, rtol=0, atol=1e-6)


@pytest.mark.parametrize("method", ["pixel", "patch"])
def test_radii_follow_their_axes(rng, method):
    # Transposing the spatial axes together with f and r transposes the estimate.
    volume = rng.random((1, 5, 6, 7))
    f, r = (0, 1, 2), (2, 1, 0)
    out = run(volume, f, r, 0.0, [0.3], method)
    order = (2, 0, 1)
    moved = np.transpose(volume, (0,) + tuple(1 + a for a in order))
    out_moved = run(moved, [f[a] for a in order], [r[a] for a in order], 0.0, [0.3], method)
    expected = np.transpose(out[0], (0,) + tuple(1 + a for a in order))
    np.testing.assert_allclose(out_moved[0], expected, rtol=0, atol=1e-6)


def test_one_dimensional_weights_follow_the_formula():
    # Signal [a, b], f=0, r=1, reflect padding [b, a, b, a]: pixel a sees b, a, b.
    a, b, h, sigma = 0.2, 0.5, 0.4, 0.1
    weight = np.exp(-max((a - b) ** 2 - 2 * sigma**2, 0.0) / h**2)
    out = run(np.array([[a, b]]), (0,), (1,), sigma, [h], "pixel")
    assert out[0, 0, 0] == pytest.approx((a + 2 * weight * b) / (1 + 2 * weight), abs=1e-6)


def test_patch_distance_is_a_mean_over_channels_and_the_patch():
    # 1-D, two channels, f=1, channel 0 is [0, 0, 0, δ, δ, δ], channel 1 is 0: patches
    # that differ at one of their 3 pixels in one of the 2 channels have d² = δ² / 6.
    delta, h = 0.3, 0.25
    image = np.zeros((2, 6))
    image[0, 3:] = delta
    padded = pad_stack(image, (1,), (1,), "pixel", dtype=None)
    out = reference.pixelwise(padded, (1,), (1,), 0.0, [h])
    weight = np.exp(-(delta**2 / 6) / h**2)
    # Pixel 2 (patch [0, 0, δ]): candidate 1 (patch [0, 0, 0]) and candidate 3
    # (patch [0, δ, δ]) each differ from it at one pixel of one channel.
    assert out[0, 0, 2] == pytest.approx(weight * delta / (1 + 2 * weight), abs=1e-6)
    assert out[0, 1, 2] == pytest.approx(0.0, abs=1e-7)


def test_wrong_radii_are_refused():
    with pytest.raises(ValueError):
        reference.pixelwise(np.zeros((1, 5, 5)), (1,), (1, 1), 0.0, [1.0])
