"""The front door: arrays in, arrays out; parameter resolution and backend dispatch."""

from __future__ import annotations

import importlib
from dataclasses import replace

import numpy as np

from .color import from_opponent, to_opponent
from .layout import (
    check_image,
    float_bounds,
    from_channels_first,
    pad_reflect,
    to_channels_first,
    to_dtype,
)
from .memory import check_denoise_memory
from .params import NLMeansError, Params, estimate_sigma, image_data_range, resolve

#: backend name -> module. Each module provides ``denoise_padded(padded, params)``
#: (float32 (C, H+2(r+f), W+2(r+f)) in, float32 (C, H, W) out) and may provide
#: ``availability()`` (None when usable, else the reason), ``warm_up()`` and
#: ``set_threads(n)``.
BACKENDS = {
    "reference": "nlmeans.reference",
    "cpu": "nlmeans.cpu",
    "cuda": "nlmeans.cuda",
}

#: "auto" takes the first usable backend in this order.
AUTO_ORDER = ("cuda", "cpu")

#: (backend, method) -> "module:function" computing that method, with the
#: signature of ``denoise_padded`` (the padding is ``PADDING[method]``). Every
#: backend module's ``denoise_padded`` is its pixelwise kernel; other methods
#: are listed explicitly. Adding a method adds rows here and to PADDING.
KERNELS = {(name, "pixel"): f"{module}:denoise_padded" for name, module in BACKENDS.items()}
KERNELS |= {
    ("reference", "patch"): "nlmeans.reference:denoise_padded_patchwise",
    ("cpu", "patch"): "nlmeans.cpu_patchwise:denoise_padded",
}

#: method -> reflect padding its kernels need on each side, from the resolved Params:
#: pixelwise needs r + f; patchwise r + 2f (patch centres reach f outside the image).
PADDING = {
    "pixel": lambda params: params.r + params.f,
    "patch": lambda params: params.r + 2 * params.f,
}


def backend_availability(name: str) -> str | None:
    """None when backend ``name`` can run here, else the reason it cannot."""
    module = importlib.import_module(BACKENDS[name])
    check = getattr(module, "availability", None)
    return None if check is None else check()


def backend_name(name: str, method: str = "pixel") -> str:
    """Validate ``name`` and resolve "auto" to the best usable backend for ``method``."""
    if name == "auto":
        return next(
            n for n in AUTO_ORDER if (n, method) in KERNELS and backend_availability(n) is None
        )
    if name not in BACKENDS:
        choices = ", ".join(["auto", *BACKENDS])
        raise NLMeansError(f"backend={name!r} is unknown; expected one of {choices}")
    if (name, method) not in KERNELS:
        having = ", ".join(b for b, m in KERNELS if m == method)
        raise NLMeansError(
            f"method={method!r} is not available on backend={name!r}; backends with it: {having}"
        )
    reason = backend_availability(name)
    if reason is not None:
        raise NLMeansError(f"backend={name!r} is not available: {reason}")
    return name


def backend_module(name: str):
    """The module of backend ``name`` ("auto" picks the best usable one)."""
    return importlib.import_module(BACKENDS[backend_name(name)])


def kernel(backend: str, method: str = "pixel"):
    """(module, function) computing ``method`` on ``backend`` ("auto": the best usable).

    The module provides the backend's ``warm_up``/``set_threads`` where it has them.
    """
    module_name, _, function = KERNELS[backend_name(backend, method), method].partition(":")
    module = importlib.import_module(module_name)
    return module, getattr(module, function)


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
        Pixelwise NLM (DESIGN.md §1) or patchwise aggregation (IPOL 2011).
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


def estimate_planes(compute, planes: np.ndarray, params: Params, pad: int) -> np.ndarray:
    """float32 (C, H, W) NLM estimate of ``planes`` by the kernel ``compute``.

    With ``params.h_chroma`` the 3 planes are filtered in the opponent space,
    luminance with h and chrominance with h_chroma (one kernel run per distinct
    strength, the patch distances being those of RGB), then turned back to RGB.
    """
    if params.h_chroma is None:
        return compute(pad_reflect(planes, pad), params)
    padded = pad_reflect(to_opponent(planes), pad)
    estimate = compute(padded, replace(params, h_chroma=None))
    if params.h_chroma != params.h:
        chroma = compute(padded, replace(params, h=params.h_chroma, h_chroma=None))
        estimate[1:] = chroma[1:]
    del padded
    return from_opponent(estimate)


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
    method : {"pixel", "patch"}, optional
        Pixelwise (the default) or patchwise NLM (Buades, Coll & Morel, IPOL 2011):
        each patch gets the weighted mean of its candidates and each pixel averages
        the estimates of the (2f+1)² patches that contain it.
    tune : bool
        Choose the unset ``h``, ``f``, ``r`` and ``method`` (and, for a
        3-channel image, ``h_chroma``) by minimising SURE (:func:`nlmeans.tune`)
        instead of taking the presets.
    h_chroma : float, optional
        As in :func:`resolve_params`: a chrominance filtering strength for a
        3-channel image, which is then filtered in luminance–chrominance planes.
    backend : {"auto", "cpu", "cuda", "reference"}
        "auto" picks the fastest available; "reference" is the slow NumPy oracle.
    return_params : bool
        Also return the resolved :class:`Params`.

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
    if tune:
        from .sure import tune as tune_params

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
        )
    else:
        method = "pixel" if method is None else method
        params = _resolve_planes(
            image, planes, h, sigma, f, r, channel_axis, data_range, method, h_chroma
        )
    _, compute = kernel(backend, params.method)
    pad = PADDING[params.method](params)
    check_denoise_memory(planes, pad)
    estimate = estimate_planes(compute, planes, params, pad)
    estimate = to_dtype(estimate, image.dtype, overwrite=True)
    # Each value is a convex combination of input values (DESIGN.md §1; with
    # h_chroma, of opponent planes): clip the float32 rounding (and the chroma
    # overshoot) so every channel stays within its input [min, max] exactly.
    np.clip(estimate, bounds[0][:, None, None], bounds[1][:, None, None], out=estimate)
    result = from_channels_first(estimate, channel_axis)
    return (result, params) if return_params else result
