"""Resolving parameters: the given values, the rest from the noise estimate and the presets.

:func:`resolve_params` (``nlmeans.resolve_params``) takes keywords,
:func:`resolve_request` a :class:`~nlmeans.Request`; both end in
:func:`resolve_planes`, which :func:`nlmeans.denoise` runs when nothing is tuned.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ._arrays import check_image, to_channels_first
from ._request import DEFAULT_METHOD, Request
from .noise import estimate_sigma
from .params import (
    COMBINED,
    Params,
    check_components,
    image_data_range,
    resolve_checked,
    sigma_floor,
)


def resolve_params(
    image: np.ndarray,
    h: float | None = None,
    sigma: float | None = None,
    *,
    f=None,
    r=None,
    channel_axis: int | None = None,
    data_range: float | None = None,
    method: str = "pixel",
    h_chroma: float | None = None,
    patch_kernel: str = "uniform",
) -> Params:
    """Resolve the non-local means parameters for ``image``.

    Parameters left as None are resolved from the image: ``sigma`` by
    :func:`estimate_sigma`, then ``f``, ``r`` and ``h`` from the presets:
    in 2-D those of Buades, Coll & Morel, "Non-Local Means Denoising", IPOL
    2011 (gray or color table by channel count), for volumes nlmeans' own
    (README, "Parameters and units"); sigma is read on the 8-bit scale via
    ``data_range``.

    Parameters
    ----------
    image : ndarray
        uint8, uint16, float32 or float64, with 2, 3 or 4 spatial axes, and a
        channel axis where ``channel_axis`` says.
    h : float, optional
        Filtering strength in raw intensity units, > 0.
    sigma : float, optional
        Noise standard deviation in raw intensity units, >= 0.
    f : int or tuple of int, optional
        Patch radius (patch side 2f+1), 0 <= f <= 50: one value for every
        spatial axis, or one per axis (None entries take the presets).
    r : int or tuple of int, optional
        Search radius (window side 2r+1), 0 <= r <= 200, likewise.
    channel_axis : int, optional
        Axis of the channels; None when every axis is spatial (gray).
    data_range : float, optional
        Raw value corresponding to 255 on the 8-bit scale of the presets;
        default from :func:`nlmeans.params.image_data_range`.
    method : {"pixel", "patch"}
        Pixelwise NLM (the exact formula) or patchwise aggregation (IPOL 2011).
    h_chroma : float, optional
        3-channel images: filter the luminance–chrominance planes
        (:mod:`nlmeans._color`), luminance with ``h`` and chrominance with
        ``h_chroma`` (raw intensity units, > 0). Default: RGB, ``h`` throughout.
    patch_kernel : {"uniform", "gaussian"}
        The patch distance: the mean over the patch (IPOL 2011), or the
        Gaussian-weighted mean (CVPR 2005; σ_k = f_k / 2 per axis, weights
        normalised to sum 1; :mod:`nlmeans.backends.reference`).

    Returns
    -------
    Params
        The frozen record ``Params(f, r, h, sigma, sigma_estimated, method, h_chroma,
        patch_kernel)``.
    """
    request = Request(
        h=h, sigma=sigma, f=f, r=r, channel_axis=channel_axis, data_range=data_range,
        method=method, h_chroma=h_chroma, patch_kernel=patch_kernel,
    )  # fmt: skip
    return resolve_request(image, request)


def resolve_request(image: np.ndarray, request: Request) -> Params:
    """Return the Params of ``request`` for ``image``: the given values, the rest from the presets.

    :func:`resolve_params` with the choices of a :class:`~nlmeans.Request`
    (its ``channel_axis`` an axis or None).
    """
    image = check_image(image)
    return resolve_planes(image, to_channels_first(image, request.channel_axis), request)


def resolve_planes(image, planes, request: Request) -> Params:
    """Return the Params of ``request`` for ``image`` (channels first: ``planes``), the presets.

    The request's values were checked when it was made: only what needs the
    image is checked here (:func:`nlmeans.params.resolve_checked`).
    """
    q = request
    combination = bool(q.components)  # a combination's fixed terms (Request.with_params)
    data_range = image_data_range(image) if q.data_range is None else q.data_range
    params = resolve_checked(
        planes.shape[0],
        h=q.h,
        sigma=q.sigma,
        f=q.f,
        r=q.r,
        data_range=data_range,
        estimate=lambda: estimate_sigma(image, channel_axis=q.channel_axis),
        method=DEFAULT_METHOD if combination else q.method or DEFAULT_METHOD,
        h_chroma=q.h_chroma,
        ndim=planes.ndim - 1,
        patch_kernel=q.patch_kernel,
        sigma_floor=sigma_floor(image, data_range),
    )
    if not combination:
        return params
    components = check_components(q.components, planes.shape[0])
    return replace(params, method=COMBINED, components=components)
