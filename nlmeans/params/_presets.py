"""The presets and units: the tables (2-D and volumes), the data range, :func:`resolve`.

The preset tables of Buades, Coll & Morel (IPOL 2011, 2-D) and nlmeans' own
for volumes are written on the 8-bit scale; ``data_range``
(:func:`image_data_range` by default) says which raw value corresponds to 255
there. :func:`resolve` validates the given parameters and fills in the unset
ones from the tables.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import NLMeansError
from ._bayes_presets import bayes_preset
from ._checks import (
    AUTO,
    BAYES,
    COMBINED,
    check_axis_count,
    check_finite_number,
    check_h_chroma,
    validate,
)
from ._record import Params, Radii, compact

#: Noise below this (8-bit units) is treated as this when the presets compute h,
#: so that a clean image gets a small positive h and comes back almost unchanged;
#: on an integer image, at most one step of its values (:func:`sigma_floor`).
MIN_PRESET_SIGMA_8BIT = 1.0


# IPOL 2011 tables: (upper sigma bound on the 8-bit scale, f, r, h / sigma).
_GRAY_PRESETS = (
    (15.0, 1, 10, 0.40),
    (30.0, 2, 10, 0.40),
    (45.0, 3, 17, 0.35),
    (75.0, 4, 17, 0.35),
    (100.0, 5, 17, 0.30),
)
_COLOR_PRESETS = (
    (25.0, 1, 10, 0.55),
    (55.0, 2, 17, 0.40),
    (100.0, 3, 17, 0.35),
)
# Volumes (3 spatial axes) and 4-D stacks: patch 3³ (27 voxels, about a 5×5
# patch's worth; 5³ did worse at every σ) and a search window of 7³ or 5⁴
# candidates, whose cost stays near the 2-D presets'; h / sigma from nlmeans'
# volume evaluation (benchmarks/quality_volume.py: best 0.8–1.0 on a textured
# blob volume, 0.4–0.6 on a natural-image stack).
_VOLUME_PRESETS = (
    (30.0, 1, 3, 0.70),
    (100.0, 1, 3, 0.60),
)
_STACK_4D_PRESETS = (
    (30.0, 1, 2, 0.70),
    (100.0, 1, 2, 0.60),
)


def image_data_range(image: np.ndarray) -> float:
    """Return the raw value that the 8-bit scale's 255 maps to, for ``image``.

    Integers: the dtype's maximum (255 for uint8, 65535 for uint16). Floats:
    1.0 when the image is essentially within [0, 1] -- at most 0.5 % of its
    finite values below -1 and at most 0.5 % above 2, which allows for strong
    noise overshoot -- and 255.0 otherwise. Pass ``data_range`` explicitly to
    override.
    """
    if np.issubdtype(image.dtype, np.integer):
        return float(np.iinfo(image.dtype).max)
    flat = image.reshape(-1)
    step = max(1, flat.size // 1_000_000)  # a strided sample is plenty for the tails
    sample = flat[::step]
    finite = np.isfinite(sample)
    if not finite.all():
        sample = sample[finite]
    if sample.size == 0:
        return 1.0
    # Counts, not percentiles: two passes instead of a partial sort.
    tail = 0.005 * sample.size
    below, above = np.count_nonzero(sample < -1.0), np.count_nonzero(sample > 2.0)
    return 1.0 if (below <= tail and above <= tail) else 255.0


def sigma_floor(image: np.ndarray, data_range: float) -> float:
    """Return the σ (raw units) below which the presets compute h as if σ were this.

    :data:`MIN_PRESET_SIGMA_8BIT` on the 8-bit scale of ``data_range``, and at
    most 1 (one step of the values) for an integer image: a 12-bit camera's
    image in uint16 has a data range of 65535, whose 8-bit level is 257 raw
    units, far above its noise (h from it smoothed such an image with σ = 20
    to 6.6 dB below the noisy input).
    """
    floor = MIN_PRESET_SIGMA_8BIT * float(data_range) / 255.0
    if np.issubdtype(image.dtype, np.integer):  # the dtype only: a Dask array stays lazy
        floor = min(floor, 1.0)
    return floor


def preset(sigma_8bit: float, n_channels: int, ndim: int = 2) -> tuple[int, int, float]:
    """Preset ``(f, r, h / sigma)`` for noise ``sigma_8bit`` (8-bit scale) and ``ndim`` axes.

    In 2-D (and 1-D) the IPOL 2011 tables: gray for one channel, color for
    more. With 3 or 4 spatial axes, nlmeans' volume tables. Above the last
    bound (sigma = 100) the last row applies.
    """
    if ndim >= 4:
        table = _STACK_4D_PRESETS
    elif ndim == 3:
        table = _VOLUME_PRESETS
    else:
        table = _GRAY_PRESETS if n_channels == 1 else _COLOR_PRESETS
    for bound, f, r, ratio in table:
        if sigma_8bit <= bound:
            return f, r, ratio
    _, f, r, ratio = table[-1]
    return f, r, ratio


def resolve(
    n_channels: int,
    *,
    h=None,
    sigma=None,
    f=None,
    r=None,
    data_range: float,
    estimate=None,
    method: str = "pixel",
    h_chroma=None,
    ndim: int = 2,
    patch_kernel: str = "uniform",
    sigma_floor: float | None = None,
) -> Params:
    """Validate the given parameters and fill in the unset ones.

    ``n_channels`` picks the gray or color table and ``ndim`` (spatial axes)
    the 2-D or volume tables. ``estimate`` is a callable returning the noise
    sigma in raw units; it is called only when ``sigma`` is None. A radius
    given per axis with None entries gets the presets on those axes, read
    from the table for that many axes (``f=(0, None, None)`` on a time stack
    compares 2-D patches across frames with the 2-D presets in each frame).
    ``h_chroma`` is never filled in: only :func:`nlmeans.tune` chooses it.
    ``sigma_floor`` (raw units): see :func:`resolve_checked`.
    """
    given = validate(
        h=h,
        sigma=sigma,
        f=f,
        r=r,
        method=method,
        h_chroma=h_chroma,
        ndim=ndim,
        patch_kernel=patch_kernel,
    )
    return resolve_checked(
        n_channels, **given, data_range=data_range, estimate=estimate, ndim=ndim,
        sigma_floor=sigma_floor,
    )  # fmt: skip


def resolve_checked(
    n_channels: int,
    *,
    h,
    sigma,
    f,
    r,
    data_range: float,
    estimate,
    method: str,
    h_chroma,
    ndim: int,
    patch_kernel: str,
    sigma_floor: float | None = None,
) -> Params:
    """Fill in the unset parameters of values :func:`validate` has already checked.

    :func:`resolve` without its checks: what the values could not be checked
    against before the image was known is checked here (a radius tuple's length
    against ``ndim``, ``h_chroma``'s three channels, the data range).

    Parameters
    ----------
    n_channels : int
        The image's channels (the gray or color presets).
    h, sigma, f, r, method, h_chroma, patch_kernel
        As :func:`validate` returned them (None: unset).
    data_range : float
        Raw value corresponding to 255 on the 8-bit scale of the presets.
    estimate : callable
        Returns the noise sigma in raw units; called only when ``sigma`` is None.
    ndim : int
        The image's spatial axes.
    sigma_floor : float, optional
        The σ (raw units) below which h is computed as if σ were this
        (:func:`sigma_floor` of the image); by default
        :data:`MIN_PRESET_SIGMA_8BIT` on the 8-bit scale of ``data_range``.

    Returns
    -------
    Params
        The resolved parameters.
    """
    data_range = check_finite_number("data_range", data_range, minimum=0.0, strict=True)
    given = dict(
        h=h,
        sigma=sigma,
        f=None if f is None else check_axis_count("f", f, ndim),
        r=None if r is None else check_axis_count("r", r, ndim),
        method=method,
        h_chroma=h_chroma,
        patch_kernel=patch_kernel,
    )
    if h_chroma is not None:
        check_h_chroma(h_chroma, n_channels)
    if given["method"] in (COMBINED, AUTO):
        raise NLMeansError(
            f"method={given['method']!r} has no presets: SURE chooses it "
            f"(nlmeans.denoise or nlmeans.tune with method={given['method']!r})"
        )
    sigma_estimated = given["sigma"] is None
    if sigma_estimated:
        sigma = float(estimate())
        if not math.isfinite(sigma) or sigma < 0:
            sigma = 0.0
    else:
        sigma = given["sigma"]

    scale = 255.0 / data_range
    # The presets of the axes left open (every axis when f and r are unset).
    open_axes = [
        k
        for k in range(ndim)
        if any(
            v is None or (isinstance(v, tuple) and v[k] is None) for v in (given["f"], given["r"])
        )
    ]
    if given["method"] == BAYES:
        preset_f, preset_r, ratio = bayes_preset(sigma * scale, len(open_axes) or ndim, n_channels)
    else:
        preset_f, preset_r, ratio = preset(sigma * scale, n_channels, len(open_axes) or ndim)
    h = given["h"]
    if h is None:
        if sigma_floor is None:
            sigma_floor = MIN_PRESET_SIGMA_8BIT / scale
        h = ratio * max(sigma, sigma_floor)
    return Params(
        f=_filled(given["f"], preset_f, ndim),
        r=_filled(given["r"], preset_r, ndim),
        h=float(h),
        sigma=float(sigma),
        sigma_estimated=sigma_estimated,
        method=given["method"],
        h_chroma=given["h_chroma"],
        patch_kernel=given["patch_kernel"],
    )


def _filled(value, default: int, ndim: int) -> Radii:
    """Return a validated radius with its unset axes (or all, for None) given ``default``."""
    if value is None:
        return default
    if isinstance(value, tuple):
        return compact(tuple(default if v is None else v for v in value))
    return value
