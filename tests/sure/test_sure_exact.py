"""The exact SURE divergence of pixelwise NLM: formula, Numba kernel, and the search using it."""

import numpy as np
import pytest
from _support import ORACLE, pad_stack

from nlmeans import denoise, tune
from nlmeans.backends.cpu._sure_pixel import sure_tiles
from nlmeans.sure import best_per_group, sample_blocks
from nlmeans.sure._exact import divergence_reference, exact_sweeps, wanted_pairs

SIGMA = 20.0


def random_image(seed, channels, shape):
    """float64 (C, *S), uniform in [0, 100)."""
    return np.random.default_rng(seed).uniform(0.0, 100.0, (channels, *shape))


@pytest.mark.parametrize(
    "channels, f, r, sigma",
    [
        (1, (1, 1), (2, 2), 8.0),
        (3, (1, 1), (2, 2), 8.0),
        (1, (2, 2), (1, 1), 0.0),
        (2, (0, 1), (2, 1), 4.0),
    ],
)
def test_the_closed_form_is_the_derivative_of_the_oracle(channels, f, r, sigma):
    # Central finite differences of the oracle's estimate, one padded sample at a time.
    pad = tuple(a + b for a, b in zip(f, r, strict=True))
    shape = (6, 7)
    padded = pad_stack(random_image(1, channels, shape), f, r, dtype=None)
    hs = [9.0, 30.0]
    estimates, divergence = divergence_reference(padded, f, r, sigma, hs)
    np.testing.assert_allclose(estimates, ORACLE["pixel"](padded, f, r, sigma, hs), atol=1e-4)
    step = 1e-4
    for c in range(channels):
        for y in range(shape[0]):
            for x in range(shape[1]):
                index = (c, pad[0] + y, pad[1] + x)
                up, down = padded.copy(), padded.copy()
                up[index] += step
                down[index] -= step
                slope = (
                    divergence_reference(up, f, r, sigma, hs)[0][:, c, y, x]
                    - divergence_reference(down, f, r, sigma, hs)[0][:, c, y, x]
                ) / (2 * step)
                np.testing.assert_allclose(divergence[:, c, y, x], slope, atol=1e-6)
    # Not a constant: the weights' share moves it away from the centre weight's 1/Σw.
    assert np.ptp(divergence) > 0.1


@pytest.mark.parametrize(
    "channels, f, r, shape",
    [
        (1, 1, 3, (19, 13)),
        (3, 2, 2, (19, 13)),
        (1, 3, 1, (19, 13)),
        (2, 0, 2, (19, 13)),
        (1, (1, 2), (3, 1), (19, 13)),
        # Volumes: planes split into slabs, per-axis radii, a time stack's f_t = 0.
        (1, 1, 2, (7, 9, 8)),
        (2, (0, 1, 1), (2, 2, 1), (7, 9, 8)),
        (1, (1, 0, 2), (1, 2, 0), (5, 6, 11)),
    ],
)
def test_the_kernel_matches_the_formula(channels, f, r, shape):
    tiles = np.stack([pad_stack(random_image(seed, channels, shape), f, r, dtype=None)
                      for seed in (2, 3)])  # fmt: skip
    hs = [6.0, 15.0, 40.0]
    estimates, divergence = sure_tiles(tiles, f, r, 10.0, hs)
    ndim = len(shape)
    f = f if isinstance(f, tuple) else (f,) * ndim
    r = r if isinstance(r, tuple) else (r,) * ndim
    for t, window in enumerate(tiles):
        want_est, want_div = divergence_reference(window, f, r, 10.0, hs)
        np.testing.assert_allclose(estimates[t], want_est, atol=1e-4 * 100.0)
        np.testing.assert_allclose(divergence[t], want_div, atol=1e-4)


def test_exact_sure_tracks_the_true_mse_across_h():
    # Unbiased: averaged over noise realisations SURE matches the true MSE, and
    # the least SURE is where the least MSE is. (One realisation also carries
    # the noise energy's deviation ‖n‖²/n − σ², common to every h.)
    y, x = np.mgrid[0:128, 0:128].astype(np.float64)
    clean = 60 + 0.8 * x + 80 * (((x - 40) ** 2 + (y - 50) ** 2) < 25**2)
    clean += 50 * ((np.sin(y / 3) > 0) & (x > 90))
    hs = [8.0, 12.0, 16.0, 22.0, 30.0]
    tiles = sample_blocks(clean.shape, 1.0)
    sures, mses = [], []
    for seed in range(6):
        noisy = clean + np.random.default_rng(seed).normal(0.0, SIGMA, clean.shape)
        (sweep,) = exact_sweeps(noisy[None], SIGMA, [("pixel", 2, 5, hs)], tiles)
        sures.append(sweep.sure(SIGMA)[:, 0])
        mses.append(
            [np.mean((denoise(noisy, h=h, sigma=SIGMA, f=2, r=5) - clean) ** 2) for h in hs]
        )
    sure, mse = np.mean(sures, axis=0), np.mean(mses, axis=0)
    np.testing.assert_array_less(np.abs(sure - mse), 0.08 * mse)
    assert np.argmin(sure) == np.argmin(mse)


def test_exact_sweeps_on_the_oracle_and_the_kernel_agree():
    noisy = random_image(4, 1, (40, 40))
    tiles = sample_blocks(noisy.shape[1:], 1.0)
    candidates = [("pixel", 1, 2, [10.0, 20.0])]
    fast = exact_sweeps(noisy, 5.0, candidates, tiles, keep=True)[0]
    slow = exact_sweeps(noisy, 5.0, candidates, tiles, keep=True, oracle=True)[0]
    assert fast.exact and slow.exact
    np.testing.assert_allclose(fast.sure(5.0), slow.sure(5.0), rtol=1e-4)
    np.testing.assert_allclose(fast.estimates, slow.estimates, atol=1e-3)


def test_exact_sweeps_on_volume_tiles_match_the_oracle():
    noisy = random_image(6, 1, (10, 20, 20))
    tiles = sample_blocks(noisy.shape[1:], 0.0, 1000, (4, 8, 8))
    assert len(tiles) > 1
    candidates = [("pixel", (0, 1, 1), (2, 1, 2), [10.0, 20.0]), ("pixel", 1, 1, [15.0])]
    fast = exact_sweeps(noisy, 5.0, candidates, tiles, keep=True)
    slow = exact_sweeps(noisy, 5.0, candidates, tiles, keep=True, oracle=True)
    for a, b in zip(fast, slow, strict=True):
        assert a.exact and b.exact and a.count == b.count == sum(8 * 8 * 4 for _ in tiles)
        np.testing.assert_allclose(a.sure(5.0), b.sure(5.0), rtol=1e-4)
        np.testing.assert_allclose(a.estimates, b.estimates, atol=1e-3)
    # Each candidate's tiles (cut from one padding by the largest radii) are the image's
    # own: the estimates are those of denoising the whole volume.
    for sweep, (_, f, r, hs) in zip(fast, candidates, strict=True):
        for k, h in enumerate(hs):
            whole = denoise(noisy[0], sigma=5.0, h=h, f=f, r=r, method="pixel")
            want = np.concatenate([
                whole[tuple(slice(o, o + n) for o, n in zip(*t, strict=True))].ravel()
                for t in tiles
            ])  # fmt: skip
            np.testing.assert_allclose(sweep.estimates[k, 0], want, atol=1e-4 * 100.0)


def test_tune_combines_below_sigma_15_with_exact_divergences():
    # σ = 8: the combination's terms are the pixelwise sweeps, whose divergence is
    # exact (an image large enough for SURE to be taken on tiles).
    rng = np.random.default_rng(7)
    y, x = np.mgrid[0:320, 0:320]
    clean = 100 + 60 * np.sin(x / 9.0) * np.cos(y / 13.0)
    noisy = clean + rng.normal(0, 8.0, clean.shape)
    params, scores = tune(noisy, 8.0, method="combined", return_scores=True)
    assert params.method == "combined"
    assert {c.method for c in params.components} == {"pixel", "noisy"}
    _, automatic = tune(noisy, 8.0, methods=("pixel",), return_scores=True)
    assert "combined" in {s.method for s in automatic}  # fitted, below σ 15


def test_no_automatic_combination_where_sure_is_negative():
    # A dark scene with σ = 30 noise clipped at 0: the noise left is far below σ,
    # SURE goes negative, and the weights of a combination would fit that error.
    rng = np.random.default_rng(3)
    y, x = np.mgrid[0:96, 0:96]
    clean = 8.0 + 4.0 * np.sin(x / 7.0) + 4.0 * (y > 48)
    noisy = np.clip(clean + rng.normal(0, 30.0, clean.shape), 0, 255)
    params, scores = tune(noisy, 30.0, return_scores=True)
    singles = [s.sure for s in scores if s.method != "combined"]
    assert min(singles) < 0
    assert params.method != "combined"
    # Asked for, it is still given.
    assert tune(noisy, 30.0, method="combined").method == "combined"


def test_no_automatic_combination_whose_own_sure_is_negative():
    # Uniform noise as the scene (64², σ = 30): the single estimates' SURE is sound, but
    # the combination's weights fit the Monte-Carlo divergences' error and its SURE goes
    # far below zero while its true error exceeds the noisy input's.
    clean = np.random.default_rng(5).uniform(0, 255, (64, 64))
    noisy = clean + np.random.default_rng(6).normal(0, 30.0, clean.shape)
    params, scores = tune(noisy, 30.0, return_scores=True)
    combination = [s.sure for s in scores if s.method == "combined"]
    assert combination and combination[0] < 0  # the case the rule is about
    assert params.method != "combined"
    out = denoise(noisy, sigma=30.0, tune=True)
    assert np.mean((out - clean) ** 2) < np.mean((noisy - clean) ** 2)


def test_the_kernel_computes_only_the_wanted_pairs():
    # Luminance–chrominance planes: channel 0 at some strengths, channels 1 and 2 at others.
    tiles = np.stack([pad_stack(random_image(seed, 3, (12, 14)), 1, 2, dtype=None)
                      for seed in (5, 6)])  # fmt: skip
    hs = [6.0, 15.0, 40.0]
    wanted = wanted_pairs(hs, 3, ([6.0, 15.0], [15.0, 40.0]))
    assert wanted.tolist() == [[True, False, False], [True, True, True], [False, True, True]]
    full = sure_tiles(tiles, 1, 2, 10.0, hs)
    part = sure_tiles(tiles, 1, 2, 10.0, hs, wanted)
    for every, some in zip(full, part, strict=True):
        np.testing.assert_array_equal(some[:, wanted], every[:, wanted])
        assert np.isnan(some[:, ~wanted]).all()
    for t, window in enumerate(tiles):
        want_est, want_div = divergence_reference(window, (1, 1), (2, 2), 10.0, hs)
        np.testing.assert_allclose(part[0][t][wanted], want_est[wanted], atol=1e-4 * 100.0)
        np.testing.assert_allclose(part[1][t][wanted], want_div[wanted], atol=1e-4)


def test_exact_sweeps_with_channel_groups_on_the_oracle_and_the_kernel_agree():
    noisy = random_image(8, 3, (36, 36))
    tiles = sample_blocks(noisy.shape[1:], 1.0)
    candidates = [("pixel", 1, 2, [10.0, 20.0, 30.0])]
    groups = [([10.0, 20.0], [20.0, 30.0])]
    fast = exact_sweeps(noisy, 5.0, candidates, tiles, keep=True, groups=groups)[0]
    slow = exact_sweeps(noisy, 5.0, candidates, tiles, keep=True, oracle=True, groups=groups)[0]
    np.testing.assert_array_equal(np.isnan(fast.sure(5.0)), np.isnan(slow.sure(5.0)))
    assert np.isnan(fast.sure(5.0)).sum() == 3  # h = 30 in luminance, h = 10 in chrominance
    np.testing.assert_allclose(fast.sure(5.0), slow.sure(5.0), rtol=1e-4)
    # Ranking and the combination use the computed pairs only.
    choice = best_per_group(fast.candidates(5.0))
    assert choice[3] in (10.0, 20.0) and choice[4] in (20.0, 30.0)
    assert np.isfinite(choice[-1])


def large_scene(channels=1, size=320, sigma=12.0, seed=11):
    """A smooth scene with edges, large enough for SURE on tiles (the exact search)."""
    y, x = np.mgrid[0:size, 0:size]
    clean = 100 + 60 * np.sin(x / 9.0) * np.cos(y / 13.0) + 40 * (x > size // 2)
    clean = np.stack([clean * (0.8 + 0.1 * c) for c in range(channels)], axis=-1)
    noisy = clean + np.random.default_rng(seed).normal(0, sigma, clean.shape)
    return noisy[..., 0] if channels == 1 else noisy


def test_the_exact_search_scores_pixelwise_by_default_and_patch_on_request():
    noisy = large_scene()
    _, scores = tune(noisy, 12.0, return_scores=True)
    assert {s.method for s in scores} <= {"pixel", "combined"}
    _, both = tune(noisy, 12.0, methods=("pixel", "patch"), return_scores=True)
    assert "patch" in {s.method for s in both}
    # Whole small images (Monte-Carlo divergence) still search both methods.
    _, small = tune(noisy[:96, :96], 12.0, return_scores=True)
    assert {"pixel", "patch"} <= {s.method for s in small}


def test_colour_combination_on_tiles_weights_each_group_at_its_own_strengths():
    noisy = large_scene(channels=3)
    params, scores = tune(noisy, 12.0, channel_axis=-1, method="combined", return_scores=True)
    assert params.method == "combined"
    fine = [s for s in scores if s.method == "pixel" and len(s.channel_sure) == 3]
    luminance = {s.h for s in fine if np.isfinite(s.channel_sure[0])}
    chroma = {s.h for s in fine if np.isfinite(s.channel_sure[1])}
    assert luminance != chroma  # the fine pass computed each group at its own grid
    for term in params.components:
        if term.method == "pixel":
            assert term.h in luminance or term.weight == 0.0
            assert term.h in chroma or term.weight_chroma == 0.0
    out = denoise(noisy, channel_axis=-1, params=params)
    assert np.isfinite(out).all()
    # Better than the noisy image against the noise-free scene.
    clean = large_scene(channels=3, sigma=0.0)
    assert np.mean((out - clean) ** 2) < 0.5 * np.mean((noisy - clean) ** 2)


def test_volumes_and_time_stacks_are_tuned_with_the_exact_divergence():
    # 32 × 64 × 64: large enough for SURE on tiles, so pixelwise candidates with their
    # exact divergence (no patchwise ones by default) and the automatic combination.
    z, y, x = np.mgrid[0:32, 0:64, 0:64]
    clean = 100 + 60 * np.sin(x / 7.0) * np.cos(y / 9.0) + 40 * (z > 16)
    noisy = clean + np.random.default_rng(13).normal(0, 12.0, clean.shape)
    for given in ({}, {"f": (0, None, None), "r": (2, None, None)}):
        params, scores = tune(noisy, 12.0, return_scores=True, **given)
        assert {s.method for s in scores} == {"pixel", "combined"}
        radii = {(s.f, s.r) for s in scores if s.method == "pixel"}
        if given:  # a time stack keeps its given time radii and searches its frames' as 2-D
            assert len(radii) == 2 and radii <= {((0, f, f), (2, 8, 8)) for f in (1, 2, 3)}
            assert params.f[0] == 0 and params.r[0] == 2
        else:  # a volume's two best of f in (1, 2) × r in (2, 3) reach the fine pass
            assert len(radii) == 2 and radii <= {(1, 2), (1, 3), (2, 2), (2, 3)}
        tuned = denoise(noisy, params=params)
        presets = denoise(noisy, sigma=12.0, tune=False, **given)
        assert np.mean((tuned - clean) ** 2) < np.mean((presets - clean) ** 2)
    # Candidates asked for are searched.
    _, asked = tune(noisy, 12.0, patch_radii=(1,), radii=(1, 2), return_scores=True)
    assert {(s.f, s.r) for s in asked if s.method == "pixel"} == {(1, 1), (1, 2)}
    # A whole small volume is still scored with the Monte-Carlo divergence, both methods,
    # at the presets' radii.
    _, small = tune(noisy[:16, :32, :32], 12.0, return_scores=True)
    assert {"pixel", "patch"} <= {s.method for s in small}
    assert {(s.f, s.r) for s in small if s.method != "combined"} == {(1, 3)}


def test_a_colour_volume_is_tuned_in_luminance_and_chrominance_with_the_exact_divergence():
    z, y, x = np.mgrid[0:32, 0:64, 0:64]
    clean = np.stack(
        [100 + 60 * np.sin(x / 7.0) * np.cos(y / 9.0) + 15 * (c + 1) * (z > 16) for c in range(3)],
        axis=-1,
    )
    noisy = clean + np.random.default_rng(1).normal(0, 12.0, clean.shape)
    params, scores = tune(noisy, 12.0, channel_axis=-1, return_scores=True)
    assert {s.method for s in scores} == {"pixel"} and params.h_chroma is not None
    tuned = denoise(noisy, params=params, channel_axis=-1)
    presets = denoise(noisy, sigma=12.0, channel_axis=-1, tune=False)
    assert np.mean((tuned - clean) ** 2) < np.mean((presets - clean) ** 2)
