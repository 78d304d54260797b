"""The Poisson-Gaussian model: transform, exact unbiased inverse, fit, and the denoise paths."""

import numpy as np
import pytest
from skimage import data

import nlmeans
from nlmeans import NLMeansError
from nlmeans.evaluate import psnr
from nlmeans.noise import _anscombe as anscombe
from nlmeans.noise._models import PoissonGaussian
from nlmeans.noise._poisson_fit import estimate_poisson_gaussian


def counts_image(peak, gain=1.0, read_noise=0.0, offset=0.0, seed=0, size=128):
    """A camera crop scaled to ``peak`` counts, and its Poisson-Gaussian observation."""
    clean = data.camera().astype(np.float64)[100 : 100 + size, 150 : 150 + size] / 255.0 * peak
    rng = np.random.default_rng(seed)
    noisy = gain * rng.poisson(clean) + rng.normal(offset, read_noise, clean.shape)
    return clean * gain + offset, noisy


def test_the_transform_is_the_generalized_anscombe_formula_continued_along_its_tangent():
    a, s_r, mu = 2.0, 1.5, 3.0
    s = s_r / a
    counts = np.array([-9.0, -3.0, -2.25, -1.0, -0.375, 0.0, 1.0, 10.0, 100.0])  # z'
    z = a * counts + mu
    got = anscombe.forward(z, a, s_r, mu)
    gat = (2 / a) * np.sqrt(np.maximum(a * z + 3 * a * a / 8 + s_r * s_r - a * mu, 0))
    upper = counts >= -0.375
    assert np.allclose(got[upper], gat[upper])
    # Below z' = −3/8: the tangent of 2·sqrt(t) at t = s², slope 1/s in counts, down
    # to z' = −3s (−2.25 here); lower values are taken as that bound.
    tangent = 2 * s + (np.maximum(counts, -3 * s) + 0.375) / s
    assert np.allclose(got[~upper], tangent[~upper])
    assert got[0] == got[1] == got[2] and np.all(np.diff(got[2:]) > 0)
    # Continuous, with a continuous slope, at the joint.
    joint = a * -0.375 + mu
    for eps in (1e-6, 1e-4):
        left, right = anscombe.forward(np.array([joint - eps, joint + eps]), a, s_r, mu)
        assert abs(right - left) < 3 * eps / (a * s)


def test_values_the_model_cannot_explain_are_not_stretched_into_huge_outliers():
    """Small read noise, an offset set 5 counts too high: bounded, not (depth) / s below."""
    z = np.array([95.0, 100.0, 101.0])  # offset 100: z' = −5, 0, 1
    stable = anscombe.forward(z, 1.0, 0.05, 100.0)
    assert stable[1] - 1.0 < stable[0] < stable[1]  # the tangent alone would give −92
    assert np.isclose(stable[0], anscombe.forward(np.array([100.0 - 0.15]), 1.0, 0.05, 100.0)[0])


def test_read_noise_at_zero_counts_stays_close_to_gaussian():
    """The textbook transform clips the lower tail to 0: outliers that widen the noise."""
    rng = np.random.default_rng(3)
    z = rng.normal(0.0, 2.0, 1_000_000)  # no photons, read noise 2 counts
    stable = anscombe.forward(z, 1.0, 2.0, 0.0)
    assert 0.85 < stable.std() < 1.0  # the clipped transform: 1.09
    assert np.mean(stable <= 0.0) < 1e-3  # the clipped transform: 1.4 % at exactly 0
    centred = (stable - stable.mean()) / stable.std()
    assert np.mean(centred**3) > -0.4  # the clipped transform: −1.0
    assert np.mean(centred**4) < 3.3  # the clipped transform: 4.8 (a Gaussian's: 3)


@pytest.mark.parametrize("s", [0.0, 0.4, 2.0])
def test_the_table_of_expected_transforms_matches_the_direct_sum(s):
    table = anscombe.ExpectedTransform(s)
    for counts in (0.0, 0.2, 1.0, 3.7, 40.0, 350.0):
        tabulated = np.interp(counts, table.counts, table.expected)
        assert abs(tabulated - anscombe.reference_expected(counts, s)) < 1e-4


@pytest.mark.parametrize("s", [0.0, 0.5, 1.5])
def test_the_fast_inverse_matches_the_reference_bisection(s):
    """To 1e-4 of a 100-count range, below and beyond the table's end."""
    values = np.array([1.6, 2.2, 5.0, 45.0])
    fast = anscombe.expected_transform(s).inverse(values)
    reference = np.array([anscombe.reference_inverse(d, s) for d in values])
    assert np.abs(fast - reference).max() < 1e-4 * 100


def test_the_exact_inverse_is_unbiased_where_the_algebraic_one_is_not():
    """At 1 and 3 counts, inverting the mean transform gives the counts back."""
    rng = np.random.default_rng(1)
    for counts in (1.0, 3.0):
        z = rng.poisson(counts, 400_000) + rng.normal(0.0, 0.5, 400_000)
        mean = anscombe.forward(z, 1.0, 0.5, 0.0).mean()
        exact = anscombe.exact_unbiased_inverse(np.array([mean]), 1.0, 0.5, 0.0)[0]
        algebraic = anscombe.algebraic_inverse(np.array([mean]), 1.0, 0.5, 0.0)[0]
        assert abs(exact - counts) < 0.02 * counts
        assert abs(algebraic - counts) > 0.05 * counts


@pytest.mark.parametrize("gain, read_noise", [(1.0, 0.0), (1.0, 1.0), (4.0, 6.0)])
def test_gain_and_read_noise_are_fitted(gain, read_noise):
    _, noisy = counts_image(30, gain, read_noise, size=256)
    a, s, mu = estimate_poisson_gaussian(noisy[None])
    assert abs(a / gain - 1) < 0.1
    assert abs(s - read_noise) < 0.1 * max(read_noise, 1.0) * gain
    assert abs(mu) < 0.1 * gain  # the default offset, or barely above it


def test_a_flat_gaussian_image_has_no_gain_to_fit():
    flat = np.random.default_rng(2).normal(100.0, 5.0, (128, 128))
    with pytest.raises(NLMeansError, match="give gain="):
        nlmeans.denoise(flat, noise="poisson-gaussian")


@pytest.mark.parametrize("peak", [2, 20])
def test_stabilised_denoising_beats_gaussian_nlm_on_counts(peak):
    clean, noisy = counts_image(peak, read_noise=0.5)
    scale = 255.0 / peak
    gaussian = nlmeans.denoise(noisy)
    stabilised, params = nlmeans.denoise(noisy, noise="poisson-gaussian", return_params=True)
    assert psnr(clean * scale, stabilised * scale) > psnr(clean * scale, gaussian * scale) + 1.0
    assert params.sigma == 1.0 and set(params.noise_model.estimated) == {"gain", "read_noise"}


def test_dark_pixels_under_read_noise_are_not_clipped_into_outliers():
    """At 1 count and read noise 2, against the textbook transform (clipped at 0) + algebraic."""
    clean, noisy = counts_image(1, read_noise=2.0)
    scale = 255.0
    ours, params = nlmeans.denoise(
        noisy, noise="poisson-gaussian", gain=1.0, read_noise=2.0, tune=False, return_params=True
    )
    textbook = 2.0 * np.sqrt(np.maximum(noisy + 0.375 + 4.0, 0.0)).astype(np.float32)
    same = nlmeans.Params(params.f, params.r, params.h, 1.0, method=params.method)
    baseline = anscombe.algebraic_inverse(nlmeans.denoise(textbook, params=same), 1.0, 2.0, 0.0)
    # 13.9 against 10.5 dB; with the clipped transform and the exact inverse: 8.9 dB.
    assert psnr(clean * scale, ours * scale) > psnr(clean * scale, baseline * scale) + 2.0


def test_given_parameters_are_used_and_the_input_is_kept():
    _, noisy = counts_image(10, 2.0, 1.0, offset=5.0)
    image = np.clip(np.rint(noisy), 0, None).astype(np.uint16)
    before = image.copy()
    out, params = nlmeans.denoise(
        image, noise="poisson-gaussian", gain=2.0, read_noise=1.0, offset=5.0, return_params=True
    )
    assert out.dtype == np.uint16 and np.array_equal(image, before)
    assert params.noise_model == PoissonGaussian(2.0, 1.0, 5.0)
    # The record replays the same result.
    assert np.array_equal(nlmeans.denoise(image, params=params), out)
    assert out.min() >= image.min() and out.max() <= image.max()


def test_volumes_colour_and_tuning_take_the_model():
    _, noisy = counts_image(10, size=64)
    volume = np.stack([noisy, noisy[::-1], noisy[:, ::-1]])
    out, params = nlmeans.denoise(volume, noise="poisson-gaussian", return_params=True)
    assert out.shape == volume.shape and params.noise_model is not None
    rgb = np.stack([noisy, noisy.T, noisy[::-1]], axis=-1)
    out, params = nlmeans.denoise(
        rgb, channel_axis=-1, noise="poisson-gaussian", tune=True, return_params=True
    )
    assert out.shape == rgb.shape and params.noise_model is not None


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(noise="poisson-gaussian", sigma=2.0), "sigma= does not apply"),
        (dict(gain=2.0), "gain applies to noise='poisson-gaussian' only"),
        (dict(noise="poisson"), "noise='poisson' is not one of"),
        (dict(noise="poisson-gaussian", gain=0.0), "gain=0.0 is out of range"),
        (dict(noise="poisson-gaussian", read_noise=-1.0), "read_noise=-1.0 is out of range"),
        (dict(noise="poisson-gaussian", offset=float("nan")), "offset=nan is out of range"),
    ],
)
def test_bad_model_arguments_are_refused(kwargs, message):
    _, noisy = counts_image(10, size=64)
    with pytest.raises(NLMeansError, match=message):
        nlmeans.denoise(noisy, **kwargs)


def test_dask_gives_the_in_memory_result():
    da = pytest.importorskip("dask.array")
    import nlmeans.dask

    _, noisy = counts_image(20, 3.0, 2.0, offset=10.0)
    image = np.clip(np.rint(noisy), 0, None).astype(np.uint16)
    out, params = nlmeans.denoise(image, noise="poisson-gaussian", offset=10.0, return_params=True)
    lazy, lazy_params = nlmeans.dask.denoise(
        da.from_array(image, chunks=64), noise="poisson-gaussian", offset=10.0, return_params=True
    )
    assert lazy_params == params
    assert np.abs(lazy.compute().astype(np.int64) - out).max() <= 1


def test_same_params_fix_the_model_not_sigma():
    from nlmeans._denoise import denoise_request
    from nlmeans._request import Request

    _, noisy = counts_image(10, size=64)
    _, params = nlmeans.denoise(noisy, noise="poisson-gaussian", return_params=True)
    fixed = Request(noise="poisson-gaussian").with_params(params)
    assert fixed.sigma is None and fixed.gain == params.noise_model.gain
    again = denoise_request(noisy, fixed, return_params=True)[1]
    assert again.noise_model.gain == params.noise_model.gain and again.h == params.h


def test_the_command_line_takes_the_model_and_prints_it(tmp_path):
    from typer.testing import CliRunner

    from nlmeans.cli import app

    _, noisy = counts_image(20, 3.0, 2.0, offset=10.0)
    source = tmp_path / "counts.tif"
    import tifffile

    tifffile.imwrite(source, np.clip(np.rint(noisy), 0, None).astype(np.uint16))
    runner = CliRunner()
    result = runner.invoke(app, ["denoise", str(source), "--noise", "poisson-gaussian",
                                 "--gain", "3", "--offset", "10"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "noise=poisson-gaussian gain=3 read_noise=" in result.output
    assert "read_noise=" in result.output and "(estimated)" in result.output
    written = tifffile.imread(tmp_path / "counts_denoised.tif")
    expected = nlmeans.denoise(
        tifffile.imread(source), noise="poisson-gaussian", gain=3.0, offset=10.0
    )
    assert np.array_equal(written, expected)
    # Model options without the model: one line, exit 2, nothing written.
    result = runner.invoke(app, ["denoise", str(source), "-o", str(tmp_path / "x.tif"),
                                 "--read-noise", "2"])  # fmt: skip
    assert result.exit_code == 2 and "read_noise applies to noise='poisson-gaussian'" in (
        result.output
    )
    assert not (tmp_path / "x.tif").exists()
    batch_out = tmp_path / "out"
    result = runner.invoke(app, ["batch", str(tmp_path), str(batch_out), "--pattern",
                                 "counts.tif", "--noise", "poisson-gaussian", "--gain", "3",
                                 "--read-noise", "2", "--offset", "10"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (batch_out / "counts.tif").exists()


def _cuda_reason():
    from nlmeans.backends.cuda import _launcher as launcher

    return launcher.availability()


@pytest.mark.parametrize(
    "backend",
    [
        "cpu",
        pytest.param(
            "cuda",
            marks=[
                pytest.mark.cuda,
                pytest.mark.skipif(
                    _cuda_reason() is not None, reason=f"no GPU or simulator ({_cuda_reason()})"
                ),
            ],
        ),
    ],
)
def test_every_backend_agrees_with_the_oracle_under_the_model(backend):
    """A pre/post transform: each backend matches the reference to 1e-4 of the range."""
    _, noisy = counts_image(8, 2.0, 1.0, size=12)
    options = dict(noise="poisson-gaussian", gain=2.0, read_noise=1.0, h=0.8, f=1, r=2)
    ours = nlmeans.denoise(noisy.astype(np.float32), backend=backend, **options)
    oracle = nlmeans.denoise(noisy.astype(np.float32), backend="reference", **options)
    span = float(noisy.max() - noisy.min())
    assert np.abs(ours.astype(np.float64) - oracle).max() <= 1e-4 * span
