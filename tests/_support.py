"""Shared inputs of the σ-map / mask / values tests (CPU and CUDA simulator).

Each case: (channels, shape, f, r); values in [0, 1), so 1e-4 of the range is 1e-4.
"""

import numpy as np

#: (channels, spatial shape, f, r) of the mapped-method oracle comparisons.
MAPPED_CASES = [
    (1, (9, 11), (1, 1), (2, 2)),
    (2, (7, 8), (1, 0), (1, 2)),
    (1, (4, 5, 6), (1, 1, 0), (1, 1, 2)),
    (1, (3, 4), (2, 2), (3, 3)),  # smaller than the patch and the window
]


def mapped_inputs(rng, n_channels, shape, f, r, *, with_map, with_mask, with_values):
    """(guide, values, sigma_map, mask) padded alike for the pixelwise method."""
    widths = [(fk + rk, fk + rk) for fk, rk in zip(f, r, strict=True)]
    image = rng.random((n_channels, *shape)).astype(np.float32)
    guide = np.pad(image, [(0, 0), *widths], mode="reflect")
    values = np.square(guide) if with_values else None
    sigma_map = np.pad(0.03 + 0.2 * rng.random(shape), widths, mode="reflect") if with_map else None
    mask = np.pad(rng.random(shape) > 0.4, widths, mode="reflect") if with_mask else None
    return guide, values, sigma_map, mask
