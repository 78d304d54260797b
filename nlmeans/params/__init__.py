"""The parameter record: validation, units and the presets.

Units: ``h`` and ``sigma`` are in the raw intensity units of the input array;
the radii ``f`` and ``r`` in pixels, one value for every spatial axis or one
per axis. The preset tables of Buades, Coll & Morel (IPOL 2011, 2-D) and
nlmeans' own for volumes are written on the 8-bit scale; ``data_range`` says
which raw value corresponds to 255 there.

The modules: :mod:`~nlmeans.params._record` (:class:`Params`, radii),
:mod:`~nlmeans.params._checks` (the normalisers: each parameter's accepted
range or names, one message each, :func:`validate` for a set, and the
channel axis and counts such as threads and chunks),
:mod:`~nlmeans.params._bayes_presets` (NL-Bayes' own tables),
:mod:`~nlmeans.params._components` (the terms of ``method="combined"``) and
:mod:`~nlmeans.params._presets` (the tables, :func:`image_data_range`,
:func:`resolve`). Their public names are re-exported here. What the user asked (these
parameters and the rest: noise model, backend, threads, axes, chunks) travels as
one :class:`nlmeans.Request`, checked by these normalisers when made.
"""

from __future__ import annotations

from .._arrays import check_channel_axis, check_channel_axis_type
from ._checks import (
    AUTO,
    BAYES,
    COMBINED,
    MAX_PATCH_RADIUS,
    MAX_SEARCH_RADIUS,
    MAX_STRENGTH,
    METHODS,
    PATCH_KERNELS,
    check_count,
    check_finite_number,
    check_h_chroma,
    check_method,
    check_patch_kernel,
    check_radii,
    check_radius,
    check_strength,
    validate,
)
from ._components import MAX_WEIGHT, NOISY, Component, check_components
from ._presets import (
    MIN_PRESET_SIGMA_8BIT,
    image_data_range,
    preset,
    resolve,
    resolve_checked,
    sigma_floor,
)
from ._record import Params, Radii, compact, radii

__all__ = [
    "AUTO",
    "BAYES",
    "COMBINED",
    "MAX_PATCH_RADIUS",
    "MAX_SEARCH_RADIUS",
    "MAX_STRENGTH",
    "MAX_WEIGHT",
    "METHODS",
    "MIN_PRESET_SIGMA_8BIT",
    "NOISY",
    "PATCH_KERNELS",
    "Component",
    "Params",
    "Radii",
    "check_components",
    "check_channel_axis",
    "check_channel_axis_type",
    "check_count",
    "check_finite_number",
    "check_h_chroma",
    "check_method",
    "check_patch_kernel",
    "check_radii",
    "check_radius",
    "check_strength",
    "compact",
    "image_data_range",
    "preset",
    "radii",
    "resolve",
    "resolve_checked",
    "sigma_floor",
    "validate",
]
