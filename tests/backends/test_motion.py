"""Motion-compensated search on time stacks: the oracle, the CPU kernel, the displacements
and the front door."""

import numpy as np
import pytest
from _support import motion_case

import nlmeans
from nlmeans.backends import REGISTRY, reference
from nlmeans.backends._motion import displacements
from nlmeans.errors import NLMeansError

MOTION_CASES = [
    # channels, frames, height, width, rt, f, r, block, margin
    (1, 4, 14, 17, 1, 1, 2, 5, 3),
    (1, 5, 11, 9, 2, 2, 1, 4, 2),
    (3, 3, 9, 10, 1, 1, 1, 3, 2),
    (2, 4, 8, 12, 1, 0, 2, 6, 4),
]


@pytest.mark.parametrize("case", MOTION_CASES)
def test_cpu_motion_kernel_matches_the_oracle(rng, case):
    channels, frames, height, width, rt, f, r, block, margin = case
    padded, moves = motion_case(rng, *case)
    args = ((0, f, f), (rt, r, r), 0.05, 0.3, moves, block, margin)
    expected = reference.motion_pixelwise(padded, *args)
    out = REGISTRY["cpu"].motion(padded, *args)
    assert out.shape == expected.shape == (channels, frames, height, width)
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-4)


def test_undisplaced_boxes_give_the_static_estimate(rng):
    padded, moves = motion_case(rng, 1, 4, 10, 11, 1, 1, 2, 4, 3)
    still = np.zeros_like(moves)
    inner = padded[:, :, 3:-3, 3:-3]  # the static padding r + f
    static = reference.pixelwise(inner, (0, 1, 1), (1, 2, 2), 0.05, [0.3])[0]
    args = ((0, 1, 1), (1, 2, 2), 0.05, 0.3, still, 4, 3)
    np.testing.assert_allclose(reference.motion_pixelwise(padded, *args), static, atol=1e-6)
    np.testing.assert_allclose(REGISTRY["cpu"].motion(padded, *args), static, atol=1e-4)
    moved = reference.motion_pixelwise(padded, (0, 1, 1), (1, 2, 2), 0.05, 0.3, moves, 4, 3)
    assert np.abs(moved - static).max() > 1e-3  # the displacements do move the boxes


def panning(rng, frames, speed, sigma, size=96):
    """(clean, noisy) uint8 frames of a random texture panning ``speed`` px/frame to the right."""
    from scipy import ndimage

    width = size + speed * frames
    scene = ndimage.gaussian_filter(rng.random((size, width)), 1.5)
    scene = 30 + 195 * (scene - scene.min()) / (scene.max() - scene.min())
    starts = [speed * (frames - t) for t in range(frames)]
    clean = np.stack([scene[:, s : s + size] for s in starts])
    noisy = clean + rng.normal(0, sigma, clean.shape)
    return clean, np.clip(np.rint(noisy), 0, 255).astype(np.uint8)


def test_displacements_follow_a_pan_and_stay_still_on_a_static_scene(rng):
    clean, noisy = panning(rng, 5, 5, 10.0)
    gray = np.pad(noisy.astype(np.float32), [(2, 2), (0, 0), (0, 0)], mode="reflect")
    moves = displacements(gray, 2, 32, 16, 2 * 10.0**2)
    # Frame t shows the scene moved 5 px right of frame t − 1: frame t + k holds p at x + 5k.
    assert np.array_equal(moves[2, :, 1, 1], [[0, -10], [0, -5], [0, 0], [0, 5], [0, 10]])
    static = np.stack([noisy[0]] * 5).astype(np.float32)
    static += rng.normal(0, 10, static.shape).astype(np.float32)
    gray = np.pad(static, [(2, 2), (0, 0), (0, 0)], mode="reflect")
    assert not displacements(gray, 2, 32, 16, 2 * (2 * 10.0**2)).any()


def test_motion_beats_the_static_window_on_a_pan(rng):
    clean, noisy = panning(rng, 5, 6, 20.0)
    options = dict(f=(0, 2, 2), r=(2, 4, 4), backend="cpu")
    still = nlmeans.denoise(noisy, 10.0, 20.0, **options)
    moving = nlmeans.denoise(noisy, 10.0, 20.0, motion=True, **options)

    def psnr(a):
        return 10 * np.log10(255**2 / np.mean((a.astype(float) - clean) ** 2))

    assert psnr(moving) > psnr(still) + 1.0


def test_motion_refuses_what_it_does_not_compute(rng):
    frames = rng.integers(0, 255, (4, 12, 12), dtype=np.uint8)
    with pytest.raises(NLMeansError, match="2-D patches"):
        nlmeans.denoise(frames, 20.0, 5.0, f=(1, 1, 1), r=(1, 2, 2), motion=True)
    with pytest.raises(NLMeansError, match="time stack"):
        nlmeans.denoise(frames[0], 20.0, 5.0, f=1, r=2, motion=True)
    with pytest.raises(NLMeansError, match="tune"):
        nlmeans.denoise(frames, sigma=5.0, f=(0, 1, 1), r=(1, 2, 2), motion=True, tune=True)


def test_cli_motion_on_a_time_lapse(tmp_path, rng):
    import tifffile
    from typer.testing import CliRunner

    from nlmeans.cli import app

    _, stack = panning(rng, 4, 4, 15.0, size=40)
    tifffile.imwrite(tmp_path / "t.tif", stack, imagej=True, metadata={"axes": "TYX"})
    args = ["denoise", str(tmp_path / "t.tif"), "--h", "12", "--sigma", "15", "--motion"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    expected = nlmeans.denoise(stack, 12.0, 15.0, f=(0, None, None), r=(2, None, None), motion=True)
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "t_denoised.tif"), expected)
    # A single image has no neighbour frames: one error line, nothing written.
    tifffile.imwrite(tmp_path / "one.tif", stack[0])
    refused = CliRunner().invoke(app, ["denoise", str(tmp_path / "one.tif"), "--motion"])
    assert refused.exit_code == 2 and "time stack" in refused.stderr
    assert not (tmp_path / "one_denoised.tif").exists()
