"""The frame-pair kernel of time stacks (nlmeans.backends.cpu._framepair) against the oracle."""

import numpy as np
import pytest
from _support import pad_stack

import nlmeans
from nlmeans.backends import reference
from nlmeans.backends.cpu import _framepair as framepair_module
from nlmeans.backends.cpu._framepair import framepair


def moving_frames(rng, channels, frames, height, width):
    """A ramp that moves one pixel per frame, plus noise: weights spread over (0, 1]."""
    y, x = np.indices((height, width))
    base = np.stack([(y + 2 * (x - t)) / (height + 2 * width) for t in range(frames)])
    noise = 0.15 * rng.standard_normal((channels, frames, height, width))
    return (base[None] * np.arange(1, channels + 1)[:, None, None, None] + noise).astype(np.float32)


@pytest.mark.parametrize(
    "channels, shape, rt, f, r, tile",
    [
        (1, (5, 13, 17), 1, 1, 2, (5, 7)),
        (1, (4, 9, 11), 2, 2, 3, (4, 6)),
        (1, (6, 11, 10), 2, 0, 3, (3, 4)),
        (3, (3, 8, 9), 1, 1, 1, (64, 512)),
        (2, (4, 7, 8), 1, 3, 2, (3, 5)),
        (1, (3, 9, 8), 0, 1, 2, (4, 4)),
        (1, (3, 20, 19), 1, 6, 2, (7, 9)),
    ],
)
def test_frame_pairs_match_the_oracle(rng, channels, shape, rt, f, r, tile):
    frames = moving_frames(rng, channels, *shape)
    padded = pad_stack(frames, (0, f, f), (rt, r, r))  # f_t = 0: r_t in time
    out = framepair(padded, rt, f, r, 0.05, 0.3, tile_rows=tile[0], tile_cols=tile[1])
    expected = reference.pixelwise(padded, (0, f, f), (rt, r, r), 0.05, [0.3])[0]
    assert out.shape == expected.shape == frames.shape
    span = float(frames.max() - frames.min())
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-4 * span)


def test_the_front_door_takes_it_for_time_stacks(rng, monkeypatch):
    calls = []

    def spy(*args, **kwargs):
        calls.append(args[1:4])
        return kernel(*args, **kwargs)

    kernel = framepair_module.framepair
    monkeypatch.setattr(framepair_module, "framepair", spy)
    frames = (255 * np.clip(moving_frames(rng, 1, 5, 12, 14)[0], 0, 1)).astype(np.uint8)
    out = nlmeans.denoise(frames, 20.0, 5.0, f=(0, 1, 1), r=(1, 2, 2), backend="cpu")
    assert calls == [(1, 1, 2)]
    expected = nlmeans.denoise(frames, 20.0, 5.0, f=(0, 1, 1), r=(1, 2, 2), backend="reference")
    assert np.abs(out.astype(int) - expected.astype(int)).max() <= 1
    # Patches that extend in time are not frame pairs: the N-D kernel takes them.
    nlmeans.denoise(frames, 20.0, 5.0, f=(1, 1, 1), r=(1, 2, 2), backend="cpu")
    assert len(calls) == 1
