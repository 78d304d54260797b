"""Shared fixtures: small deterministic images."""

import numpy as np
import pytest


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


def noisy_camera(sigma: float = 20.0, seed: int = 0):
    """skimage's camera (clean, float64) and a float copy with Gaussian noise."""
    from skimage import data

    clean = data.camera().astype(np.float64)
    noisy = clean + np.random.default_rng(seed).normal(0.0, sigma, clean.shape)
    return clean, noisy
