"""SURE over the patch radius and SURE-weighted combinations (method="combined")."""

import json

import imageio.v3 as iio
import numpy as np
import pytest
from typer.testing import CliRunner

import nlmeans
from nlmeans import NLMeansError, Params, denoise, tune
from nlmeans._reporting import params_line, params_record
from nlmeans.cli import app
from nlmeans.params import Component
from nlmeans.sure import fit_weights

SIZE = 96


def grid():
    return np.mgrid[0:SIZE, 0:SIZE].astype(np.float64)


def stripes():
    """An oblique fine stripe texture: at σ = 30 only large patches tell its phases apart."""
    y, x = grid()
    return 128 + 30 * np.sin(2 * np.pi * (x + 0.5 * y) / 6), 30.0


def discs():
    """Small discs on a ramp, σ = 5: fine details that large patches rarely find again."""
    y, x = grid()
    centres_radii = np.random.default_rng(3).integers(3, 93, (40, 3)) % [96, 96, 5] + [0, 0, 2]
    clean = 80 + 0.8 * x
    for cx, cy, r in centres_radii:
        clean += 60 * (((x - cx) ** 2 + (y - cy) ** 2) < r**2)
    return clean, 5.0


def noisy_copy(clean, sigma, seed=0):
    return clean + np.random.default_rng(seed).normal(0.0, sigma, clean.shape)


def mse(a, b):
    return float(np.mean((a - b) ** 2))


@pytest.mark.parametrize("scene, expected", [(stripes, 3), (discs, 1)])
def test_sure_picks_the_patch_radius_the_clean_mse_prefers(scene, expected):
    clean, sigma = scene()
    noisy = noisy_copy(clean, sigma)
    params, scores = tune(
        noisy, sigma, patch_radii=(1, 3), radii=(8,), method="patch", return_scores=True
    )
    # By the clean image: each f at its best h among the candidates.
    best = {
        f: min(
            mse(denoise(noisy, h=c.h, sigma=sigma, f=f, r=c.r, method="patch"), clean)
            for c in scores
            if c.f == f
        )
        for f in (1, 3)
    }
    assert min(best, key=best.get) == expected  # the scene does discriminate
    assert best[1 if expected == 3 else 3] > 1.3 * best[expected]
    assert params.f == expected


def smooth_scene(seed=4, size=128, sigma=20.0):
    y, x = np.mgrid[0:size, 0:size].astype(np.float64)
    clean = 60 + 0.8 * x + 80 * (((x - 40) ** 2 + (y - 50) ** 2) < 25**2)
    clean += 50 * ((np.sin(y / 3) > 0) & (x > 90))
    return clean, noisy_copy(clean, sigma, seed), sigma


def test_the_combinations_sure_matches_its_true_mse():
    errors = []
    for seed in (4, 5):
        clean, noisy, sigma = smooth_scene(seed)
        params, scores = tune(noisy, sigma, method="combined", return_scores=True)
        (combined,) = [c for c in scores if c.method == "combined"]
        true = mse(denoise(noisy, params=params).astype(np.float64), clean)
        # SURE − MSE = (‖n‖²/n − σ²) + a zero-mean cross term: take out the
        # realisation's noise energy, the same for every candidate (several % of
        # the MSE on 128² pixels); what is left is the divergence's accuracy.
        energy = mse(noisy, clean) - sigma**2
        errors.append((combined.sure - energy - true) / true)
    assert max(abs(e) for e in errors) < 0.1, errors


def test_sure_of_a_linear_combination_is_the_quadratic_form():
    rng = np.random.default_rng(1)
    u = rng.normal(size=500)
    rows = np.stack([u, 0.5 * u + rng.normal(size=500), rng.normal(size=500)])
    divergence = np.array([500.0, 250.0, 3.0])
    weights, sure = fit_weights(rows, u, divergence, 0.7, anchor=1, ridge=0.0)
    direct = (
        np.sum((weights @ rows - u) ** 2) / 500 - 0.49 + 2 * 0.49 * (weights @ divergence) / 500
    )
    assert sure == pytest.approx(direct, rel=1e-9)
    # The minimiser: no other weights give a lower SURE.
    for delta in np.eye(3) * 1e-3:
        moved = weights + delta
        other = np.sum((moved @ rows - u) ** 2) / 500 - 0.49 + 2 * 0.49 * (moved @ divergence) / 500
        assert other >= sure


def test_the_combination_is_never_worse_than_its_best_component():
    clean, noisy, sigma = smooth_scene(seed=6)
    out, params = denoise(noisy, sigma, method="combined", return_params=True)
    assert params.method == "combined" and len(params.components) > 2
    component_mses = [
        mse(denoise(noisy, h=c.h, sigma=sigma, f=c.f, r=c.r, method=c.method), clean)
        for c in params.components
        if c.method != "noisy"
    ]
    assert mse(out, clean) <= 1.01 * min(component_mses)


def test_combined_through_denoise_reproduces_from_the_returned_params():
    clean, noisy, sigma = smooth_scene(size=64)
    out, params = denoise(noisy, method="combined", return_params=True)
    assert params.sigma_estimated
    assert abs(sum(c.weight for c in params.components) - 1) < 0.2  # roughly an average
    np.testing.assert_array_equal(denoise(noisy, params=params), out)
    # The record and the line name every term.
    record = json.loads(json.dumps(params_record(params)))
    rebuilt = Params(
        **{**record, "components": tuple(Component(**c) for c in record["components"])}
    )
    np.testing.assert_array_equal(denoise(noisy, params=rebuilt), out)
    assert params_line(params).count("·") == len(params.components)
    # tune=True takes the combination only when SURE says it pays.
    tuned = tune(noisy)
    assert tuned.method in ("pixel", "patch", "combined")


def test_combined_colour_has_luminance_and_chrominance_weights(rng):
    image = np.clip(rng.normal(0.5, 0.1, (40, 36, 3)), 0, 1)
    out, params = denoise(image, channel_axis=-1, method="combined", return_params=True)
    assert all(c.weight_chroma is not None for c in params.components)
    assert out.shape == image.shape
    np.testing.assert_array_equal(denoise(image, channel_axis=-1, params=params), out)


def test_cli_combined_reproduces_from_its_params(tmp_path):
    clean, noisy, _ = smooth_scene(size=64)
    source = tmp_path / "noisy.png"
    iio.imwrite(source, np.clip(np.rint(noisy), 0, 255).astype(np.uint8))
    target = tmp_path / "out.png"
    result = CliRunner().invoke(
        app, ["denoise", str(source), "-o", str(target), "--method", "combined", "--json"]
    )
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)["params"]
    assert record["method"] == "combined" and record["components"]
    params = Params(**{**record, "components": tuple(Component(**c) for c in record["components"])})
    np.testing.assert_array_equal(iio.imread(target), denoise(iio.imread(source), params=params))
    text = CliRunner().invoke(
        app, ["denoise", str(source), "-o", str(tmp_path / "t.png"), "--method", "combined"]
    )
    assert text.exit_code == 0 and "method=combined = " in text.output


GOOD = Component("patch", 1, 3, 10.0, 0.9)


@pytest.mark.parametrize(
    "components, message",
    [
        ((), "at least one"),
        ((Component("noisy", 0, 0, 0.0, 1.0),), "at least one"),
        ((Component("blockwise", 1, 3, 10.0, 1.0),), "method='blockwise'"),
        ((GOOD, Component("pixel", -1, 3, 10.0, 0.1)), "f=-1"),
        ((GOOD, Component("pixel", 1, 3, 0.0, 0.1)), "h=0.0"),
        ((GOOD, Component("pixel", 1, 3, 10.0, float("nan"))), "weight=nan"),
        ((GOOD, Component("pixel", 1, 3, 10.0, 0.1, 0.5)), "every component"),
        ((Component("pixel", 1, 3, 10.0, 1.0, 1.0),), "3-channel"),
        (("patch", 1, 3), "not \\(method"),
        ("patch", "not a sequence"),
    ],
)
def test_invalid_combined_parameters_raise(components, message):
    noisy = noisy_copy(np.full((24, 24), 100.0), 10.0)
    params = Params(1, 3, 10.0, 10.0, method="combined", components=components)
    with pytest.raises(NLMeansError, match=message):
        denoise(noisy, params=params)


def test_combined_misuse_raises():
    noisy = noisy_copy(np.full((24, 24), 100.0), 10.0)
    with pytest.raises(NLMeansError, match="no presets"):
        nlmeans.resolve_params(noisy, method="combined")
    params = Params(1, 3, 10.0, 10.0)
    with pytest.raises(NLMeansError, match="params="):
        denoise(noisy, 5.0, params=params)
    with pytest.raises(NLMeansError, match="method='mixed'"):
        denoise(noisy, method="mixed")
