"""σ maps, masks and guide-vs-values on the oracle, the CPU backend and the front door."""

import itertools

import numpy as np
import pytest
from _support import MAPPED_CASES, mapped_inputs

import nlmeans
from nlmeans.backends import reference
from nlmeans.backends.cpu._mapped import mapped_pixelwise
from nlmeans.backends.cpu._mapped_tiles import live_tiles
from nlmeans.errors import NLMeansError

TOLERANCE = 1e-4  # of the data range, which is 1
FLAGS = list(itertools.product([False, True], repeat=3))


@pytest.mark.parametrize("case", MAPPED_CASES)
@pytest.mark.parametrize("with_map, with_mask, with_values", FLAGS)
@pytest.mark.parametrize("tile", [None, (2, 3)])
def test_cpu_matches_oracle(rng, case, with_map, with_mask, with_values, tile):
    n_channels, shape, f, r = case
    guide, values, sigma_map, mask = mapped_inputs(
        rng, n_channels, shape, f, r, with_map=with_map, with_mask=with_mask,
        with_values=with_values,
    )  # fmt: skip
    hs, sigma = [0.15, 0.4], 0.1
    expected = reference.mapped_pixelwise(
        guide, values, f, r, sigma, hs, sigma_map=sigma_map, mask=mask
    )
    got = mapped_pixelwise(
        guide, values, f, r, sigma, hs, sigma_map=sigma_map, mask=mask, tile=tile
    )
    assert got.shape == expected.shape and got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=0, atol=TOLERANCE)


def test_oracle_constant_map_is_the_scalar_formula(rng):
    guide, _, _, _ = mapped_inputs(rng, 1, (9, 10), (1, 1), (2, 2), with_map=False,
                                   with_mask=False, with_values=False)  # fmt: skip
    constant = np.full(guide.shape[1:], 0.07)
    scalar = reference.pixelwise(guide, (1, 1), (2, 2), 0.07, [0.2])
    mapped = reference.mapped_pixelwise(
        guide, None, (1, 1), (2, 2), 0.07, [0.2], sigma_map=constant
    )
    np.testing.assert_allclose(mapped, scalar, rtol=0, atol=1e-6)


def test_oracle_weight_rule_is_symmetric():
    # A 1 × 2 image p, q with σ 0.1 and 0.4, f = 0, r = 1. Reflect padding makes the
    # window of p hold p 3 times and q 6 times, and that of q the reverse; the rule
    # gives both the one weight w(p, q) = w(q, p) with σ̄² = (σ_p² + σ_q²) / 2.
    guide = np.array([[[0.2, 0.9]]])
    padded = np.pad(guide, [(0, 0), (1, 1), (1, 1)], mode="reflect")
    sigma_map = np.pad(np.array([[0.1, 0.4]]), 1, mode="reflect")
    out = reference.mapped_pixelwise(padded, None, (0, 0), (1, 1), 0.3, [0.5], sigma_map=sigma_map)
    mean_var = (0.1**2 + 0.4**2) / 2
    w = np.exp(-max(0.7**2 - 2 * mean_var, 0) / (0.5**2 * mean_var / 0.3**2))
    expected_p = (3 * 0.2 + 6 * w * 0.9) / (3 + 6 * w)
    expected_q = (3 * 0.9 + 6 * w * 0.2) / (3 + 6 * w)
    np.testing.assert_allclose(out[0, 0, 0], [expected_p, expected_q], rtol=1e-6)


def test_live_tiles_keep_the_bounding_boxes_of_the_mask():
    inside = np.zeros((1, 1, 8, 8), bool)
    inside[0, 0, 5, 6] = inside[0, 0, 6, 5] = True
    origins = np.array([[0, 0, a, b] for a in (0, 4) for b in (0, 4)], np.int64)
    zero = np.zeros(4, np.int64)
    kept, extents, partial = live_tiles(inside, inside, origins, np.array([1, 1, 4, 4]), zero, zero)
    assert kept.tolist() == [[0, 0, 5, 5]] and extents.tolist() == [[1, 1, 2, 2]]
    assert partial.tolist() == [True]  # (5, 5) and (6, 6) are outside
    # With r = 0 and the box wholly inside, the tile is not partial.
    inside[0, 0, 5:7, 5:7] = True
    _, _, partial = live_tiles(inside, inside, origins, np.array([1, 1, 4, 4]), zero, zero)
    assert partial.tolist() == [False]


def noisy_gray(rng, shape=(40, 48), sigma=12.0):
    clean = np.tile(np.linspace(30, 220, shape[1]), (shape[0], 1))
    return np.clip(clean + rng.normal(0, sigma, shape), 0, 255).astype(np.uint8)


def test_constant_map_reproduces_the_scalar_result(rng):
    image = noisy_gray(rng)
    scalar = nlmeans.denoise(image, h=10, sigma=12, f=1, r=3)
    mapped = nlmeans.denoise(image, h=10, sigma=np.full(image.shape, 12.0), f=1, r=3)
    np.testing.assert_array_equal(mapped, scalar)


@pytest.mark.parametrize("dtype", [np.uint8, np.float64])
def test_mask_keeps_outside_bit_for_bit(rng, dtype):
    image = noisy_gray(rng).astype(dtype)
    if dtype == np.float64:
        image = image / 255.0 + rng.normal(0, 1e-9, image.shape)
    mask = np.zeros(image.shape, bool)
    mask[5:30, 10:40] = True
    out = nlmeans.denoise(image, h=10 if dtype == np.uint8 else 0.04, f=1, r=3, mask=mask)
    np.testing.assert_array_equal(out[~mask], image[~mask])
    assert not np.array_equal(out[mask], image[mask])


def test_a_mask_or_a_map_takes_the_presets_where_tuning_is_not_asked(rng):
    image = noisy_gray(rng)
    mask = np.zeros(image.shape, bool)
    mask[5:30, 10:40] = True
    sigma_map = np.full(image.shape, 12.0)
    for options in ({"mask": mask}, {"sigma": sigma_map}, {"mask": mask, "sigma": sigma_map}):
        out, params = nlmeans.denoise(image, return_params=True, **options)
        presets = nlmeans.denoise(image, tune=False, **options)
        np.testing.assert_array_equal(out, presets)
        assert params.method == "pixel" and not params.components
        with pytest.raises(NLMeansError, match="tune=True is not available"):
            nlmeans.denoise(image, tune=True, **options)


def test_candidates_outside_the_mask_are_never_averaged(rng):
    image = np.full((30, 30), 250, np.uint8)
    image[:, :15] = np.clip(40 + rng.normal(0, 5, (30, 15)), 0, 255).astype(np.uint8)
    mask = np.zeros(image.shape, bool)
    mask[:, :15] = True
    # h so large that every candidate weighs 1: only the mask keeps the 250s out.
    out = nlmeans.denoise(image, h=1e4, sigma=5, f=1, r=4, mask=mask)
    assert out[mask].max() <= image[mask].max()
    unmasked = nlmeans.denoise(image, h=1e4, sigma=5, f=1, r=4)
    assert unmasked[:, 14].mean() > out[:, 14].mean() + 50


def test_empty_mask_returns_the_input(rng):
    image = noisy_gray(rng)
    out = nlmeans.denoise(image, h=10, sigma=12, f=1, r=3, mask=np.zeros(image.shape, bool))
    np.testing.assert_array_equal(out, image)


def test_front_door_matches_the_oracle_backend(rng):
    image = noisy_gray(rng, (20, 24)).astype(np.float32)
    sigma_map = np.linspace(4, 20, image.size).reshape(image.shape)
    mask = rng.random(image.shape) > 0.3
    kwargs = dict(h=15, sigma=sigma_map, f=1, r=2, mask=mask)
    cpu = nlmeans.denoise(image, backend="cpu", **kwargs)
    oracle = nlmeans.denoise(image, backend="reference", **kwargs)
    np.testing.assert_allclose(cpu, oracle, rtol=0, atol=TOLERANCE * 255)


def test_sigma_map_returns_its_root_mean_square(rng):
    image = noisy_gray(rng)
    sigma_map = np.where(np.arange(image.shape[1]) < 24, 6.0, 18.0) * np.ones(image.shape)
    _, params = nlmeans.denoise(image, sigma=sigma_map, f=1, r=3, return_params=True)
    assert params.sigma == pytest.approx(np.sqrt(np.mean(sigma_map**2)))


def test_ramp_map_beats_a_single_sigma(rng):
    clean = np.tile(np.linspace(60, 190, 64), (64, 1)) + 30 * (np.indices((64, 64)).sum(0) % 16 < 8)
    sigma_map = np.tile(np.linspace(5, 40, 64)[:, None], (1, 64))
    noisy = clean + rng.normal(0, 1, clean.shape) * sigma_map

    def mse(a):
        return float(np.mean((a - clean) ** 2))

    mapped = nlmeans.denoise(noisy, sigma=sigma_map, f=1, r=4)
    single = min(
        mse(nlmeans.denoise(noisy, sigma=s, f=1, r=4, tune=False)) for s in (5.0, 15.0, 25.0, 40.0)
    )
    assert mse(mapped) < single


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(sigma=np.ones((3, 3))), "sigma map has shape"),
        (dict(sigma=np.zeros((40, 48))), "finite and > 0"),
        (dict(mask=np.full((40, 48), 2)), "only 0 and 1"),
        (dict(mask=np.ones((4, 4), bool)), "mask has shape"),
        (dict(mask=np.ones((40, 48), bool), method="patch"), "method='patch'"),
        (dict(mask=np.ones((40, 48), bool), tune=True), "tune=True"),
        (dict(mask=np.ones((40, 48), bool), patch_kernel="gaussian"), "patch_kernel"),
        (dict(noise="laplace"), "noise='laplace' is not one of gaussian, poisson-gaussian, rician"),
        (dict(coils=2), "coils=2 needs noise='rician'"),
        (dict(noise="rician", coils=0), "coils=0 is out of range"),
    ],
)
def test_bad_input_is_named(rng, kwargs, message):
    with pytest.raises(NLMeansError, match=message):
        nlmeans.denoise(noisy_gray(rng), f=1, r=2, **kwargs)


def test_rician_refuses_negative_values(rng):
    with pytest.raises(NLMeansError, match="magnitude"):
        nlmeans.denoise(rng.normal(0, 1, (20, 20)), sigma=1.0, noise="rician", f=1, r=2)


def test_color_image_with_map_and_mask_matches_the_oracle(rng):
    image = (255 * rng.random((14, 16, 3))).astype(np.uint8)
    sigma_map = 5 + 20 * rng.random((14, 16))
    mask = rng.random((14, 16)) > 0.3
    kwargs = dict(h=25, sigma=sigma_map, f=1, r=2, mask=mask, channel_axis=-1)
    cpu = nlmeans.denoise(image, backend="cpu", **kwargs)
    oracle = nlmeans.denoise(image, backend="reference", **kwargs)
    assert np.abs(cpu.astype(int) - oracle).max() <= 1
    np.testing.assert_array_equal(cpu[~mask], image[~mask])


def test_slabs_cut_the_map_and_the_mask_with_the_image(rng, monkeypatch):
    image = noisy_gray(rng, (60, 20)).astype(np.float32)
    sigma_map = np.tile(np.linspace(4, 25, 60)[:, None], (1, 20))
    mask = rng.random(image.shape) > 0.3
    kwargs = dict(h=15, sigma=sigma_map, f=1, r=2, mask=mask, noise="rician")
    whole = nlmeans.denoise(image, **kwargs)
    monkeypatch.setattr(nlmeans._mapped, "SLAB_WORK", 1.0)  # slabs of 4 × 3 rows
    rows = []
    sliced = nlmeans.denoise(image, progress=lambda done, total: rows.append(done), **kwargs)
    assert len(rows) > 3
    np.testing.assert_allclose(sliced, whole, rtol=0, atol=1e-4 * 255)


@pytest.mark.parametrize("with_map", [False, True])
def test_cpu_tiles_wholly_inside_the_mask_match_the_oracle(rng, with_map):
    # Small tiles, most of them (with their candidates) inside: the tiles that skip
    # the mask in the denominator and those that need it, side by side.
    guide, values, sigma_map, _ = mapped_inputs(
        rng, 1, (16, 18), (1, 1), (1, 2), with_map=with_map, with_mask=False, with_values=True
    )
    mask = np.ones(guide.shape[1:], bool)
    mask[2:6, 3:7] = False
    args = (guide, values, (1, 1), (1, 2), 0.1, [0.3])
    expected = reference.mapped_pixelwise(*args, sigma_map=sigma_map, mask=mask)
    got = mapped_pixelwise(*args, sigma_map=sigma_map, mask=mask, tile=(3, 4))
    np.testing.assert_allclose(got, expected, rtol=0, atol=TOLERANCE)
