"""Validation of the parameters: the accepted ranges and names, and their checks.

Each check returns the value normalised or raises NLMeansError naming the
parameter, the value and the range; :func:`validate` checks a whole set
without an image (the command line does so before any file is touched).
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import NLMeansError

#: Practical ceilings: the cost grows as (2r+1)², so larger values are mistakes.
MAX_PATCH_RADIUS = 50
MAX_SEARCH_RADIUS = 200

#: Largest h and sigma accepted, raw units: the kernels square them in float32,
#: and image values are bounded by the same magnitude.
MAX_STRENGTH = 1e15


#: NLM variants: "pixel" is the exact pixelwise formula (README, "The algorithm");
#: "patch" aggregates denoised patches (Buades, Coll & Morel, IPOL 2011, "patchwise").
METHODS = ("pixel", "patch")

#: NL-Bayes (Lebrun, Buades & Morel 2013): the Bayesian estimate of groups of
#: similar patches, in two steps; a method of its own beside the NLM ones.
BAYES = "bayes"

#: A SURE-weighted linear combination of NLM estimates and the noisy image
#: (:mod:`nlmeans.sure._combination`); its terms are ``Params.components``.
COMBINED = "combined"

#: SURE chooses between the NLM search's result and NL-Bayes (:mod:`nlmeans.sure._choice`).
AUTO = "auto"


#: Patch distances: "uniform" is the mean over the patch (IPOL 2011); "gaussian" weighs
#: the patch offsets by a normalised Gaussian, σ_k = f_k / 2 per axis (CVPR 2005;
#: :mod:`nlmeans.backends.reference`).
PATCH_KERNELS = ("uniform", "gaussian")


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
    """Return ``value`` if it names a method, or raise NLMeansError.

    An NLM method, or with ``combined`` also ``bayes``, ``combined`` and ``auto``
    (the terms of a combination are NLM estimates only).
    """
    names = (*METHODS, BAYES, COMBINED, AUTO) if combined else METHODS
    if not isinstance(value, str) or value not in names:
        raise NLMeansError(f"method={value!r} is unknown; expected one of {', '.join(names)}")
    return value


def check_patch_kernel(value) -> str:
    """Return ``value`` if it names a patch kernel, or raise NLMeansError."""
    if not isinstance(value, str) or value not in PATCH_KERNELS:
        raise NLMeansError(
            f"patch_kernel={value!r} is unknown; expected one of {', '.join(PATCH_KERNELS)}"
        )
    return value


def check_count(name: str, value) -> int:
    """Return ``value``, an integer >= 1 (a float or a string is refused, never converted)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise NLMeansError(f"{name}={value!r} is out of range; expected an integer >= 1")
    return int(value)


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


def check_axis_count(name: str, value, ndim: int):
    """Return ``value``, a radius, if it is one int or a tuple of ``ndim`` values, else raise."""
    if isinstance(value, tuple) and len(value) != ndim:
        raise NLMeansError(
            f"{name}={value!r} has {len(value)} values but the image has {ndim} spatial "
            f"axes; give one value per axis, or a single value for all"
        )
    return value


def check_radii(name: str, value, maximum: int, ndim: int | None = None):
    """``value`` as a valid radius: an int, or a tuple of ints (or None) per spatial axis.

    ``ndim`` (when known) is the number of spatial axes a tuple must match.
    Returns an int, or a tuple whose None entries are left for the presets.
    """
    if isinstance(value, str) or not hasattr(value, "__iter__"):
        return check_radius(name, value, maximum)
    values = tuple(value)
    if ndim is not None:
        check_axis_count(name, values, ndim)
    if not values:
        raise NLMeansError(f"{name}=() is empty; give a radius per spatial axis")
    return tuple(None if v is None else check_radius(name, v, maximum) for v in values)


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
    :data:`METHODS`, :data:`BAYES`, :data:`COMBINED` or :data:`AUTO`, which takes
    none of ``h``, ``f``, ``r``, ``h_chroma``; ``patch_kernel`` one of
    :data:`PATCH_KERNELS`),
    else NLMeansError names the parameter, the value and the
    range. Used to refuse bad command-line values before any file is touched;
    ``h_chroma``'s need for three channels is checked by :func:`resolve`.
    """
    if method == AUTO and any(v is not None for v in (h, f, r, h_chroma)):
        fixed = [k for k, v in dict(h=h, f=f, r=r, h_chroma=h_chroma).items() if v is not None]
        raise NLMeansError(
            f"method='auto' chooses {', '.join(fixed)} by SURE; give method='pixel', 'patch' "
            "or 'bayes' to fix them"
        )
    if method == BAYES and h_chroma is not None:
        raise NLMeansError(
            "h_chroma is not available with method='bayes': NL-Bayes filters colour in its own "
            "luminance-chrominance planes with one h"
        )
    return {
        "h": None if h is None else check_strength("h", h),
        "sigma": None if sigma is None else check_strength("sigma", sigma, strict=False),
        "f": None if f is None else check_radii("f", f, MAX_PATCH_RADIUS, ndim),
        "r": None if r is None else check_radii("r", r, MAX_SEARCH_RADIUS, ndim),
        "method": check_method(method),
        "h_chroma": None if h_chroma is None else check_strength("h_chroma", h_chroma),
        "patch_kernel": check_patch_kernel(patch_kernel),
    }
