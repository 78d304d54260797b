"""The parameter record: validation, units and the presets.

Units: ``h`` and ``sigma`` are in the raw intensity units of the input array;
the radii ``f`` and ``r`` in pixels, one value for every spatial axis or one
per axis. The preset tables of Buades, Coll & Morel (IPOL 2011, 2-D) and
nlmeans' own for volumes are written on the 8-bit scale; ``data_range`` says
which raw value corresponds to 255 there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .errors import NLMeansError

#: Practical ceilings: the cost grows as (2r+1)², so larger values are mistakes.
MAX_PATCH_RADIUS = 50
MAX_SEARCH_RADIUS = 200

#: Largest h and sigma accepted, raw units: the kernels square them in float32,
#: and image values are bounded by the same magnitude.
MAX_STRENGTH = 1e15

#: Noise below this (8-bit units) is treated as this when the presets compute h,
#: so that a clean image gets a small positive h and comes back almost unchanged.
MIN_PRESET_SIGMA_8BIT = 1.0

#: NLM variants: "pixel" is the exact pixelwise formula (README, "The algorithm");
#: "patch" aggregates denoised patches (Buades, Coll & Morel, IPOL 2011, "patchwise").
METHODS = ("pixel", "patch")

#: A SURE-weighted linear combination of NLM estimates and the noisy image
#: (:mod:`nlmeans.sure.combination`); its terms are ``Params.components``.
COMBINED = "combined"

#: The component of a combination that stands for the noisy image itself.
NOISY = "noisy"

#: Largest absolute weight of a combination's component.
MAX_WEIGHT = 1e3

#: Patch distances: "uniform" is the mean over the patch (IPOL 2011); "gaussian" weighs
#: the patch offsets by a normalised Gaussian, σ_k = f_k / 2 per axis (CVPR 2005;
#: :mod:`nlmeans.backends.reference`).
PATCH_KERNELS = ("uniform", "gaussian")

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

#: A radius: one int for every spatial axis, or one per axis (None: resolve that axis).
Radii = int | tuple[int, ...]


class Component(NamedTuple):
    """One term of a combined estimate: ``weight`` times the NLM estimate (method, f, r, h).

    ``method`` is "pixel", "patch" or "noisy" (the noisy image itself; f, r
    and h are then 0). With ``weight_chroma`` set (3-channel images), the
    combination is formed in luminance–chrominance planes: ``weight`` applies
    to the luminance plane of the estimate, ``weight_chroma`` to its two
    chrominance planes.
    """

    method: str
    f: int
    r: int
    h: float
    weight: float
    weight_chroma: float | None = None

    def __str__(self) -> str:
        chroma = "" if self.weight_chroma is None else f"/{self.weight_chroma:+.3f}"
        if self.method == NOISY:
            return f"{self.weight:+.3f}{chroma}·noisy"
        return f"{self.weight:+.3f}{chroma}·{self.method}(f={self.f},r={self.r},h={self.h:.4g})"


@dataclass(frozen=True)
class Params:
    """Resolved non-local means parameters.

    Attributes
    ----------
    f : int or tuple of int
        Patch radius: patches are (2f+1) pixels along every spatial axis (an
        int), or (2f_k+1) along axis k (a tuple, one value per spatial axis).
    r : int or tuple of int
        Search radius: candidates lie in a window of (2r+1) (or 2r_k+1) pixels
        along each spatial axis.
    h : float
        Filtering strength, raw intensity units.
    sigma : float
        Noise standard deviation, raw intensity units.
    sigma_estimated : bool
        True when ``sigma`` came from :func:`estimate_sigma` rather than the caller.
    method : {"pixel", "patch"}
        Pixelwise estimate (the exact formula) or patchwise aggregation (IPOL 2011).
    h_chroma : float or None
        3-channel images only: the filtering strength, raw intensity units, of
        the two chrominance channels of the orthonormal opponent transform
        (:mod:`nlmeans.color`), whose luminance channel uses ``h``. None (the
        default): every RGB channel uses ``h``, the exact formula.
    components : tuple of Component
        ``method="combined"`` only: the terms Σ a_i D_i(u) (+ a_0 u) of the
        SURE-weighted combination (:mod:`nlmeans.sure.combination`); ``f``,
        ``r``, ``h`` (and ``h_chroma``) are then those of its SURE-best single
        estimate, for reporting. Empty otherwise.
    patch_kernel : {"uniform", "gaussian"}
        The patch distance: the mean over the patch (the default), or its
        Gaussian-weighted mean (weights Π_k exp(−j_k² / (2 σ_k²)), σ_k = f_k / 2,
        normalised to sum 1).
    """

    f: Radii
    r: Radii
    h: float
    sigma: float
    sigma_estimated: bool = False
    method: str = "pixel"
    h_chroma: float | None = None
    components: tuple[Component, ...] = ()
    patch_kernel: str = "uniform"


def image_data_range(image: np.ndarray) -> float:
    """The raw value that the 8-bit scale's 255 maps to, for ``image``.

    Integers: the dtype's maximum (255 for uint8, 65535 for uint16). Floats:
    1.0 when the image is essentially within [0, 1] -- its 0.5th and 99.5th
    percentiles lie within [-1, 2], which allows for strong noise overshoot --
    and 255.0 otherwise. Pass ``data_range`` explicitly to override.
    """
    if np.issubdtype(image.dtype, np.integer):
        return float(np.iinfo(image.dtype).max)
    flat = image.reshape(-1)
    step = max(1, flat.size // 1_000_000)  # a strided sample is plenty for percentiles
    sample = flat[::step]
    sample = sample[np.isfinite(sample)]
    if sample.size == 0:
        return 1.0
    lo, hi = np.percentile(sample, [0.5, 99.5])
    return 1.0 if (lo >= -1.0 and hi <= 2.0) else 255.0


def check_finite_number(
    name: str, value, *, minimum: float, strict: bool, maximum: float = math.inf
) -> float:
    """Return ``value`` as float, or raise NLMeansError naming the allowed range."""
    relation = ">" if strict else ">="
    limit = "" if maximum == math.inf else f" and <= {maximum:g}"
    expected = f"expected a finite number {relation} {minimum:g}{limit}"
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise NLMeansError(f"{name}={value!r} is not a number; {expected}") from None
    if (
        not math.isfinite(number)
        or number < minimum
        or (strict and number == minimum)
        or number > maximum
    ):
        raise NLMeansError(f"{name}={value!r} is out of range; {expected}")
    return number


def check_strength(name: str, value, *, strict: bool = True) -> float:
    """``value`` as a valid h (``strict``: > 0) or sigma (>= 0), raw units, or NLMeansError."""
    return check_finite_number(name, value, minimum=0.0, strict=strict, maximum=MAX_STRENGTH)


def check_h_chroma(value, n_channels: int) -> float:
    """Return ``value`` as a valid chrominance h for an image of ``n_channels``, or raise."""
    if n_channels != 3:
        raise NLMeansError(
            f"h_chroma={value!r} needs a 3-channel (RGB) image; this one has "
            f"{n_channels} channel{'s' if n_channels > 1 else ''}"
        )
    return check_strength("h_chroma", value)


def check_method(value, combined: bool = True) -> str:
    """Return ``value`` if it names an NLM method (or ``combined``), or raise NLMeansError."""
    names = (*METHODS, COMBINED) if combined else METHODS
    if not isinstance(value, str) or value not in names:
        raise NLMeansError(f"method={value!r} is unknown; expected one of {', '.join(names)}")
    return value


def check_components(components, n_channels: int) -> tuple[Component, ...]:
    """The terms of a combined estimate as a tuple of :class:`Component`, or NLMeansError.

    Each must name "pixel", "patch" or "noisy", have valid radii and (NLM
    terms) h, and finite weights of magnitude at most :data:`MAX_WEIGHT`;
    ``weight_chroma`` is set on all terms (3-channel images) or on none.
    """
    if isinstance(components, (str, bytes)) or not hasattr(components, "__iter__"):
        raise NLMeansError(f"components={components!r} is not a sequence of components")
    terms = []
    for item in components:
        if not isinstance(item, (tuple, list)):
            raise NLMeansError(
                f"component {item!r} is not (method, f, r, h, weight[, weight_chroma])"
            )
        try:
            term = Component(*item)
        except TypeError:
            raise NLMeansError(
                f"component {item!r} is not (method, f, r, h, weight[, weight_chroma])"
            ) from None
        if term.method != NOISY:
            check_method(term.method, combined=False)
            f = check_radii("f", term.f, MAX_PATCH_RADIUS)
            r = check_radii("r", term.r, MAX_SEARCH_RADIUS)
            h = check_strength("h", term.h)
        else:
            f, r, h = 0, 0, 0.0
        weight = check_finite_number(
            "weight", term.weight, minimum=-MAX_WEIGHT, strict=False, maximum=MAX_WEIGHT
        )
        chroma = term.weight_chroma
        if chroma is not None:
            chroma = check_finite_number(
                "weight_chroma", chroma, minimum=-MAX_WEIGHT, strict=False, maximum=MAX_WEIGHT
            )
        terms.append(Component(term.method, f, r, h, weight, chroma))
    if not any(t.method != NOISY for t in terms):
        raise NLMeansError("a combined estimate needs at least one pixel or patch component")
    with_chroma = {t.weight_chroma is not None for t in terms}
    if len(with_chroma) > 1:
        raise NLMeansError("weight_chroma must be set on every component or on none")
    if with_chroma == {True} and n_channels != 3:
        raise NLMeansError(
            f"components with weight_chroma need a 3-channel (RGB) image; this one has "
            f"{n_channels} channel{'s' if n_channels > 1 else ''}"
        )
    return tuple(terms)


def check_patch_kernel(value) -> str:
    """Return ``value`` if it names a patch kernel, or raise NLMeansError."""
    if not isinstance(value, str) or value not in PATCH_KERNELS:
        raise NLMeansError(
            f"patch_kernel={value!r} is unknown; expected one of {', '.join(PATCH_KERNELS)}"
        )
    return value


def check_radius(name: str, value, maximum: int) -> int:
    """Return ``value`` as int in [0, maximum], or raise NLMeansError."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer, float, np.floating)):
        raise NLMeansError(f"{name}={value!r} is not an integer; expected 0 <= {name} <= {maximum}")
    if isinstance(value, (float, np.floating)) and not float(value).is_integer():
        raise NLMeansError(f"{name}={value!r} is not an integer; expected 0 <= {name} <= {maximum}")
    number = int(value)
    if not 0 <= number <= maximum:
        raise NLMeansError(f"{name}={value!r} is out of range; expected 0 <= {name} <= {maximum}")
    return number


def check_radii(name: str, value, maximum: int, ndim: int | None = None):
    """``value`` as a valid radius: an int, or a tuple of ints (or None) per spatial axis.

    ``ndim`` (when known) is the number of spatial axes a tuple must match.
    Returns an int, or a tuple whose None entries are left for the presets.
    """
    if isinstance(value, str) or not hasattr(value, "__iter__"):
        return check_radius(name, value, maximum)
    values = tuple(value)
    if ndim is not None and len(values) != ndim:
        raise NLMeansError(
            f"{name}={values!r} has {len(values)} values but the image has {ndim} spatial "
            f"axes; give one value per axis, or a single value for all"
        )
    if not values:
        raise NLMeansError(f"{name}=() is empty; give a radius per spatial axis")
    return tuple(None if v is None else check_radius(name, v, maximum) for v in values)


def radii(value: Radii, ndim: int) -> tuple[int, ...]:
    """A resolved radius as one int per spatial axis."""
    if isinstance(value, tuple):
        return value
    return (int(value),) * ndim


def compact(values: tuple[int, ...]) -> Radii:
    """Per-axis radii as one int when they are all equal, else the tuple."""
    return values[0] if len(set(values)) == 1 else tuple(values)


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


def validate(
    *,
    h=None,
    sigma=None,
    f=None,
    r=None,
    method="pixel",
    h_chroma=None,
    ndim=None,
    patch_kernel="uniform",
) -> dict:
    """Check the given parameters without an image; return them normalised.

    Each value that is not None must be in its documented range (``h``,
    ``h_chroma`` > 0, ``sigma`` >= 0, at most :data:`MAX_STRENGTH`; ``f``, ``r`` integers
    within :data:`MAX_PATCH_RADIUS` and :data:`MAX_SEARCH_RADIUS`, or a tuple of them
    with one per spatial axis (``ndim`` of them, when given); ``method`` one of
    :data:`METHODS` or :data:`COMBINED`; ``patch_kernel`` one of :data:`PATCH_KERNELS`),
    else NLMeansError names the parameter, the value and the
    range. Used to refuse bad command-line values before any file is touched;
    ``h_chroma``'s need for three channels is checked by :func:`resolve`.
    """
    return {
        "h": None if h is None else check_strength("h", h),
        "sigma": None if sigma is None else check_strength("sigma", sigma, strict=False),
        "f": None if f is None else check_radii("f", f, MAX_PATCH_RADIUS, ndim),
        "r": None if r is None else check_radii("r", r, MAX_SEARCH_RADIUS, ndim),
        "method": check_method(method),
        "h_chroma": None if h_chroma is None else check_strength("h_chroma", h_chroma),
        "patch_kernel": check_patch_kernel(patch_kernel),
    }


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
) -> Params:
    """Validate the given parameters and fill in the unset ones.

    ``n_channels`` picks the gray or color table and ``ndim`` (spatial axes)
    the 2-D or volume tables. ``estimate`` is a callable returning the noise
    sigma in raw units; it is called only when ``sigma`` is None. A radius
    given per axis with None entries gets the presets on those axes, read
    from the table for that many axes (``f=(0, None, None)`` on a time stack
    compares 2-D patches across frames with the 2-D presets in each frame).
    ``h_chroma`` is never filled in: only :func:`nlmeans.tune` chooses it.
    """
    data_range = check_finite_number("data_range", data_range, minimum=0.0, strict=True)
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
    if h_chroma is not None:
        check_h_chroma(h_chroma, n_channels)
    if given["method"] == COMBINED:
        raise NLMeansError(
            "method='combined' has no presets: its terms are chosen by SURE "
            "(nlmeans.denoise or nlmeans.tune with method='combined')"
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
    preset_f, preset_r, ratio = preset(sigma * scale, n_channels, len(open_axes) or ndim)
    h = given["h"]
    if h is None:
        h = ratio * max(sigma * scale, MIN_PRESET_SIGMA_8BIT) / scale
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
    """A validated radius with its unset axes (or all, for None) given ``default``."""
    if value is None:
        return default
    if isinstance(value, tuple):
        return compact(tuple(default if v is None else v for v in value))
    return value
