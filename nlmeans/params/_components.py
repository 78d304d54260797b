"""The terms of a combined estimate (``method="combined"``) and their check.

A :class:`Component` is one term, a weight times an NLM estimate (or the
noisy image itself), of the SURE-weighted combinations of
:mod:`nlmeans.sure._combination`; :func:`check_components` validates a
sequence of them.
"""

from __future__ import annotations

from typing import NamedTuple

from ..errors import NLMeansError
from ._checks import (
    MAX_PATCH_RADIUS,
    MAX_SEARCH_RADIUS,
    check_finite_number,
    check_method,
    check_radii,
    check_strength,
)

#: The component of a combination that stands for the noisy image itself.
NOISY = "noisy"

#: Largest absolute weight of a combination's component.
MAX_WEIGHT = 1e3


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


def check_components(components, n_channels: int) -> tuple[Component, ...]:
    """Return the terms of a combined estimate as a tuple of :class:`Component`, or NLMeansError.

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
