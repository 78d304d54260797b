"""Noise models: the names, the Poisson-Gaussian record, and its resolution from the image."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import NLMeansError
from ._anscombe import exact_unbiased_inverse, forward
from ._poisson_fit import estimate_poisson_gaussian

GAUSSIAN = "gaussian"
POISSON_GAUSSIAN = "poisson-gaussian"
RICIAN = "rician"
#: The noise models nlmeans.denoise takes (Rician: :mod:`nlmeans._rician`).
NOISE_MODELS = (GAUSSIAN, POISSON_GAUSSIAN, RICIAN)


@dataclass(frozen=True)
class PoissonGaussian:
    """z = gain·P(y / gain) + N(offset, read_noise²), raw intensity units.

    Attributes
    ----------
    gain, read_noise, offset : float
        a > 0, σ_r ≥ 0 and μ.
    estimated : tuple of str
        The names among them that were estimated from the image.
    """

    gain: float
    read_noise: float
    offset: float
    estimated: tuple[str, ...] = ()

    def describe(self) -> str:
        """One line: ``noise=poisson-gaussian gain=… read_noise=… offset=…`` (estimated marked)."""
        parts = []
        for name in ("gain", "read_noise", "offset"):
            mark = " (estimated)" if name in self.estimated else ""
            parts.append(f"{name}={getattr(self, name):.4g}{mark}")
        return f"noise={POISSON_GAUSSIAN} " + " ".join(parts)

    def stabilize(self, values: np.ndarray) -> np.ndarray:
        """Apply the generalized Anscombe transform to raw ``values`` (float32, unit variance)."""
        return forward(values, self.gain, self.read_noise, self.offset).astype(np.float32)

    def invert(self, values: np.ndarray) -> np.ndarray:
        """Raw values (float32) from denoised transformed ones: the exact unbiased inverse."""
        raw = exact_unbiased_inverse(values, self.gain, self.read_noise, self.offset)
        return raw.astype(np.float32)


def check_noise(noise: str, gain, read_noise, offset) -> str:
    """``noise`` checked, and gain/read_noise/offset refused without the Poisson-Gaussian model."""
    if noise not in NOISE_MODELS:
        raise NLMeansError(f"noise={noise!r} is not one of {', '.join(NOISE_MODELS)}")
    given = [n for n, v in (("gain", gain), ("read_noise", read_noise), ("offset", offset))
             if v is not None]  # fmt: skip
    if noise != POISSON_GAUSSIAN and given:
        verb = "applies" if len(given) == 1 else "apply"
        raise NLMeansError(f"{', '.join(given)} {verb} to noise='{POISSON_GAUSSIAN}' only")
    for name, value, low in (("gain", gain, 0.0), ("read_noise", read_noise, 0.0)):
        if value is None:
            continue
        ok = isinstance(value, int | float | np.number) and math.isfinite(value)
        if not ok or value < low or (name == "gain" and value == 0):
            bound = "> 0" if name == "gain" else ">= 0"
            raise NLMeansError(
                f"{name}={value!r} is out of range; expected a finite number {bound}"
            )
    if offset is not None and not (
        isinstance(offset, int | float | np.number) and math.isfinite(offset)
    ):
        raise NLMeansError(f"offset={offset!r} is out of range; expected a finite number")
    return noise


def resolve_poisson_gaussian(planes: np.ndarray, gain=None, read_noise=None, offset=None):
    """Return the :class:`PoissonGaussian` of channels-first ``planes``, the missing values fitted.

    The fit (:func:`nlmeans.noise._poisson_fit.estimate_poisson_gaussian`) runs
    only when gain or read noise is missing; an unset offset is 0 unless the fit
    finds it must be larger.
    """
    if gain is not None and read_noise is not None:
        return PoissonGaussian(float(gain), float(read_noise), float(offset or 0.0))
    a, s, mu = estimate_poisson_gaussian(planes, offset, gain)
    estimated = tuple(
        name for name, value in (("gain", gain), ("read_noise", read_noise)) if value is None
    )
    if read_noise is not None:
        s = float(read_noise)
    if offset is None and mu != 0.0:
        estimated += ("offset",)
    return PoissonGaussian(float(a), float(s), float(mu), estimated)
