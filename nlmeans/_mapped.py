"""The front door's path for σ maps, masks and the Rician model: the mapped pixelwise method.

:func:`denoise_mapped` is what :func:`nlmeans.denoise` runs when ``sigma`` is an
array, ``mask`` is given or ``noise="rician"``: check → resolve (h for σ₀, the
map's root mean square) → pad the image, its values, the map and the mask
alike → the backends' mapped method
(:func:`nlmeans.backends.reference.mapped_pixelwise` states its formulas) →
the Rician bias removed → cast, and the pixels outside the mask copied from
the input bit for bit.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from ._arrays import (
    channel_bounds,
    check_image,
    float_bounds,
    from_channels_first,
    to_channels_first,
    to_dtype,
)
from ._memory import check_denoise_memory
from ._rician import remove_bias, rician_sigma
from .backends import AUTO_ORDER, REGISTRY, padding, select
from .errors import NLMeansError
from .noise import estimate_sigma
from .noise._models import GAUSSIAN, RICIAN
from .params import Params, image_data_range, radii, resolve_checked, sigma_floor

#: The noise models of this path (the Gaussian one with a σ map or a mask too).
NOISE_MODELS = (GAUSSIAN, RICIAN)
#: Work per slab along the first axis, as the front door's slabs.
SLAB_WORK = 1e9


def is_mapped(sigma, mask, noise, coils=1) -> bool:
    """Return True when :func:`nlmeans.denoise` takes this path (a σ map, a mask, Rician noise)."""
    mapped = sigma is not None and np.ndim(sigma) > 0
    return mapped or mask is not None or noise == RICIAN or coils != 1


def check_noise(noise) -> str:
    """``noise`` as one of :data:`NOISE_MODELS`, else NLMeansError."""
    if noise not in NOISE_MODELS:
        raise NLMeansError(
            f"noise={noise!r} is not available with a sigma map or a mask; "
            f"expected one of {', '.join(NOISE_MODELS)}"
        )
    return noise


def check_sigma_map(sigma, spatial: tuple) -> np.ndarray:
    """Return a σ map as float64 of the image's spatial shape, finite and > 0, else NLMeansError."""
    values = np.asarray(sigma)
    if values.shape != spatial:
        raise NLMeansError(
            f"sigma map has shape {values.shape}; expected the image's spatial shape {spatial}"
        )
    if values.dtype.kind not in "uif":
        raise NLMeansError(f"sigma map has dtype {values.dtype}; expected numbers")
    values = values.astype(np.float64)
    if not np.isfinite(values).all() or values.min() <= 0:
        raise NLMeansError("sigma map must be finite and > 0 everywhere")
    return values


def check_mask(mask, spatial: tuple) -> np.ndarray:
    """Return a mask as bool of the image's spatial shape (bool, or 0 and 1), or raise."""
    values = np.asarray(mask)
    if values.shape != spatial:
        raise NLMeansError(
            f"mask has shape {values.shape}; expected the image's spatial shape {spatial}"
        )
    if values.dtype != bool:
        if values.dtype.kind not in "uif" or not np.isin(values, (0, 1)).all():
            raise NLMeansError(f"mask of dtype {values.dtype} must be boolean or hold only 0 and 1")
        values = values != 0
    return values


def mapped_backend(name: str, ndim: int):
    """Return the backend ``name`` ("auto": the best usable one) with the mapped method."""
    if name == "auto":
        for candidate in AUTO_ORDER:
            backend = REGISTRY[candidate]
            usable = backend.mapped is not None and ndim <= backend.max_dims
            if usable and backend.availability() is None:
                return backend
    backend = select(name, "pixel", ndim, "uniform")
    if backend.mapped is None:
        raise NLMeansError(f"backend={name!r} has no sigma maps, masks or Rician noise")
    return backend


def _refuse(tune, method, h_chroma, patch_kernel, params) -> None:
    """Return the combinations this path does not compute, each named."""
    if tune:
        raise NLMeansError("tune=True is not available with a sigma map, a mask or noise='rician'")
    if method not in (None, "pixel") or (params is not None and params.method != "pixel"):
        chosen = method if method is not None else params.method
        raise NLMeansError(
            f"method={chosen!r} is not available with a sigma map, a mask or noise='rician'; "
            "use method='pixel'"
        )
    if h_chroma is not None or (params is not None and params.h_chroma is not None):
        raise NLMeansError("h_chroma is not available with a sigma map, a mask or noise='rician'")
    if patch_kernel != "uniform" or (params is not None and params.patch_kernel != "uniform"):
        raise NLMeansError(
            "patch_kernel='gaussian' is not available with a sigma map, a mask or noise='rician'"
        )


def _slab(array, planes=True, *, rows, pad):
    """``array``'s ``rows`` along the first spatial axis, mirror-padded on the other axes."""
    if array is None:
        return None
    block = array[:, rows] if planes else array[rows]
    widths = [(0, 0)] * planes + [(0, 0)] + [(p, p) for p in pad[1:]]
    return np.pad(block, widths, mode="reflect")


def mapped_estimate(
    backend, guide, values, sigma_map, mask, params: Params, progress=None, *, squared=False
):
    """float32 (C_v, *S) mapped estimate of the values, in slabs along the first axis.

    ``guide`` (C, *S) float32, ``values`` (C_v, *S) or None, ``sigma_map`` and
    ``mask`` (*S) or None; each slab of all of them mirror-padded alike. With
    ``squared`` (and ``values`` None) the values are the squared guide, squared
    after padding (the Rician model's m²).
    """
    ndim = guide.ndim - 1
    f, r = radii(params.f, ndim), radii(params.r, ndim)
    pad = padding("pixel", f, r)
    extent = guide.shape[1]
    shifts = np.prod([2 * rk + 1 for rk in r])
    per_row = shifts * np.prod(guide.shape[2:]) * guide.shape[0]
    rows = max(1, int(SLAB_WORK // per_row), 4 * pad[0])
    if rows < extent:
        rows = -(-extent // -(-extent // rows))  # even slabs
    source_rows = np.pad(np.arange(extent), pad[0], mode="reflect")
    n_values = guide.shape[0] if values is None else values.shape[0]
    estimate = np.empty((n_values,) + guide.shape[1:], np.float32)
    for start in range(0, extent, rows):
        stop = min(start + rows, extent)
        rows_here = source_rows[start : stop + 2 * pad[0]]
        padded = partial(_slab, rows=rows_here, pad=pad)

        slab = padded(guide).astype(np.float32, copy=False)
        if squared:
            slab_values = np.square(slab)
        else:
            slab_values = None if values is None else padded(values).astype(np.float32, copy=False)
        out = backend.mapped(
            slab,
            slab_values,
            f,
            r,
            params.sigma,
            [params.h],
            sigma_map=padded(sigma_map, False),
            mask=padded(mask, False),
        )
        estimate[:, start:stop] = out[0]
        if progress is not None:
            progress(stop, extent)
    return estimate


def resolve_mapped(image, planes, request, *, inside, params) -> tuple[Params, np.ndarray | None]:
    """(Params with σ₀, the checked σ map or None) for the mapped path.

    ``sigma`` is a scalar, a map (σ₀ its root mean square; a constant map becomes
    its scalar) or None: estimated, from the background with ``noise="rician"``
    (:func:`rician_sigma`), else by :func:`estimate_sigma`.
    """
    h, sigma, f, r = request.h, request.sigma, request.f, request.r
    noise, coils, data_range = request.noise, request.coils, request.data_range
    spatial = planes.shape[1:]
    sigma_map = None
    if sigma is not None and np.ndim(sigma) > 0:
        if params is not None:
            raise NLMeansError("params= replaces sigma; give the sigma map without params")
        sigma_map = check_sigma_map(sigma, spatial)
        sigma = float(np.sqrt(np.mean(sigma_map**2)))  # σ₀, the map's root mean square
        if np.all(sigma_map == sigma_map.flat[0]):
            sigma, sigma_map = float(sigma_map.flat[0]), None  # a constant map is a scalar σ
    if params is not None:
        if any(value is not None for value in (h, sigma, f, r)):
            raise NLMeansError("params= is a Params record and replaces h, sigma, f, r")
        return params, sigma_map

    def estimate():
        if noise == "rician":
            return rician_sigma(planes, inside, coils)
        return estimate_sigma(image, channel_axis=request.channel_axis)

    data_range = image_data_range(image) if data_range is None else data_range
    params = resolve_checked(  # the request's values were checked when it was made
        planes.shape[0],
        h=h,
        sigma=sigma,
        f=f,
        r=r,
        data_range=data_range,
        estimate=estimate,
        method="pixel",
        h_chroma=None,
        ndim=len(spatial),
        patch_kernel="uniform",
        sigma_floor=sigma_floor(image, data_range),
    )
    return params, sigma_map


def finish_mapped(estimate, planes, inside, sigma_map, params, noise, coils, dtype, bounds):
    """Return the result in ``dtype`` (C, *S), finished.

    The Rician bias removed, cast, clipped to ``bounds`` (low 0 for Rician),
    and the pixels outside ``inside`` those of ``planes`` bit for bit.
    """
    low, high = bounds
    if noise == "rician":
        variance = params.sigma**2 if sigma_map is None else sigma_map**2
        estimate = remove_bias(estimate, variance, coils)
        low = np.zeros_like(np.asarray(low))
    result = to_dtype(estimate, dtype, overwrite=True)
    index = (slice(None),) + (None,) * (result.ndim - 1)
    np.clip(result, np.asarray(low)[index], np.asarray(high)[index], out=result)
    if inside is not None:
        np.copyto(result, planes, where=~inside[None])  # outside: the input, bit for bit
    return result


def check_model(request, params) -> None:
    """Refuse the noise models and the choices of ``request`` this path does not compute."""
    check_noise(request.noise)
    _refuse(request.tune, request.method, request.h_chroma, request.patch_kernel, params)


def denoise_mapped(
    image,
    request,
    *,
    mask=None,
    progress=None,
    params: Params | None = None,
    return_params: bool = False,
):
    """:func:`nlmeans.denoise` with a σ map, a mask or the Rician model (pixelwise).

    ``request`` (:class:`nlmeans.Request`, its ``channel_axis`` an
    axis or None) and the keywords are those of :func:`nlmeans.denoise`.
    ``params.sigma`` (given or returned) is σ₀: the scalar σ, or the map's root
    mean square sqrt(mean σ²), for which h is resolved; the map scales the
    weights of each pair of pixels as the reference backend's docstring states.

    References
    ----------
    A. Buades, B. Coll, J.-M. Morel, "Non-Local Means Denoising", IPOL 1 (2011);
    P. Coupé et al., "An optimized blockwise nonlocal means denoising filter for
    3-D magnetic resonance images", IEEE TMI 27 (2008).
    """
    check_model(request, params)
    noise, coils, channel_axis = request.noise, request.coils, request.channel_axis
    image = check_image(image)
    planes = to_channels_first(image, channel_axis)
    check_denoise_memory(planes)
    bounds = float_bounds(planes) if planes.dtype.kind == "f" else channel_bounds(planes)
    spatial = planes.shape[1:]
    ndim = len(spatial)
    inside = None if mask is None else check_mask(mask, spatial)
    if noise == "rician" and bounds[0].min() < 0:
        raise NLMeansError("noise='rician' takes magnitude images; this one has negative values")
    params, sigma_map = resolve_mapped(image, planes, request, inside=inside, params=params)
    chosen = mapped_backend(request.backend, ndim)
    check_denoise_memory(planes, padding("pixel", radii(params.f, ndim), radii(params.r, ndim)))
    if inside is not None and not inside.any():
        result = planes.copy()
    else:
        guide = planes.astype(np.float32)
        estimate = mapped_estimate(  # Rician: the average is taken of m²
            chosen, guide, None, sigma_map, inside, params, progress, squared=noise == "rician"
        )
        result = finish_mapped(
            estimate, planes, inside, sigma_map, params, noise, coils, image.dtype, bounds
        )
    result = from_channels_first(result, channel_axis)
    return (result, params) if return_params else result


def mapped_padded_block(
    padded, padded_map, padded_mask, params: Params, *, noise, coils, dtype, bounds, backend
) -> np.ndarray:
    """One already padded block of the mapped path: the per-chunk step of :mod:`nlmeans.dask`.

    ``padded`` (C, S + 2 pad) holds the input's values exactly (float64 for a
    float64 image), ``padded_map`` and ``padded_mask`` (S + 2 pad) or None, all
    with the pixelwise margin ``pad = r + f`` from the neighbouring pixels or the
    border reflection; ``params`` resolved once for the whole image. Returns
    (C, *S) in ``dtype``, finished as :func:`denoise_mapped` finishes an image.
    """
    ndim = padded.ndim - 1
    f, r = radii(params.f, ndim), radii(params.r, ndim)
    pad = padding("pixel", f, r)
    centre = tuple(slice(p, n - p) for p, n in zip(pad, padded.shape[1:], strict=True))
    planes = padded[(slice(None),) + centre].astype(dtype)
    inside = None if padded_mask is None else padded_mask[centre]
    sigma_map = None if padded_map is None else padded_map[centre]
    if inside is not None and not inside.any():
        return planes
    guide = padded.astype(np.float32)
    values = np.square(guide) if noise == "rician" else None
    chosen = mapped_backend(backend, ndim)
    estimate = chosen.mapped(
        guide, values, f, r, params.sigma, [params.h], sigma_map=padded_map, mask=padded_mask
    )[0]
    return finish_mapped(estimate, planes, inside, sigma_map, params, noise, coils, dtype, bounds)
