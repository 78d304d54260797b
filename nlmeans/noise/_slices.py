"""The 2-D slices of a channel that its noise is measured on."""

from __future__ import annotations

import numpy as np

#: Most 2-D slices of a volume's channel that the noise is measured on.
MAX_SLICES = 16


def sample_slices(channel: np.ndarray, most: int = MAX_SLICES) -> list[np.ndarray]:
    """Return the 2-D slices (last two axes) of one channel that the noise is measured on.

    A 2-D channel is its own slice; a volume or stack gives at most ``most``
    slices evenly spread over its leading axes (white noise has the same σ in
    every slice, and a few of them give a steady estimate).
    """
    if channel.ndim == 2:
        return [channel]
    stack = channel.reshape(-1, *channel.shape[-2:])
    picks = np.unique(np.linspace(0, len(stack) - 1, min(most, len(stack))).round().astype(int))
    return [stack[i] for i in picks]
