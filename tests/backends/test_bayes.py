"""NL-Bayes (method="bayes"): the oracle's formulas, the CPU backend against it, the front doors."""

import imageio.v3 as iio
import numpy as np
import pytest
from _support import pad_stack
from typer.testing import CliRunner

import nlmeans
from nlmeans.backends import reference_bayes, select
from nlmeans.backends._bayes_rules import FLOOR, RIDGE, boost_offsets
from nlmeans.backends.cpu._bayes import bayes as cpu_bayes
from nlmeans.cli import app
from nlmeans.errors import NLMeansError


def padded(image, f, r):
    """(C, *S) reflect-padded as the method needs."""
    return pad_stack(image, f, r, "bayes")


def noisy_ramp(rng, channels, shape, sigma=20.0):
    """Integer-valued ramp + noise (patch distances exact in float64)."""
    ramp = np.linspace(40, 200, shape[-1])
    return np.round(ramp + rng.normal(0, sigma, (channels, *shape)))


def test_step1_is_the_wiener_filter_of_the_group(rng):
    z = rng.normal(100, 30, (40, 9)) + np.linspace(0, 50, 9)
    h = 20.0
    got = reference_bayes._step1_channel(z.copy(), sigma=20.0, h=h)
    m = z.mean(axis=0)
    cov = np.cov(z, rowvar=False)
    cov += (RIDGE * h * h + FLOOR * np.trace(cov) / 9) * np.eye(9)
    # P̂ = m + (C − h² I) C⁻¹ (z − m), written the other way round
    gain = (cov - h * h * np.eye(9)) @ np.linalg.inv(cov)
    np.testing.assert_allclose(got, m + (z - m) @ gain.T, rtol=0, atol=1e-9)


def test_step2_is_the_mmse_estimate_from_the_basic_group(rng):
    basic = rng.normal(100, 30, (30, 2, 4))
    noisy = basic + rng.normal(0, 10, basic.shape)
    h = 10.0
    got = reference_bayes._step2_group(noisy, basic, sigma=10.0, h=h)
    b, z = basic.reshape(30, -1), noisy.reshape(30, -1)
    m = b.mean(axis=0)
    cb = np.cov(b, rowvar=False)
    guard = FLOOR * np.trace(cb) / 8  # the numerical floor on the inverted matrix
    a = cb + (h * h + guard) * np.eye(8)
    want = m + (z - m) @ ((cb + guard * np.eye(8)) @ np.linalg.inv(a)).T
    np.testing.assert_allclose(got.reshape(30, -1), want, rtol=0, atol=1e-9)


def test_flat_groups_become_their_mean(rng):
    z = 50 + rng.normal(0, 1.0, (30, 9))  # variance 1 ≤ γ σ² with σ = 1.1
    assert np.var(z) <= 1.05 * 1.1**2
    got = reference_bayes._step1_channel(z, sigma=1.1, h=1.1, gamma=1.05)
    np.testing.assert_allclose(got, z.mean())
    noisy = z.reshape(30, 1, 9)
    basic = noisy + 3.0
    got = reference_bayes._step2_group(noisy, basic, sigma=1.1, h=1.1, gamma=1.05)
    np.testing.assert_allclose(got, basic.mean())


def test_oracle_denoises_and_keeps_a_constant(rng):
    clean = np.add.outer(np.linspace(50, 150, 16), np.linspace(0, 60, 16))[None]
    noisy = clean + rng.normal(0, 15, clean.shape)
    f, r = (1, 1), (3, 3)
    out = reference_bayes.bayes(padded(noisy, f, r), f, r, 15.0, [15.0])[0]
    assert np.mean((out - clean) ** 2) < 0.3 * np.mean((noisy - clean) ** 2)
    flat = np.full((1, 10, 12), 77.0)
    np.testing.assert_allclose(reference_bayes.bayes(padded(flat, f, r), f, r, 5.0, [5.0])[0], flat)


CASES = [
    # channels, shape, f, r
    (1, (10, 11), (1, 1), (2, 2)),
    (3, (9, 10), (1, 1), (2, 2)),
    (1, (9, 10), (0, 1), (2, 1)),  # per-axis radii
    (1, (5, 6, 7), (1, 1, 1), (1, 1, 1)),  # a volume: 3-D patch groups
    (2, (6, 5, 6), (1, 0, 1), (1, 1, 1)),
]


@pytest.mark.parametrize(("channels", "shape", "f", "r"), CASES)
def test_cpu_matches_the_oracle(rng, channels, shape, f, r):
    image = noisy_ramp(rng, channels, shape)
    stack = padded(image, f, r)
    want = reference_bayes.bayes(stack, f, r, 20.0, [20.0, 12.0])
    got = cpu_bayes(stack, f, r, 20.0, [20.0, 12.0])
    assert got.shape == want.shape == (2, channels, *shape) and got.dtype == np.float32
    assert np.abs(got - want).max() <= 1e-4 * np.ptp(image)


def test_volumes_paste_boost_skips_the_box_around_a_member_in_both_backends(monkeypatch, rng):
    # In 3-D the boost skips a member's 26 neighbours and ±2 along each axis, in 2-D its 4
    # axis neighbours. Both backends
    # apply the volume rule and agree; forcing the axis rule on both changes their result,
    # so neither ignores the rule.
    import nlmeans.backends.cpu._bayes as kernel

    assert len(boost_offsets(3)) == 32 and sorted(boost_offsets(2)) == [
        (-1, 0), (0, -1), (0, 1), (1, 0),
    ]  # fmt: skip
    image = noisy_ramp(rng, 1, (6, 7, 8))
    f, r = (1, 1, 1), (1, 1, 1)
    stack = padded(image, f, r)
    runs = []
    for rule in (boost_offsets, lambda ndim: boost_offsets(2) if ndim == 2 else AXES_3D):
        monkeypatch.setattr(reference_bayes, "boost_offsets", rule)
        monkeypatch.setattr(kernel, "boost_offsets", rule)
        want = reference_bayes.bayes(stack, f, r, 20.0, [20.0])
        got = kernel.bayes(stack, f, r, 20.0, [20.0])
        assert np.abs(got - want).max() <= 1e-4 * np.ptp(image)
        runs.append(want)
    assert np.abs(runs[0] - runs[1]).max() > 1e-2 * np.ptp(image)


AXES_3D = ((-1, 0, 0), (1, 0, 0), (0, -1, 0), (0, 1, 0), (0, 0, -1), (0, 0, 1))


@pytest.mark.parametrize("channels", [1, 3])
def test_tiny_strengths_on_groups_smaller_than_a_patch_stay_finite(rng, channels):
    # 3×3 windows give groups of 9 members for 25-value patches: a singular covariance,
    # which the ridge alone (∝ h²) no longer regularises at h = 1e-6 (the oracle raised
    # LinAlgError, the kernel gave nan). As h → 0 the estimate tends to the noisy image.
    image = noisy_ramp(rng, channels, (10, 11))
    f, r = (2, 2), (1, 1)
    stack = padded(image, f, r)
    want = reference_bayes.bayes(stack, f, r, 20.0, [1e-6, 1e-3])
    got = cpu_bayes(stack, f, r, 20.0, [1e-6, 1e-3])
    assert np.isfinite(want).all() and np.isfinite(got).all()
    assert np.abs(got - want).max() <= 1e-4 * np.ptp(image)
    assert np.abs(want - image).max() <= 1e-3 * np.ptp(image)


def test_api_gray_and_colour_on_cpu_and_reference(rng):
    gray = np.clip(noisy_ramp(rng, 1, (24, 26))[0], 0, 255).astype(np.uint8)
    out, params = nlmeans.denoise(gray, sigma=20, method="bayes", return_params=True)
    assert out.dtype == np.uint8 and out.shape == gray.shape
    assert params.method == "bayes" and (params.f, params.r, params.h) == (3, 12, 20.0)
    small = dict(sigma=20, method="bayes", f=1, r=2)
    a = nlmeans.denoise(gray[:12, :12].astype(np.float32), backend="cpu", **small)
    b = nlmeans.denoise(gray[:12, :12].astype(np.float32), backend="reference", **small)
    assert np.abs(a - b).max() <= 1e-4 * 255
    rgb = np.clip(np.moveaxis(noisy_ramp(rng, 3, (20, 22)), 0, -1), 0, 255).astype(np.uint8)
    out, params = nlmeans.denoise(
        rgb, sigma=20, method="bayes", channel_axis=-1, return_params=True
    )
    assert out.shape == rgb.shape and out.std() < rgb.std()
    assert (params.f, params.r) == (2, 12)  # colour keeps 5×5 patches where gray takes 7×7


def test_the_gpu_backend_says_it_lacks_the_method():
    with pytest.raises(NLMeansError, match="method='bayes' is not available on backend='cuda'"):
        select("cuda", "bayes")


def test_slabs_cut_on_tiles_give_the_whole_image_result(monkeypatch, rng):
    import nlmeans._blocks as core

    image = noisy_ramp(rng, 1, (250, 20))[0].astype(np.float32)
    options = dict(sigma=20.0, method="bayes", f=1, r=2)
    whole = nlmeans.denoise(image, **options)
    monkeypatch.setattr(core, "SLAB_WORK", 1.0)  # every slab as thin as allowed
    seen = []
    sliced = nlmeans.denoise(image, progress=lambda done, total: seen.append(done), **options)
    assert len(seen) > 1 and all(done % 8 == 0 for done in seen[:-1])
    np.testing.assert_allclose(sliced, whole, rtol=0, atol=1e-3)


def test_dask_chunks_on_tile_multiples_equal_the_in_memory_result(rng):
    da = pytest.importorskip("dask.array")
    nd = pytest.importorskip("nlmeans.dask")
    image = np.clip(noisy_ramp(rng, 1, (64, 40))[0], 0, 255).astype(np.uint8)
    options = dict(sigma=20.0, method="bayes", f=1, r=2)
    expected = nlmeans.denoise(image, **options)
    lazy = nd.denoise(da.from_array(image, chunks=(32, 40)), **options)
    difference = np.abs(lazy.compute().astype(int) - expected.astype(int))
    assert difference.max() <= 1


def test_cli_method_bayes(tmp_path, rng):
    source = tmp_path / "photo.png"
    image = np.clip(noisy_ramp(rng, 1, (24, 30))[0], 0, 255).astype(np.uint8)
    iio.imwrite(source, image)
    target = tmp_path / "o.png"
    arguments = ["denoise", str(source), "--method", "bayes", "--sigma", "20", "-o", str(target)]
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code == 0, result.output
    out = iio.imread(target)
    assert out.shape == image.shape and out.std() < image.std()


def test_h_chroma_is_refused_with_bayes():
    # NL-Bayes filters colour in its own planes; the front door's second strength for the
    # chrominance gave non-finite values on a 1-pixel-wide image (found by the property tests).
    image = np.ones((3, 1, 4), np.float32)
    image[0, 0, 0] = 9514.0
    with pytest.raises(NLMeansError, match="h_chroma is not available with method='bayes'"):
        nlmeans.denoise(image, channel_axis=0, method="bayes", h_chroma=0.001, sigma=1.0)
