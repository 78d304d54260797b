"""The orthonormal luminance–chrominance (opponent) transform of RGB planes.

Used when a 3-channel image gets its own filtering strength for chrominance
(``Params.h_chroma``). The rows of :data:`OPPONENT` are orthonormal, so the
transform preserves the patch distance d² of the formula (a sum of squares
over the channels), white Gaussian noise of standard deviation σ stays white
with the same σ in every new channel, and the inverse is the transpose. NLM
weights are therefore unchanged by it, and the weighted means commute with it:
with one h for every channel the result is the RGB result. Chrominance is
smoother than luminance and tolerates a larger h; the decorrelating transform
follows the colour BM3D of Dabov, Foi, Katkovnik & Egiazarian (ICIP 2007).
"""

from __future__ import annotations

import numpy as np

#: Luminance (R+G+B)/√3, then chrominance (R−B)/√2 and (R−2G+B)/√6.
OPPONENT = np.array(
    [
        [1 / np.sqrt(3), 1 / np.sqrt(3), 1 / np.sqrt(3)],
        [1 / np.sqrt(2), 0.0, -1 / np.sqrt(2)],
        [1 / np.sqrt(6), -2 / np.sqrt(6), 1 / np.sqrt(6)],
    ],
    dtype=np.float32,
)


def to_opponent(planes: np.ndarray) -> np.ndarray:
    """float32 (3, *S) luminance–chrominance planes of the (3, *S) RGB ``planes``."""
    return np.tensordot(OPPONENT, planes.astype(np.float32, copy=False), axes=1)


def from_opponent(planes: np.ndarray) -> np.ndarray:
    """float32 (3, *S) RGB planes of the (3, *S) luminance–chrominance ``planes``."""
    return np.tensordot(OPPONENT.T, planes.astype(np.float32, copy=False), axes=1)
