"""SURE's choice between the NLM search and NL-Bayes (method="auto"): risk estimate, rules."""

import warnings
from types import SimpleNamespace

import numpy as np
import pytest

import nlmeans
from nlmeans import NLMeansError, Request, tune
from nlmeans._arrays import pad_reflect
from nlmeans.backends import padding, select
from nlmeans.params import Params
from nlmeans.sure import bayes_sweep, choose_bayes

SIGMA = 20.0


def scene(size: int) -> np.ndarray:
    """A ramp, a disc and an oblique grating: edges, smooth parts and texture."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float64)
    disc = ((x - 0.4 * size) ** 2 + (y - 0.5 * size) ** 2) < (0.25 * size) ** 2
    return 60 + 1.5 * x + 80 * disc + 40 * np.sin(x / 2.0 + y / 3.0)


def bayes_run(backend, noisy, params):
    """NL-Bayes of the (1, H, W) ``noisy`` with ``params``, float64 (H, W)."""
    fs, rs = (params.f,) * 2, (params.r,) * 2
    padded = pad_reflect(noisy, padding("bayes", fs, rs))
    return backend.methods["bayes"](padded, fs, rs, params.sigma, (params.h,))[0, 0].astype(float)


def test_monte_carlo_sure_of_nl_bayes_is_unbiased():
    # E[SURE] = E[MSE] over the noise (Stein), and the Monte-Carlo divergence is unbiased
    # up to O(ε²) over the probe. Per draw d, e_d = SURE_d − MSE_d − (‖n_d‖²/n − σ²): the
    # last term has mean 0 and removes the noise energy's own spread. Under no bias the
    # mean of e over D draws is within 4 standard errors of 0 (|t| > 4 with 7 degrees
    # of freedom: p ≈ 0.005); the check has power when those 4 standard errors are a
    # small share of the MSE and of the divergence term a wrong divergence would shift.
    clean = scene(96)
    backend = select("cpu", "bayes", 2)
    params = Params(1, 3, SIGMA, SIGMA, method="bayes")
    tiles = [((0, 0), clean.shape)]
    errors, mses, divergence_terms = [], [], []
    for draw in range(8):
        noise = np.random.default_rng(100 + draw).normal(0.0, SIGMA, clean.shape)
        noisy = (clean + noise)[None].astype(np.float32)
        sweep = bayes_sweep(noisy, SIGMA, params, tiles, seed=draw, backend=backend, probes=1)
        sure = float(sweep.sure(SIGMA)[0, 0])
        mse = float(np.mean((bayes_run(backend, noisy, params) - clean) ** 2))
        energy = float(np.mean((noisy[0].astype(np.float64) - clean) ** 2)) - SIGMA**2
        errors.append(sure - mse - energy)
        mses.append(mse)
        divergence_terms.append(2 * SIGMA**2 * float(sweep.divergence[0, 0]) / sweep.count)
    errors = np.asarray(errors)
    standard_error = errors.std(ddof=1) / np.sqrt(len(errors))
    assert 4 * standard_error < 0.25 * np.mean(mses) < np.mean(divergence_terms)
    assert abs(errors.mean()) <= 4 * standard_error


def test_the_sweep_on_the_cpu_matches_the_oracle():
    # The same probe and ε on both backends: the residual and the divergence agree to
    # what NL-Bayes' agreement (1e-4 of the range per pixel, in both runs) allows:
    # |Δ div| / n ≤ 2 · 1e-4 · range / ε, |Δ residual| / n ≤ 2 · 1e-4 · range · max|D − u|.
    clean = scene(16)
    noisy = (clean + np.random.default_rng(7).normal(0, SIGMA, clean.shape))[None]
    noisy = noisy.astype(np.float32)
    params = Params(1, 2, SIGMA, SIGMA, method="bayes")
    tiles = [((2, 3), (12, 10))]
    sweeps = [
        bayes_sweep(noisy, SIGMA, params, tiles, seed=5, backend=select(name, "bayes", 2), probes=1)
        for name in ("reference", "cpu")
    ]
    value_range = float(noisy.max() - noisy.min())
    n = sweeps[0].count
    epsilon = nlmeans.sure.BAYES_EPSILON_RATIO * SIGMA
    difference = abs(sweeps[0].divergence - sweeps[1].divergence) / n
    assert difference.max() <= 2e-4 * value_range / epsilon
    largest = 3 * SIGMA + value_range
    assert abs(sweeps[0].residual - sweeps[1].residual).max() / n <= 2e-4 * value_range * largest
    assert sweeps[0].count == 12 * 10


def grating(size: int = 48) -> np.ndarray:
    y, x = np.mgrid[0:size, 0:size].astype(np.float64)
    return (
        128
        + 60 * np.sin(2 * np.pi * (0.13 * x + 0.05 * y))
        + 40 * np.sin(2 * np.pi * (-0.07 * x + 0.17 * y))
    )


def checkerboard(size: int = 48) -> np.ndarray:
    y, x = np.mgrid[0:size, 0:size]
    return np.where((x // 16 + y // 16) % 2 == 0, 80.0, 170.0)


@pytest.mark.parametrize("make", [grating, checkerboard])
def test_the_choice_follows_the_true_mse(make):
    # Two 48² scenes at σ = 10 where the true MSE separates the two by 1.5× or more (a
    # crossed grating, where NL-Bayes' group covariance wins, and large flat squares,
    # where NLM's weighted mean does): SURE's ordering and the choice are those of the
    # true MSE, whichever way it goes.
    sigma = 10.0
    clean = make()
    noisy = clean + np.random.default_rng(1).normal(0.0, sigma, clean.shape)
    common = dict(data_range=255.0, channel_axis=None)
    nlm = tune(noisy, sigma, **common)
    nlm_mse = np.mean((nlmeans.denoise(noisy, params=nlm, **common) - clean) ** 2)
    bayes_out = nlmeans.denoise(noisy, sigma=sigma, method="bayes", **common)
    bayes_mse = np.mean((bayes_out - clean) ** 2)
    assert max(nlm_mse, bayes_mse) >= 1.5 * min(nlm_mse, bayes_mse)  # a clear case
    chosen, scores = tune(noisy, sigma, method="auto", return_scores=True, **common)
    bayes_sure = next(s.sure for s in scores if s.method == "bayes")
    nlm_sure = min(s.sure for s in scores if s.method != "bayes")
    assert (bayes_sure < nlm_sure) == (bayes_mse < nlm_mse)
    assert chosen.method == ("bayes" if bayes_mse < nlm_mse else nlm.method)
    if chosen.method != "bayes":
        assert chosen == nlm  # the NLM search itself is today's


def test_auto_reports_its_choice_through_denoise_and_keeps_the_presets_of_bayes():
    clean = grating()
    noisy = clean + np.random.default_rng(1).normal(0.0, 10.0, clean.shape)
    out, params = nlmeans.denoise(
        noisy, sigma=10.0, method="auto", data_range=255.0, channel_axis=None,
        return_params=True,
    )  # fmt: skip
    expected = nlmeans.denoise(
        noisy, sigma=10.0, method="bayes", data_range=255.0, channel_axis=None,
        return_params=True,
    )  # fmt: skip
    assert params == expected[1]
    np.testing.assert_array_equal(out, expected[0])


def test_the_colour_sure_is_on_the_scale_of_the_nlm_candidates():
    # NL-Bayes runs on RGB and the NLM search on orthonormal luminance–chrominance
    # planes: the channel mean of SURE is the same in both bases, so the two are
    # compared as they are. Checked here against NL-Bayes' true MSE (one draw, 48²,
    # four probes: within 15 %).
    rgb = np.stack([grating(), checkerboard(), 0.5 * grating() + 60], axis=-1)
    noisy = rgb + np.random.default_rng(2).normal(0.0, 20.0, rgb.shape)
    common = dict(data_range=255.0, channel_axis=-1)
    chosen, scores = tune(noisy, 20.0, method="auto", return_scores=True, **common)
    bayes_sure = next(s.sure for s in scores if s.method == "bayes")
    bayes_out = nlmeans.denoise(noisy, sigma=20.0, method="bayes", **common)
    bayes_mse = np.mean((bayes_out - rgb) ** 2)
    assert abs(bayes_sure - bayes_mse) <= 0.15 * bayes_mse


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(method="auto", h=5.0), "method='auto' chooses h by SURE"),
        (dict(method="auto", f=2, r=5), "method='auto' chooses f, r by SURE"),
        (dict(methods=("pixel", "bayes"), h_chroma=3.0), "chooses h_chroma by SURE"),
        (dict(method="pixel", methods=("pixel", "bayes")), "not method='pixel'"),
    ],
)
def test_bad_combinations_name_the_problem(kwargs, message):
    image = np.random.default_rng(0).uniform(0, 255, (32, 32))
    with pytest.raises(NLMeansError, match=message):
        tune(image, 10.0, data_range=255.0, **kwargs)


def test_auto_is_for_2d_images():
    volume = np.random.default_rng(0).uniform(0, 255, (8, 32, 32))
    with pytest.raises(NLMeansError, match="2-D images only"):
        tune(volume, 10.0, data_range=255.0, method="auto")


def test_the_request_takes_auto_as_a_tuned_method():
    assert Request(method="auto").tuned
    assert not Request(method="bayes").tuned
    with pytest.raises(NLMeansError, match="method='auto' chooses h"):
        Request(method="auto", h=3.0)
    with pytest.raises(NLMeansError, match="uniform patch kernel only"):
        Request(method="auto", patch_kernel="gaussian")
    with pytest.raises(NLMeansError, match="has no presets"):
        nlmeans.params.resolve(1, sigma=5.0, data_range=255.0, method="auto")


def test_a_backend_without_nl_bayes_keeps_the_nlm_choice_with_a_warning():
    params = Params(2, 8, 10.0, 10.0)
    backend = SimpleNamespace(name="gpu-like", methods={"pixel": None})
    image = np.zeros((1, 16, 16), np.float32)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        kept = choose_bayes(image, params, 1.0, [((0, 0), (16, 16))], data_range=255.0,
                            seed=0, backend=backend, scores=[], sigma_floor=1.0)  # fmt: skip
    assert kept is params
    assert any("does not compute method 'bayes'" in str(w.message) for w in caught)
