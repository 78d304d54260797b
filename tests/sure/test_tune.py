"""SURE tuning (nlmeans.tune): the risk estimate, the choice it makes, and its plumbing."""

import numpy as np
import pytest
from _support import ORACLE, pad_stack

import nlmeans
from nlmeans import NLMeansError, denoise, tune
from nlmeans.backends import REGISTRY
from nlmeans.sure import TILE, sample_tiles, sure_scores

SIGMA = 20.0


def synthetic(seed: int = 3, size: int = 128):
    """A piecewise-smooth image (ramp, disc, stripes) and a noisy copy, σ = SIGMA."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float64)
    clean = (
        60
        + 0.8 * x
        + 80 * (((x - 40) ** 2 + (y - 50) ** 2) < 25**2)
        + 50 * ((np.sin(y / 3) > 0) & (x > 90))
    )
    noise = np.random.default_rng(seed).normal(0.0, SIGMA, clean.shape)
    return clean, clean + noise, noise


@pytest.mark.parametrize("method", ["pixel", "patch"])
def test_sure_tracks_the_true_mse_across_h(method):
    # SURE is unbiased: averaged over noise realisations it matches the true MSE.
    # One realisation also carries the noise energy's deviation (‖n‖²/n − σ²) and
    # the fluctuation of the divergence term, a few % of the MSE on 256² pixels.
    hs = [8.0, 10.0, 14.0, 20.0, 28.0]  # h / σ from 0.4 to 1.4
    sures, mses = [], []
    for seed in (3, 4, 5):
        clean, noisy, _ = synthetic(seed, size=256)
        scores = sure_scores(noisy[None], SIGMA, [(method, 2, 5, hs)], fraction=1.0)
        sures.append([score.sure for score in scores])
        mses.append(
            [
                np.mean((denoise(noisy, h=h, sigma=SIGMA, f=2, r=5, method=method) - clean) ** 2)
                for h in hs
            ]
        )
    sures, mses = np.array(sures), np.array(mses)
    np.testing.assert_array_less(np.abs(sures - mses), 0.12 * mses)
    np.testing.assert_array_less(np.abs(sures.mean(0) - mses.mean(0)), 0.05 * mses.mean(0))
    # The curve keeps its shape: SURE is least where the true MSE is.
    assert np.argmin(sures.mean(0)) == np.argmin(mses.mean(0))


def test_tune_picks_an_h_near_the_true_minimum():
    clean, noisy, _ = synthetic(seed=4, size=256)
    params, scores = tune(noisy, SIGMA, f=2, r=5, return_scores=True)
    assert {"pixel", "patch"} <= {s.method for s in scores}
    scores = [s for s in scores if s.method != "combined"]
    mses = {
        (s.method, s.h): np.mean(
            (denoise(noisy, h=s.h, sigma=SIGMA, f=2, r=5, method=s.method) - clean) ** 2
        )
        for s in scores
    }
    # The choice (a single candidate, or their SURE-weighted combination) as denoised.
    chosen = np.mean((denoise(noisy, params=params) - clean) ** 2)
    assert chosen <= 1.03 * min(mses.values())
    assert chosen < 0.8 * max(mses.values())  # the candidates do differ


def test_tune_estimates_sigma_and_keeps_fixed_parameters():
    _, noisy, _ = synthetic()
    params = tune(noisy)
    assert params.sigma_estimated and 15 < params.sigma < 25
    assert params.method in ("pixel", "patch", "combined") and params.h > 0
    fixed = tune(noisy, SIGMA, h=9.0, f=1, r=4, method="pixel")
    assert (fixed.h, fixed.f, fixed.r, fixed.method, fixed.sigma) == (9.0, 1, 4, "pixel", SIGMA)
    assert not fixed.sigma_estimated


def test_tune_is_deterministic_and_works_on_color():
    rng = np.random.default_rng(0)
    image = np.clip(rng.normal(0.5, 0.1, (40, 36, 3)), 0, 1).astype(np.float32)
    first = tune(image, channel_axis=-1)
    assert first == tune(image, channel_axis=-1)
    assert first.f >= 1  # the color preset


def test_denoise_with_tune_uses_the_tuned_parameters():
    _, noisy, _ = synthetic()
    out, params = denoise(noisy, sigma=SIGMA, tune=True, return_params=True)
    assert params == tune(noisy, SIGMA)
    np.testing.assert_array_equal(out, denoise(noisy, params=params))


def test_sweeps_match_the_oracle_for_every_h(rng):
    # The CPU methods with K strengths at once (SURE's sweeps) against one oracle run per h.
    image = rng.random((2, 15, 17)).astype(np.float32)
    f, r, sigma, hs = (1, 1), (3, 3), 0.05, [0.1, 0.25, 0.6]
    for method, sweep in REGISTRY["cpu"].methods.items():
        padded = pad_stack(image, f, r, method)
        out = sweep(padded, f, r, sigma, hs)
        assert out.shape == (len(hs), *image.shape) and out.dtype == np.float32
        for k, h in enumerate(hs):
            expected = ORACLE[method](padded, f, r, sigma, [h])[0]
            np.testing.assert_allclose(out[k], expected, atol=1e-5)


def test_tune_on_the_reference_backend_agrees_with_cpu():
    _, noisy, _ = synthetic(size=24)
    kwargs = dict(f=1, radii=(2,), return_scores=True)
    params, scores = tune(noisy, SIGMA, backend="reference", **kwargs)
    cpu_params, cpu_scores = tune(noisy, SIGMA, backend="cpu", **kwargs)
    assert {"pixel", "patch"} <= {s.method for s in scores}
    assert params.method == cpu_params.method and params.f == cpu_params.f
    assert params.h == pytest.approx(cpu_params.h)
    assert [(s.method, s.h) for s in scores] == [(s.method, s.h) for s in cpu_scores]
    # Single candidates to float32 precision; a combination's weights are fitted to
    # those scores, so its SURE moves a little more.
    single = [s.method != "combined" for s in scores]
    sures = np.array([s.sure for s in scores]), np.array([s.sure for s in cpu_scores])
    np.testing.assert_allclose(sures[0][single], sures[1][single], rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(sures[0], sures[1], rtol=1e-2)


def test_denoise_tune_on_the_reference_backend():
    _, noisy, _ = synthetic(size=20)
    out, params = denoise(
        noisy, sigma=SIGMA, r=2, tune=True, backend="reference", return_params=True
    )
    assert params == tune(noisy, SIGMA, r=2, backend="reference")
    np.testing.assert_array_equal(out, denoise(noisy, params=params, backend="reference"))


def test_tune_on_a_backend_without_patch_warns_and_searches_pixel_only(pixel_only_backend):
    _, noisy, _ = synthetic(size=20)
    with pytest.warns(UserWarning, match="backend='gpu' does not compute method 'patch'"):
        params, scores = tune(noisy, SIGMA, f=1, radii=(2,), backend="gpu", return_scores=True)
    assert params.method in ("pixel", "combined") and scores
    assert {s.method for s in scores} <= {"pixel", "combined"}
    with pytest.warns(UserWarning, match="searching 'pixel' only"):
        out, chosen = denoise(noisy, sigma=SIGMA, r=2, tune=True, backend="gpu", return_params=True)
    assert chosen.method in ("pixel", "combined") and out.shape == noisy.shape
    # A method fixed by the caller is not searched, so nothing is left out: no warning.
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert tune(noisy, SIGMA, r=2, method="pixel", backend="gpu").method == "pixel"


def test_sample_tiles_cover_the_requested_share():
    assert sample_tiles(100, 120) == [(0, 0, 100, 120)]  # small: the whole image
    tiles = sample_tiles(512, 768, 0.25)
    covered = sum(rows * cols for _, _, rows, cols in tiles)
    assert 0.2 * 512 * 768 <= covered <= 0.4 * 512 * 768
    assert all(0 <= y <= 512 - TILE and 0 <= x <= 768 - TILE for y, x, _, _ in tiles)
    assert len({(y, x) for y, x, _, _ in tiles}) == len(tiles)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(fraction=0.0), "fraction"),
        (dict(fraction=2.0), "fraction"),
        (dict(method="blockwise"), "method"),
        (dict(h=-1.0), "h="),
        (dict(h_ratios=()), "at least one"),
        (dict(radii=(-1,)), "r=-1"),
    ],
)
def test_tune_rejects_bad_input(kwargs, message):
    _, noisy, _ = synthetic(size=32)
    with pytest.raises(NLMeansError, match=message):
        tune(noisy, SIGMA, **kwargs)


def test_tune_is_exported():
    assert nlmeans.tune is tune
    assert "tune" in nlmeans.__all__


def test_cli_tune_and_method(tmp_path):
    import imageio.v3 as iio
    from typer.testing import CliRunner

    from nlmeans.cli import app

    _, noisy, _ = synthetic(size=64)
    source = tmp_path / "noisy.png"
    iio.imwrite(source, np.clip(np.rint(noisy), 0, 255).astype(np.uint8))
    runner = CliRunner()
    tuned = runner.invoke(app, ["denoise", str(source), "-o", str(tmp_path / "t.png"), "--tune"])
    assert tuned.exit_code == 0, tuned.output
    assert "tuned by SURE" in tuned.output
    expected = tune(iio.imread(source))
    assert f"method={expected.method}" in tuned.output and f"h={expected.h:.4g}" in tuned.output
    target = tmp_path / "p.png"
    fixed = runner.invoke(
        app, ["denoise", str(source), "-o", str(target), "--method", "patch", "--h", "12"]
    )
    assert fixed.exit_code == 0, fixed.output
    assert "method=patch" in fixed.output
    pixels = iio.imread(source)
    want = denoise(pixels, h=12.0, method="patch")
    np.testing.assert_array_equal(iio.imread(target), want)
    bad = runner.invoke(
        app, ["denoise", str(source), "-o", str(tmp_path / "b.png"), "--method", "x"]
    )
    assert bad.exit_code == 2 and "error: method='x'" in bad.output
    assert not (tmp_path / "b.png").exists()


def test_volumes_tune_per_axis_radii_and_combine_on_request():
    # A time stack keeps its per-axis radii; SURE picks h and one method (the automatic
    # combination is for 2-D images); a combination asked for is reproduced from Params.
    clean = np.stack([synthetic(seed, size=32)[0] for seed in (3, 3, 3, 3)])
    noisy = clean + np.random.default_rng(9).normal(0.0, SIGMA, clean.shape)
    params = tune(noisy, SIGMA, f=(0, None, None), r=(2, None, None))
    assert params.f[0] == 0 and params.r[0] == 2 and params.method in ("pixel", "patch")
    out, combined = denoise(
        noisy, sigma=SIGMA, f=(0, 1, 1), r=(2, 3, 3), method="combined", return_params=True
    )
    assert combined.method == "combined" and all(c.f in ((0, 1, 1), 0) for c in combined.components)
    np.testing.assert_array_equal(out, denoise(noisy, params=combined))
    assert np.mean((out - clean) ** 2) < 0.5 * np.mean((noisy - clean) ** 2)


def test_the_command_line_tunes_by_default_and_says_who_chose(tmp_path):
    import imageio.v3 as iio
    from typer.testing import CliRunner

    from nlmeans import resolve_params
    from nlmeans.cli import app

    _, noisy, _ = synthetic(size=64)
    image = np.clip(np.rint(noisy), 0, 255).astype(np.uint8)
    folder = tmp_path / "in"
    folder.mkdir()
    source = folder / "noisy.png"
    iio.imwrite(source, image)
    runner = CliRunner()

    def denoise(*options):
        out = tmp_path / f"out{len(options)}.png"
        result = runner.invoke(app, ["denoise", str(source), "-o", str(out), *options])
        assert result.exit_code == 0, result.output
        return result.stdout, iio.imread(out)

    text, written = denoise()
    chosen = tune(image)
    assert "(tuned by SURE)" in text and f"h={chosen.h:.4g}" in text
    np.testing.assert_array_equal(written, nlmeans.denoise(image, params=chosen))
    text, written = denoise("--presets")
    presets = resolve_params(image)
    assert "(presets)" in text and f"h={presets.h:.4g}" in text
    np.testing.assert_array_equal(written, nlmeans.denoise(image, params=presets))
    text, _ = denoise("--h", "12")  # given: neither word
    assert "h=12 " in text and "tuned" not in text and "presets" not in text
    for options, words in (((), "tuned by SURE per file"), (("--presets",), "from the presets")):
        result = runner.invoke(app, ["batch", str(folder), str(tmp_path / str(options)), *options])
        assert result.exit_code == 0, result.output
        assert f"parameters {words}" in result.stdout


def test_noise_that_hides_the_image_widens_the_search(monkeypatch):
    """Variance below 1.25 σ²: the presets' wider window joins the candidates, else not."""
    import nlmeans.sure._search as search

    seen = []

    def spy(*args, **kwargs):
        fs, rs = candidate_radii(*args, **kwargs)
        seen.append(rs)
        return fs, rs

    from nlmeans.sure._grids import candidate_radii

    monkeypatch.setattr(search, "candidate_radii", spy)
    clean, _, noise = synthetic(size=96)
    sigma = 40.0  # presets r = 17 (σ ≥ 30 on the 8-bit scale)
    faint = 120 + 0.1 * (clean - clean.mean()) + noise * (sigma / SIGMA)
    strong = clean + noise * (sigma / SIGMA)
    params, scores = tune(faint, sigma, data_range=255.0, return_scores=True)
    assert seen[-1] == [5, 8, 17]
    tune(strong, sigma, data_range=255.0)
    assert seen[-1] == [5, 8]
