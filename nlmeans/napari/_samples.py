"""Sample data for napari: a noisy volume (anisotropic voxels) and a noisy photo.

Both are made from images that ship with scikit-image, with seeded Gaussian
noise, so they need no download.
"""

from __future__ import annotations

import numpy as np

#: Noise standard deviation of both samples, 8-bit units.
SIGMA = 20.0
#: The volume's voxel size (z, y, x): z-steps twice the pixel size.
VOLUME_SCALE = (2.0, 1.0, 1.0)


def _noisy(clean: np.ndarray, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    noisy = clean.astype(np.float32) + rng.normal(0.0, SIGMA, clean.shape).astype(np.float32)
    return np.clip(np.rint(noisy), 0, 255).astype(np.uint8)


def noisy_volume() -> list[tuple]:
    """Make a 32×96×96 uint8 blob volume with noise σ = 20, z-step twice the pixel size.

    scikit-image's ``binary_blobs`` in 64×96×96 isotropic voxels, smoothed a
    little, every other z-plane kept (so the layer's scale is (2, 1, 1)).
    """
    from skimage.data import binary_blobs
    from skimage.filters import gaussian

    blobs = binary_blobs(length=96, n_dim=3, volume_fraction=0.3, rng=1)[:64:2]
    clean = 40 + 160 * gaussian(blobs.astype(np.float32), sigma=1.0)
    data = _noisy(clean, seed=2)
    return [(data, {"name": "noisy volume", "scale": VOLUME_SCALE}, "image")]


def noisy_photo() -> list[tuple]:
    """scikit-image's astronaut (512×512 RGB, uint8) with noise σ = 20."""
    from skimage.data import astronaut

    data = _noisy(astronaut(), seed=3)
    return [(data, {"name": "noisy astronaut", "rgb": True}, "image")]
