"""Non-local means on a Dask array: decided once for the whole image, computed by chunk.

:func:`denoise` checks the array, takes its bounds in one streaming pass,
resolves (or tunes) the parameters from a sample, rechunks axes thinner than
the overlap and maps :func:`nlmeans._blocks.denoise_padded_block` over the
chunks with their overlap; see :mod:`nlmeans.dask` for how the result stays
equal to the in-memory one.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import replace
from functools import partial

import numpy as np

from .._arrays import SUPPORTED_DTYPES, float_bounds, to_dtype
from .._blocks import block_padding, denoise_padded_block
from .._mapped import is_mapped
from .._request import Request
from .._resolve import resolve_request
from ..backends import REGISTRY, select
from ..errors import NLMeansError
from ..io._zarr import require_extra
from ..noise._models import POISSON_GAUSSIAN, resolve_poisson_gaussian
from ..params import COMBINED, check_channel_axis, check_count, image_data_range
from ..sure import tune as tune_params
from ._sampling import DEFAULT_SAMPLE_CHUNKS, sample_tiles, strided_sample
from ._threads import planned_threads, task_threads


def denoise(
    array,
    h: float | None = None,
    sigma: float | None = None,
    *,
    f: int | None = None,
    r: int | None = None,
    channel_axis: int | None = None,
    method: str | None = None,
    backend: str = "auto",
    tune: bool | None = None,
    h_chroma: float | None = None,
    data_range: float | None = None,
    return_params: bool = False,
    sample_chunks: int = DEFAULT_SAMPLE_CHUNKS,
    threads: int | None = None,
    patch_kernel: str = "uniform",
    mask=None,
    noise: str = "gaussian",
    gain: float | None = None,
    read_noise: float | None = None,
    offset: float | None = None,
    coils: int = 1,
):
    """Denoise a dask array chunk by chunk with non-local means; lazy, equal to the in-memory run.

    The arguments are those of :func:`nlmeans.denoise`. Before returning, this
    reads the array once to find each channel's [min, max] (and a float
    image's default ``data_range``), and computes a sample of it
    (:func:`sample_tiles`) from which the unset parameters are resolved once
    for the whole array: sigma by :func:`nlmeans.estimate_sigma` on the sample,
    then the presets, or (``tune`` True, or None and no ``h``, as in
    :func:`nlmeans.denoise`) SURE (:func:`nlmeans.tune`) evaluated on the
    sample. When the array has at most ``sample_chunks`` tiles the sample
    is the whole array, and these are the in-memory run's parameters. Nothing
    is denoised until the result is computed.

    Parameters
    ----------
    array : dask array or array_like
        uint8, uint16, float32 or float64; spatial axes and an optional channel axis.
    h, sigma, f, r, channel_axis, method, backend, tune, h_chroma, data_range, patch_kernel
        As in :func:`nlmeans.denoise`.
    noise, gain, read_noise, offset
        As in :func:`nlmeans.denoise`: with ``noise="poisson-gaussian"`` the
        unset model parameters are fitted on the sample, each chunk is
        stabilised and inverted on its own (both are pixelwise) and the
        stabilised array is denoised at σ = 1 as above.
    mask, coils
        As in :func:`nlmeans.denoise`; ``sigma`` may be a σ map, and it and ``mask``
        numpy or dask arrays over the spatial axes, chunked along with the image
        (:mod:`nlmeans.dask._mapped`); ``noise="rician"`` is computed chunk by chunk too.
    return_params : bool
        Also return the resolved :class:`Params` (known before any compute).
    sample_chunks : int
        Tiles in the sample for sigma and SURE: an evenly spread sub-grid of tiles
        of the chunks' size (at least :data:`MIN_SAMPLE_TILE` per axis), laid side
        by side as one image.
    threads : int, optional
        Numba threads per task; default :func:`task_threads`' rule.

    Returns
    -------
    dask array, or (dask array, Params) when ``return_params``
        Same shape, chunks and dtype as ``array``.

    Notes
    -----
    What is guaranteed: with ``p`` the returned Params, every chunk is computed
    from exactly the pixels (and border reflections) the in-memory
    ``nlmeans.denoise(array.compute(), p.h, p.sigma, f=p.f, r=p.r,
    method=p.method, h_chroma=p.h_chroma, channel_axis=...)`` uses, and
    finished (cast, rounded, clipped to the same global per-channel bounds) the
    same way. The kernels' float32 sums may round differently in a chunk than
    in the whole image (their running sums start at the chunk), so float
    results agree within 4e-6 of the largest magnitude in the array
    (``abs(array).max()``: the data range for data from 0 up; a few float32
    roundings of the result) and integer results are the same except, rarely,
    a value within float32 rounding of a .5 tie, which may round the other way
    (a difference of 1). The same holds against
    ``nlmeans.denoise`` with default parameters when the sample is the whole
    array; otherwise sigma (and h) come from the sample.

    References
    ----------
    Buades, Coll & Morel, "Non-Local Means Denoising", IPOL 2011.
    """
    request = Request(
        h=h, sigma=sigma, f=f, r=r, channel_axis=channel_axis, method=method, backend=backend,
        tune=tune, h_chroma=h_chroma, data_range=data_range, threads=threads,
        patch_kernel=patch_kernel, noise=noise, gain=gain, read_noise=read_noise,
        offset=offset, coils=coils,
    )  # fmt: skip
    return denoise_request(
        array, request, mask=mask, return_params=return_params, sample_chunks=sample_chunks
    )


def denoise_request(array, request: Request, *, mask=None, return_params=False, sample_chunks):
    """:func:`denoise` of ``array`` with the choices of ``request``: what every chunked path runs.

    ``request`` (:class:`nlmeans.Request`, already checked) holds what
    :func:`denoise`'s keyword arguments say; its ``channel_axis`` "auto" is
    taken as None (every axis spatial).

    References
    ----------
    Buades, Coll & Morel, "Non-Local Means Denoising", IPOL 2011.
    """
    require_extra("nlmeans.dask", modules=("dask.array",))
    q = request
    channel_axis = None if q.channel_axis == "auto" else q.channel_axis
    check_count("sample_chunks", sample_chunks)
    stabilised = q.noise == POISSON_GAUSSIAN
    if is_mapped(q.sigma, mask, q.noise, q.coils):
        if stabilised:
            raise NLMeansError(
                "noise='poisson-gaussian' is not available with a sigma map or a mask"
            )
        from ._mapped import denoise_mapped

        if channel_axis != q.channel_axis:
            q = replace(q, channel_axis=channel_axis)
        return denoise_mapped(
            array, q, mask=mask, return_params=return_params, sample_chunks=sample_chunks
        )
    import dask
    import dask.array as da

    x = array if isinstance(array, da.Array) else da.asarray(array)
    if x.dtype not in SUPPORTED_DTYPES:
        names = ", ".join(np.dtype(d).name for d in SUPPORTED_DTYPES)
        raise NLMeansError(f"image dtype {x.dtype} is not supported; expected one of {names}")
    if x.size == 0 or any(math.isnan(n) for n in x.shape):
        raise NLMeansError(f"image has shape {x.shape} with no pixels (or unknown chunk sizes)")
    axis = check_channel_axis(channel_axis, x.ndim)

    planes = x[np.newaxis] if axis is None else da.moveaxis(x, axis, 0)
    planes = planes.rechunk({0: -1})  # the kernels need every channel of a pixel

    # One streaming pass: per-channel bounds (and the float data_range's sample).
    spatial = tuple(range(1, planes.ndim))
    wanted = [planes.min(axis=spatial), planes.max(axis=spatial)]
    if x.dtype.kind == "f" and q.data_range is None:
        wanted.append(strided_sample(x))
    low, high, *rest = dask.compute(*wanted)
    if x.dtype.kind == "f":
        check_float_bounds(planes, low, high)

    sample = in_layout(np.asarray(sample_tiles(planes, sample_chunks).compute()), axis)
    if stabilised:
        if q.sigma is not None:
            raise NLMeansError(
                "sigma= does not apply to noise='poisson-gaussian' (the stabilised noise has "
                "sigma 1); give gain= and read_noise= instead"
            )
        model = resolve_poisson_gaussian(
            sample[np.newaxis] if axis is None else np.moveaxis(sample, axis, 0),
            q.gain, q.read_noise, q.offset,
        )  # fmt: skip
        del sample
        # A noise model transforms the caller's range, not the default.
        gaussian = replace(
            q, noise="gaussian", gain=None, read_noise=None, offset=None, channel_axis=axis
        )
        return _denoise_stabilised(
            x, model, (low, high), gaussian, return_params, sample_chunks
        )  # fmt: skip
    # What this array decides, in one checked copy of the request.
    decided = {} if axis == q.channel_axis else {"channel_axis": axis}
    if q.data_range is None:
        decided["data_range"] = image_data_range(rest[0]) if rest else float(np.iinfo(x.dtype).max)
    if decided:
        q = replace(q, **decided)
    if q.tuned:
        options = q.keywords("h", "f", "r", "method", "backend", "h_chroma", "data_range")
        params = tune_params(sample, q.sigma, channel_axis=axis, **options)
    else:
        params = resolve_request(sample, q)
    del sample

    ndim = planes.ndim - 1
    if params.method == COMBINED:
        chosen = select(q.backend, None, ndim)
    else:
        chosen = select(q.backend, params.method, ndim, params.patch_kernel)
    pads = block_padding(params, ndim)
    work = planes.rechunk(thick_chunks(planes.chunks, pads, axis, x.ndim))
    kernel = partial(
        _denoise_block,
        params=params,
        pads=pads,
        dtype=x.dtype,
        bounds=(low, high),
        backend=chosen.name,
        threads=q.threads if q.threads is not None else planned_threads(),
    )
    out = overlapped(kernel, work, pads, work.chunks, x.dtype)
    out = out[0] if axis is None else da.moveaxis(out, 0, axis)
    if out.chunks != x.chunks:
        out = out.rechunk(x.chunks)
    return (out, params) if return_params else out


def overlapped(kernel, work, pads, chunks, dtype):
    """Map ``kernel`` over the blocks of ``work`` (C, *S), each with ``pads`` of its neighbours.

    No margin on the channel axis nor on a spatial axis of one chunk (the
    kernel pads the image's own borders); ``chunks`` are the result's.
    """
    import dask.array as da

    depth = {0: 0}
    depth.update({k + 1: (p if len(work.chunks[k + 1]) > 1 else 0) for k, p in enumerate(pads)})
    return da.map_overlap(
        kernel,
        work,
        depth=depth,
        boundary="none",
        trim=False,
        chunks=chunks,
        dtype=dtype,
        meta=np.empty((0,) * work.ndim, dtype=dtype),
    )


def _denoise_stabilised(x, model, bounds, request: Request, return_params, sample_chunks):
    """:func:`denoise` under a noise model: stabilise, denoise at σ = 1, invert, finish.

    As the front door does it: the stabilised data range is the transform's
    span over the image's bounds (or of ``data_range`` above the offset), and
    the inverse is cast to the input's dtype and clipped to its per-channel bounds.
    """
    low, high = (np.asarray(b, dtype=np.float64) for b in bounds)
    if request.data_range is None:
        ends = model.stabilize(np.array([low.min(), high.max()]))
    else:
        ends = model.stabilize(np.array([model.offset, model.offset + request.data_range]))
    data_range = float(ends[1] - ends[0]) if ends[1] > ends[0] else 1.0
    stable = x.map_blocks(model.stabilize, dtype=np.float32)
    result, params = denoise_request(
        stable, replace(request, sigma=1.0, data_range=data_range), return_params=True,
        sample_chunks=sample_chunks,
    )  # fmt: skip
    axis = request.channel_axis
    shape = [1] * x.ndim
    if axis is not None:
        shape[axis] = -1
    low, high = low.reshape(shape), high.reshape(shape)

    def finish(block):
        raw = np.clip(model.invert(block), low, high)
        return to_dtype(raw, x.dtype, overwrite=True)

    out = result.map_blocks(finish, dtype=x.dtype)
    params = replace(params, noise_model=model)
    return (out, params) if return_params else out


def in_layout(planes: np.ndarray, axis: int | None) -> np.ndarray:
    """Channels-first ``planes`` back in the input's layout."""
    return planes[0] if axis is None else np.moveaxis(planes, 0, axis)


def check_float_bounds(planes, low, high) -> None:
    """Return the front door's float checks (finite, magnitude) from the bounds, same messages."""
    corners = np.stack([low, high], axis=-1)[..., np.newaxis]  # (C, 2, 1)
    if not np.isfinite(corners).all():
        import dask.array as da

        count = int((~da.isfinite(planes)).sum().compute())
        raise NLMeansError(f"image has {count} non-finite (NaN or Inf) values; expected finite")
    float_bounds(corners)


def thick_chunks(chunks, pads, axis, ndim: int):
    """``chunks`` with every spatial axis whose chunks are thinner than its overlap rechunked.

    A warning names the axis (of the input array) and the new chunk size. A thin
    last chunk alone (the remainder of a regular chunking) is merged into the one
    before it without a warning.
    """
    spatial_axes = [a for a in range(ndim) if a != axis]
    new = list(chunks)
    for k, pad in enumerate(pads):
        sizes = chunks[k + 1]
        if len(sizes) > 1 and sizes[-1] < pad and min(sizes[:-1]) >= pad:
            # Only the remainder is thin: merge it into the chunk before, silently.
            new[k + 1] = sizes[:-2] + (sizes[-2] + sizes[-1],)
            continue
        if len(sizes) == 1 or min(sizes) >= pad:
            continue
        side = max(pad, max(sizes))
        total = sum(sizes)
        regular = [side] * (total // side)
        rest = total - sum(regular)
        if rest:
            if rest < pad and regular:
                regular[-1] += rest
            else:
                regular.append(rest)
        new[k + 1] = tuple(regular)
        warnings.warn(
            f"nlmeans.dask.denoise: chunks along axis {spatial_axes[k]} are thinner than the "
            f"{pad}-pixel overlap the method needs; computing in chunks of {side} along that "
            "axis (the result keeps the input's chunks)",
            UserWarning,
            stacklevel=3,
        )
    return tuple(new)


def _denoise_block(block, *, params, pads, dtype, bounds, backend, threads, block_info=None):
    """One chunk: extend its sides at the array's borders by reflection, then denoise it."""
    info = block_info[0]
    location, count = info["chunk-location"], info["num-chunks"]
    widths = [(0, 0)] + [
        (pad if location[k + 1] == 0 else 0, pad if location[k + 1] == count[k + 1] - 1 else 0)
        for k, pad in enumerate(pads)
    ]
    padded = np.pad(block.astype(np.float32), widths, mode="reflect")
    set_threads = REGISTRY[backend].set_threads
    if set_threads is not None:
        set_threads(task_threads(threads))
    return denoise_padded_block(padded, params, dtype=dtype, bounds=bounds, backend=backend)
