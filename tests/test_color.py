"""Luminance–chrominance filtering (h_chroma) and its SURE tuning, on small synthetic images."""

import json
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
from typer.testing import CliRunner

import nlmeans
from nlmeans import NLMeansError, denoise, tune
from nlmeans._color import OPPONENT, from_opponent, to_opponent
from nlmeans.cli import app

runner = CliRunner()
SIGMA = 20.0


def colour_scene(seed: int = 7, size: int = 96):
    """A colour image (RGB, 8-bit scale, float) and a noisy copy, σ = SIGMA.

    Like a photograph: edges and stripes in the luminance, slowly varying chrominance.
    """
    y, x = np.mgrid[0:size, 0:size].astype(np.float64)
    disc = ((x - 35) ** 2 + (y - 45) ** 2) < 22**2
    stripes = (np.sin(y / 3) > 0) & (x > 60)
    luminance = 60 + 0.8 * x + 80 * disc + 50 * stripes
    clean = np.stack([luminance + 20 + 0.2 * y, luminance - 10, luminance + 10 - 0.3 * x], -1)
    noise = np.random.default_rng(seed).normal(0.0, SIGMA, clean.shape)
    return clean, clean + noise


def test_opponent_transform_is_orthonormal_and_inverts(rng):
    np.testing.assert_allclose(OPPONENT @ OPPONENT.T, np.eye(3), atol=1e-6)
    planes = rng.random((3, 5, 6)).astype(np.float32)
    np.testing.assert_allclose(from_opponent(to_opponent(planes)), planes, atol=1e-6)
    # Patch distances (sums of squares over channels) are unchanged.
    other = rng.random((3, 5, 6)).astype(np.float32)
    rgb = ((planes - other) ** 2).sum(axis=0)
    opp = ((to_opponent(planes) - to_opponent(other)) ** 2).sum(axis=0)
    np.testing.assert_allclose(opp, rgb, rtol=1e-5)


@pytest.mark.parametrize("backend", ["reference", "cpu"])
@pytest.mark.parametrize("method", ["pixel", "patch"])
def test_h_chroma_equal_to_h_is_the_rgb_filter(rng, backend, method):
    image = rng.random((11, 12, 3))
    kwargs = dict(h=0.2, sigma=0.05, f=1, r=2, channel_axis=-1, method=method, backend=backend)
    rgb = denoise(image, **kwargs)
    both = denoise(image, h_chroma=0.2, **kwargs)
    np.testing.assert_allclose(both, rgb, rtol=0, atol=1e-5)


@pytest.mark.parametrize("backend", ["reference", "cpu"])
@pytest.mark.parametrize("method", ["pixel", "patch"])
def test_luminance_gets_h_and_chrominance_h_chroma(rng, backend, method):
    # The oracle: plain RGB reference runs at h and at h_chroma, seen in opponent planes.
    image = rng.random((11, 12, 3))
    common = dict(sigma=0.05, f=1, r=2, channel_axis=-1, method=method)
    at_h = denoise(image, h=0.12, backend="reference", **common)
    at_h_chroma = denoise(image, h=0.4, backend="reference", **common)
    planes = np.concatenate(
        [
            to_opponent(np.moveaxis(at_h, -1, 0))[:1],
            to_opponent(np.moveaxis(at_h_chroma, -1, 0))[1:],
        ]
    )
    expected = np.moveaxis(from_opponent(planes), 0, -1).astype(np.float64)
    expected = np.clip(expected, image.min(axis=(0, 1)), image.max(axis=(0, 1)))
    got = denoise(image, h=0.12, h_chroma=0.4, backend=backend, **common)
    assert got.shape == image.shape and got.dtype == image.dtype
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-4)
    assert np.abs(got - at_h).max() > 1e-3  # chrominance was filtered differently


def test_h_chroma_on_uint8_keeps_dtype_and_range(rng):
    image = rng.integers(0, 256, (10, 9, 3), dtype=np.uint8)
    got = denoise(image, h=8.0, sigma=10.0, h_chroma=30.0, channel_axis=-1, r=2, f=1)
    assert got.dtype == np.uint8 and got.shape == image.shape


@pytest.mark.parametrize("shape, axis", [((8, 9), None), ((8, 9, 4), -1), ((8, 9, 1), -1)])
def test_h_chroma_needs_three_channels(shape, axis):
    with pytest.raises(NLMeansError, match=r"h_chroma=5\.0 needs a 3-channel \(RGB\) image"):
        denoise(np.zeros(shape), h=5.0, h_chroma=5.0, channel_axis=axis)


@pytest.mark.parametrize("value", [0.0, -1.0, float("nan"), "x"])
def test_h_chroma_is_validated(value):
    with pytest.raises(NLMeansError, match="h_chroma="):
        denoise(np.zeros((8, 9, 3)), h=5.0, h_chroma=value, channel_axis=-1)


def opponent_mse(clean, estimate):
    """Per opponent channel MSE of an RGB (H, W, 3) estimate."""
    diff = to_opponent(np.moveaxis(estimate - clean, -1, 0))
    return (diff.astype(np.float64) ** 2).mean(axis=(1, 2))


def test_tune_picks_luminance_and_chrominance_h_near_their_true_minima():
    clean, noisy = colour_scene()
    params, scores = tune(noisy, SIGMA, channel_axis=-1, f=1, r=4, return_scores=True)
    assert params.h_chroma is not None and params.h_chroma > params.h
    # Per-channel true MSE of every scored candidate, from plain RGB runs (weights
    # do not depend on the colour space, so each opponent channel is exact).
    mse = {
        (s.method, s.h): opponent_mse(
            clean, denoise(noisy, s.h, SIGMA, f=1, r=4, method=s.method, channel_axis=-1)
        )
        for s in scores
    }
    for s in scores:
        assert s.sure == pytest.approx(np.mean(s.channel_sure))
    best_pair = min(
        min(m[0] for (meth, _), m in mse.items() if meth == method)
        + min(m[1] + m[2] for (meth, _), m in mse.items() if meth == method)
        for method in ("pixel", "patch")
    )
    best_rgb = min(m.sum() for m in mse.values())
    chosen = denoise(
        noisy, params.h, SIGMA, f=1, r=4, method=params.method,
        h_chroma=params.h_chroma, channel_axis=-1,
    )  # fmt: skip
    chosen_mse = opponent_mse(clean, chosen).sum()
    assert chosen_mse <= 1.03 * best_pair
    assert chosen_mse < 0.9 * best_rgb  # the separate chrominance h pays


def test_tune_keeps_rgb_when_h_is_given_and_gray_has_no_chroma():
    _, noisy = colour_scene(size=64)
    assert tune(noisy, SIGMA, channel_axis=-1, h=15.0, f=1, r=2).h_chroma is None
    fixed = tune(noisy, SIGMA, channel_axis=-1, h_chroma=30.0, f=1, r=2)
    assert fixed.h_chroma == 30.0 and fixed.h != 30.0
    assert tune(noisy[..., 0], SIGMA, f=1, r=2).h_chroma is None


def test_cli_h_chroma_denoises_and_reports(tmp_path):
    _, noisy = colour_scene(size=40)
    source = tmp_path / "colour.png"
    iio.imwrite(source, np.clip(noisy, 0, 255).astype(np.uint8))
    args = ["denoise", str(source), "--h", "10", "--h-chroma", "25", "--r", "3", "--f", "1"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "h=10 h_chroma=25 " in result.output
    expected = denoise(
        iio.imread(source), h=10.0, h_chroma=25.0, r=3, f=1, channel_axis=-1, backend="cpu"
    )
    got = iio.imread(tmp_path / "colour_denoised.png")
    assert np.abs(got.astype(int) - expected).max() <= 1


def test_cli_h_chroma_on_a_gray_file_is_a_clean_error(tmp_path):
    source = tmp_path / "gray.png"
    iio.imwrite(source, np.full((12, 12), 100, np.uint8))
    result = runner.invoke(app, ["denoise", str(source), "--h", "10", "--h-chroma", "25"])
    assert result.exit_code == 2
    assert "h_chroma=25.0 needs a 3-channel (RGB) image" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "gray_denoised.png").exists()


def colour_and_gray_folder(tmp_path, size):
    """(inputs, outputs, the uint8 colour image): colour.png and its green plane as gray.png."""
    inputs, outputs = tmp_path / "in", tmp_path / "out"
    inputs.mkdir()
    _, noisy = colour_scene(size=size)
    colour = np.clip(noisy, 0, 255).astype(np.uint8)
    iio.imwrite(inputs / "colour.png", colour)
    iio.imwrite(inputs / "gray.png", colour[..., 1])
    return inputs, outputs, colour


def test_batch_applies_h_chroma_to_colour_files_only(tmp_path):
    inputs, outputs, colour = colour_and_gray_folder(tmp_path, size=32)
    args = ["batch", str(inputs), str(outputs), "--h", "10", "--h-chroma", "25", "--r", "2"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    common = dict(h=10.0, r=2, backend="cpu")
    expected_colour = nlmeans.denoise(colour, h_chroma=25.0, channel_axis=-1, **common)
    expected_gray = nlmeans.denoise(colour[..., 1], **common)
    assert np.abs(iio.imread(outputs / "colour.png").astype(int) - expected_colour).max() <= 1
    assert np.abs(iio.imread(outputs / "gray.png").astype(int) - expected_gray).max() <= 1


def test_batch_same_params_from_a_colour_image_still_denoises_gray_ones(tmp_path):
    # The first file (colour.png) is tuned with h_chroma; gray.png must not fail on it.
    inputs, outputs, colour = colour_and_gray_folder(tmp_path, size=40)
    args = ["batch", str(inputs), str(outputs), "--tune", "--same-params", "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    params = {Path(item["input"]).name: item["params"] for item in document["files"]}
    assert params["colour.png"]["h_chroma"] is not None
    assert params["gray.png"]["h_chroma"] is None
    assert params["gray.png"]["h"] == params["colour.png"]["h"]
