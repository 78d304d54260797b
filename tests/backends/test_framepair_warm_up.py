"""The CPU backend's warm-up for stacks compiles the frame-pair specialisation real stacks use."""

import numpy as np

from nlmeans._arrays import pad_reflect
from nlmeans.backends import REGISTRY
from nlmeans.backends.cpu import _framepair


def warm_up():
    REGISTRY["cpu"].warm_up("pixel", 1, "uniform", 3)  # what the CLI does for a stack


def test_warm_up_leaves_nothing_to_compile_for_a_real_stack():
    warm_up()
    compiled = set(_framepair._framepair_kernel.signatures)
    assert compiled, "warm_up compiled nothing"
    rng = np.random.default_rng(3)
    frames = rng.random((1, 4, 14, 17), dtype=np.float32)
    padded = pad_reflect(frames, (2, 4, 4))
    out = _framepair.framepair(padded, 2, 1, 3, 0.1, 0.2)
    assert out.shape == frames.shape
    assert set(_framepair._framepair_kernel.signatures) == compiled


def test_warm_up_of_a_motion_run_is_the_same_specialisation():
    warm_up()
    compiled = set(_framepair._framepair_kernel.signatures)
    rng = np.random.default_rng(4)
    frames = rng.random((1, 3, 8, 8), dtype=np.float32)
    margin = 2
    padded = pad_reflect(frames, (1, 2 + 1 + margin, 2 + 1 + margin))
    moves = np.zeros((3, 3, 1, 1, 2), np.int64)
    moves[:, 0, ..., 1] = 1  # every box displaced one column in the previous frame
    out = _framepair.framepair_motion(padded, 1, 1, 2, 0.1, 0.2, moves, 8, margin)
    assert out.shape == frames.shape
    assert set(_framepair._framepair_kernel.signatures) == compiled
