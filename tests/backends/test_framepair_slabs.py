"""Slabs of a long time stack keep enough frames for the frame-pair kernel's symmetry."""

import numpy as np

import nlmeans
from nlmeans import _blocks
from nlmeans.backends import reference
from nlmeans.backends.cpu import _framepair


def test_time_stack_slabs_are_at_least_four_temporal_radii_thick(rng, monkeypatch):
    calls = []
    kernel = _framepair.framepair

    def spy(padded, rt, *args, **kwargs):
        calls.append(padded.shape[1] - 2 * rt)  # output frames of this call
        return kernel(padded, rt, *args, **kwargs)

    monkeypatch.setattr(_framepair, "framepair", spy)
    monkeypatch.setattr(_blocks, "SLAB_WORK", 1)  # the work bound alone would cut 1 frame
    frames = rng.random((10, 9, 11), dtype=np.float32)
    f, r = (0, 1, 1), (1, 2, 2)
    out = nlmeans.denoise(frames, 0.3, 0.05, f=f, r=r, backend="cpu")
    assert calls == [4, 4, 2]
    padded = np.pad(frames, [(1, 1), (3, 3), (3, 3)], mode="reflect")[None]
    expected = reference.pixelwise(padded, f, r, 0.05, [0.3])[0, 0]
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-4)
