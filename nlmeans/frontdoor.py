"""The front door: arrays in, arrays out.

check → resolve (or tune) → pad → dispatch to a backend → cast. The command
line, batch, evaluation and the tuner all denoise through :func:`denoise`.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .arrays import (
    check_image,
    float_bounds,
    from_channels_first,
    pad_reflect,
    to_channels_first,
    to_dtype,
)
from .backends import padding, select
from .color import from_opponent, to_opponent
from .errors import NLMeansError
from .memory import check_denoise_memory
from .noise import estimate_sigma
from .params import COMBINED, Params, check_components, image_data_range, resolve
from .sure import combined_estimate
from .sure import tune as tune_params


def resolve_params(
    image: np.ndarray,
    h: float | None = None,
    sigma: float | None = None,
    *,
    f: int | None = None,
    r: int | None = None,
    channel_axis: int | None = None,
    data_range: float | None = None,
    method: str = "pixel",
    h_chroma: float | None = None,
) -> Params:
    """Resolve the non-local means parameters for ``image``.

    Parameters left as None are resolved from the image: ``sigma`` by
    :func:`estimate_sigma`, then ``f``, ``r`` and ``h`` from the presets of
    Buades, Coll & Morel, "Non-Local Means Denoising", IPOL 2011 (gray or color
    table by channel count; sigma read on the 8-bit scale via ``data_range``).

    Parameters
    ----------
    image : ndarray
        uint8, uint16, float32 or float64; 2-D gray, or 3-D with ``channel_axis``.
    h : float, optional
        Filtering strength in raw intensity units, > 0.
    sigma : float, optional
        Noise standard deviation in raw intensity units, >= 0.
    f : int, optional
        Patch radius (patch side 2f+1), 0 <= f <= 50.
    r : int, optional
        Search radius (window side 2r+1), 0 <= r <= 200.
    channel_axis : int, optional
        Axis of the channels; None for a gray image.
    data_range : float, optional
        Raw value corresponding to 255 on the 8-bit scale of the presets;
        default from :func:`nlmeans.params.image_data_range`.
    method : {"pixel", "patch"}
        Pixelwise NLM (the exact formula) or patchwise aggregation (IPOL 2011).
    h_chroma : float, optional
        3-channel images: filter the luminance–chrominance planes
        (:mod:`nlmeans.color`), luminance with ``h`` and chrominance with
        ``h_chroma`` (raw intensity units, > 0). Default: RGB, ``h`` throughout.

    Returns
    -------
    Params
        The frozen record ``Params(f, r, h, sigma, sigma_estimated, method, h_chroma)``.
    """
    image = check_image(image)
    planes = to_channels_first(image, channel_axis)
    return _resolve_planes(
        image, planes, h, sigma, f, r, channel_axis, data_range, method, h_chroma
    )


def _resolve_planes(
    image, planes, h, sigma, f, r, channel_axis, data_range, method, h_chroma
) -> Params:
    if data_range is None:
        data_range = image_data_range(image)
    return resolve(
        planes.shape[0],
        h=h,
        sigma=sigma,
        f=f,
        r=r,
        data_range=data_range,
        estimate=lambda: estimate_sigma(image, channel_axis=channel_axis),
        method=method,
        h_chroma=h_chroma,
    )


def estimate_planes(backend, planes: np.ndarray, params: Params) -> np.ndarray:
    """float32 (C, H, W) NLM estimate of ``planes`` on ``backend`` with ``params``.

    With ``params.h_chroma`` the 3 planes are filtered in the opponent space,
    luminance with h and chrominance with h_chroma (one kernel run with both
    strengths, the patch distances being those of RGB), then turned back to RGB.
    """
    f = (params.f,) * (planes.ndim - 1)
    r = (params.r,) * (planes.ndim - 1)
    pad = padding(params.method, f, r)[0]
    compute = backend.methods[params.method]
    if params.h_chroma is None:
        return compute(pad_reflect(planes, pad), f, r, params.sigma, [params.h])[0]
    padded = pad_reflect(to_opponent(planes), pad)
    strengths = [params.h] if params.h_chroma == params.h else [params.h, params.h_chroma]
    estimates = compute(padded, f, r, params.sigma, strengths)
    del padded
    luminance, chroma = estimates[0], estimates[-1]
    luminance[1:] = chroma[1:]
    return from_opponent(luminance)


def denoise(
    image: np.ndarray,
    h: float | None = None,
    sigma: float | None = None,
    *,
    f: int | None = None,
    r: int | None = None,
    channel_axis: int | None = None,
    data_range: float | None = None,
    backend: str = "auto",
    return_params: bool = False,
    method: str | None = None,
    tune: bool = False,
    h_chroma: float | None = None,
    params: Params | None = None,
):
    """Denoise ``image`` with pixelwise (or patchwise) non-local means.

    Implements the estimate of Buades, Coll & Morel (CVPR 2005; IPOL 2011):
    ``û(p) = Σ_q w(p,q) u(q) / Σ_q w(p,q)`` over the (2r+1)² search window,
    ``w(p,q) = exp(-max(d²(p,q) - 2σ², 0) / h²)`` with ``d²`` the mean squared
    difference of the (2f+1)² patches over all channels. Borders are extended
    by mirror reflection (``np.pad(mode="reflect")``).

    Parameters
    ----------
    image : ndarray
        uint8, uint16, float32 or float64; 2-D gray, or 3-D with ``channel_axis``.
    h, sigma, f, r, channel_axis, data_range
        As in :func:`resolve_params`; unset ones are resolved from the image.
    method : {"pixel", "patch", "combined"}, optional
        Pixelwise (the default) or patchwise NLM (Buades, Coll & Morel, IPOL 2011):
        each patch gets the weighted mean of its candidates and each pixel averages
        the estimates of the (2f+1)² patches that contain it. "combined": a
        linear combination of several pixel and patch estimates and the noisy
        image, with weights minimising SURE (:func:`nlmeans.tune`; Blu &
        Luisier, IEEE TIP 2007); its terms are ``Params.components``.
    tune : bool
        Choose the unset ``h``, ``f``, ``r`` and ``method`` (and, for a
        3-channel image, ``h_chroma``) by minimising SURE (:func:`nlmeans.tune`)
        instead of taking the presets; "combined" when that lowers SURE by 2 %.
    h_chroma : float, optional
        As in :func:`resolve_params`: a chrominance filtering strength for a
        3-channel image, which is then filtered in luminance–chrominance planes.
    backend : {"auto", "cpu", "cuda", "reference"}
        "auto" picks the fastest available; "reference" is the slow NumPy oracle.
    return_params : bool
        Also return the resolved :class:`Params`.
    params : Params, optional
        Denoise with these parameters as they are (e.g. the ones a previous
        call returned, a combination included); ``h``, ``sigma``, ``f``,
        ``r``, ``method``, ``h_chroma`` and ``tune`` must then be left unset.

    Returns
    -------
    ndarray, or (ndarray, Params) when ``return_params``
        The denoised image, same shape and dtype as ``image`` (integers are
        rounded and clipped).
    """
    image = check_image(image)
    planes = to_channels_first(image, channel_axis)
    check_denoise_memory(planes)  # before anything allocates a copy of the image
    if planes.dtype.kind == "f":
        bounds = float_bounds(planes)  # also refuses NaN, Inf and magnitudes float32 cannot square
    else:
        bounds = planes.min(axis=(1, 2)), planes.max(axis=(1, 2))
    if params is not None:
        given = (h, sigma, f, r, method, h_chroma)
        if any(value is not None for value in given) or tune or not isinstance(params, Params):
            raise NLMeansError(
                "params= is a Params record and replaces h, sigma, f, r, method, h_chroma, tune"
            )
        if params.method == COMBINED:
            params = replace(params, components=check_components(params.components, len(planes)))
    elif tune or method == COMBINED:
        params = tune_params(
            image,
            sigma,
            channel_axis=channel_axis,
            data_range=data_range,
            h=h,
            f=f,
            r=r,
            method=method,
            h_chroma=h_chroma,
            backend=backend,
        )
    else:
        method = "pixel" if method is None else method
        params = _resolve_planes(
            image, planes, h, sigma, f, r, channel_axis, data_range, method, h_chroma
        )
    if params.method == COMBINED:
        # One sweep per (method, f, r) of the terms, each with all its strengths.
        chosen = select(backend, None, planes.ndim - 1)
        check_denoise_memory(planes, max(2 * c.f + c.r for c in params.components))
        estimate = combined_estimate(chosen, planes, params)
    else:
        chosen = select(backend, params.method, planes.ndim - 1)
        check_denoise_memory(planes, padding(params.method, (params.f,), (params.r,))[0])
        estimate = estimate_planes(chosen, planes, params)
    estimate = to_dtype(estimate, image.dtype, overwrite=True)
    # Each value is a convex combination of input values (with
    # h_chroma, of opponent planes): clip the float32 rounding (and the chroma
    # overshoot, and a combination's negative weights' overshoot) so every
    # channel stays within its input [min, max] exactly.
    np.clip(estimate, bounds[0][:, None, None], bounds[1][:, None, None], out=estimate)
    result = from_channels_first(estimate, channel_axis)
    return (result, params) if return_params else result
