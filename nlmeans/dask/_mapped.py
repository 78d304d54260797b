"""σ maps, masks and the Rician model on a Dask array: the map and the mask chunked with the image.

The image's planes, the σ map and the mask are stacked as extra planes of one
dask array, so that every chunk and its overlap hold the three alike; each
chunk is then split again and finished by
:func:`nlmeans._mapped.mapped_padded_block`, as :func:`nlmeans.denoise` finishes
a whole image.
"""

from __future__ import annotations

import math
from dataclasses import replace
from functools import partial

import numpy as np

from .._arrays import SUPPORTED_DTYPES
from .._mapped import check_model, mapped_backend, mapped_padded_block, resolve_mapped
from ..backends import REGISTRY, padding
from ..errors import NLMeansError
from ..params import check_channel_axis, image_data_range, radii
from ._chunked import check_float_bounds, in_layout, overlapped, thick_chunks
from ._sampling import sample_tiles, strided_sample
from ._threads import planned_threads, task_threads


def _spatial(value, planes, name: str):
    """``value`` as a dask array with the planes' spatial shape and chunks, else NLMeansError."""
    import dask.array as da

    values = value if isinstance(value, da.Array) else da.asarray(value)
    if values.shape != planes.shape[1:]:
        raise NLMeansError(
            f"{name} has shape {values.shape}; expected the spatial shape {planes.shape[1:]}"
        )
    if values.dtype.kind not in "uifb":
        raise NLMeansError(f"{name} has dtype {values.dtype}; expected numbers")
    return values.rechunk(planes.chunks[1:])


def denoise_mapped(array, request, *, mask, return_params, sample_chunks):
    """Denoise a dask array with a σ map, a mask or ``noise="rician"``.

    :func:`nlmeans.dask.denoise` with a σ map (an array over the spatial axes,
    numpy or dask), a mask or the Rician model: ``request``
    (:class:`nlmeans.Request`) and the keywords are those of
    :func:`nlmeans.dask.denoise`.

    The result equals :func:`nlmeans.denoise` of the computed array with the same
    map, mask and parameters (the returned Params, σ₀ the map's root mean square).

    References
    ----------
    Buades, Coll & Morel, "Non-Local Means Denoising", IPOL 2011.
    """
    import dask
    import dask.array as da

    check_model(request, None)
    sigma, noise, coils = request.sigma, request.noise, request.coils
    data_range = request.data_range
    x = array if isinstance(array, da.Array) else da.asarray(array)
    if x.dtype not in SUPPORTED_DTYPES:
        names = ", ".join(np.dtype(d).name for d in SUPPORTED_DTYPES)
        raise NLMeansError(f"image dtype {x.dtype} is not supported; expected one of {names}")
    if x.size == 0 or any(math.isnan(n) for n in x.shape):
        raise NLMeansError(f"image has shape {x.shape} with no pixels (or unknown chunk sizes)")
    axis = check_channel_axis(request.channel_axis, x.ndim)
    planes = x[np.newaxis] if axis is None else da.moveaxis(x, axis, 0)
    planes = planes.rechunk({0: -1})
    spatial = tuple(range(1, planes.ndim))
    wanted = [planes.min(axis=spatial), planes.max(axis=spatial)]
    if x.dtype.kind == "f" and data_range is None:
        wanted.append(strided_sample(x))
    sigma_map = None
    if sigma is not None and np.ndim(sigma) > 0:
        sigma_map = _spatial(sigma, planes, "sigma map").astype(np.float64)
        wanted += [
            sigma_map.min(),
            sigma_map.max(),
            (sigma_map**2).mean(),
            da.isfinite(sigma_map).all(),
        ]
    inside = None
    if mask is not None:
        inside = _spatial(mask, planes, "mask")
        if inside.dtype != bool:
            wanted.append(da.isin(inside, [0, 1]).all())
    low, high, *rest = dask.compute(*wanted)
    if x.dtype.kind == "f":
        check_float_bounds(planes, low, high)
    if x.dtype.kind == "f" and data_range is None:
        data_range = image_data_range(rest.pop(0))
    elif data_range is None:
        data_range = float(np.iinfo(x.dtype).max)
    if sigma_map is not None:
        least, most, mean_square, finite = rest[:4]
        rest = rest[4:]
        if not finite or least <= 0:
            raise NLMeansError("sigma map must be finite and > 0 everywhere")
        sigma = float(np.sqrt(mean_square))  # σ₀, the map's root mean square
        if least == most:
            sigma, sigma_map = float(least), None  # a constant map is a scalar σ
    if inside is not None and inside.dtype != bool:
        if not rest[0]:
            raise NLMeansError(f"mask of dtype {inside.dtype} must be boolean or hold only 0 and 1")
        inside = inside != 0
    if noise == "rician" and np.min(low) < 0:
        raise NLMeansError("noise='rician' takes magnitude images; this one has negative values")

    sample_planes = np.asarray(sample_tiles(planes, int(sample_chunks)).compute())
    resolved = replace(request, sigma=sigma, data_range=data_range, channel_axis=axis)
    params, _ = resolve_mapped(
        in_layout(sample_planes, axis), sample_planes, resolved, inside=None, params=None
    )
    del sample_planes
    ndim = planes.ndim - 1
    chosen = mapped_backend(request.backend, ndim)
    pads = padding("pixel", radii(params.f, ndim), radii(params.r, ndim))
    # float64 holds every input dtype exactly: the pixels outside the mask come back bit for bit.
    stack = np.float64 if x.dtype == np.float64 else np.float32
    parts = [planes.astype(stack)]
    if sigma_map is not None:
        parts.append(sigma_map[np.newaxis].astype(stack))
    if inside is not None:
        parts.append(inside[np.newaxis].astype(stack))
    work = da.concatenate(parts, axis=0).rechunk({0: -1})
    work = work.rechunk(thick_chunks(work.chunks, pads, axis, x.ndim))
    kernel = partial(
        _mapped_block,
        n_planes=planes.shape[0],
        with_map=sigma_map is not None,
        with_mask=inside is not None,
        params=params,
        pads=pads,
        noise=noise,
        coils=coils,
        dtype=x.dtype,
        bounds=(low, high),
        backend=chosen.name,
        threads=request.threads if request.threads is not None else planned_threads(),
    )
    out = overlapped(kernel, work, pads, ((planes.shape[0],),) + work.chunks[1:], x.dtype)
    out = out[0] if axis is None else da.moveaxis(out, 0, axis)
    if out.chunks != x.chunks:
        out = out.rechunk(x.chunks)
    return (out, params) if return_params else out


def _mapped_block(
    block, *, n_planes, with_map, with_mask, params, pads, noise, coils, dtype, bounds, backend,
    threads, block_info=None,
):  # fmt: skip
    """One chunk: reflect its sides at the array's borders, split the planes, map and mask."""
    info = block_info[0]
    location, count = info["chunk-location"], info["num-chunks"]
    widths = [(0, 0)] + [
        (pad if location[k + 1] == 0 else 0, pad if location[k + 1] == count[k + 1] - 1 else 0)
        for k, pad in enumerate(pads)
    ]
    padded = np.pad(block, widths, mode="reflect")
    image = padded[:n_planes]
    sigma_map = padded[n_planes] if with_map else None
    inside = padded[-1] > 0.5 if with_mask else None
    set_threads = REGISTRY[backend].set_threads
    if set_threads is not None:
        set_threads(task_threads(threads))
    return mapped_padded_block(
        image, sigma_map, inside, params, noise=noise, coils=coils, dtype=dtype, bounds=bounds,
        backend=backend,
    )  # fmt: skip
