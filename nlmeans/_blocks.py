"""The estimate of channels-first planes: whole, in slabs, and by padded block.

:func:`estimate_planes` runs a backend over an image's planes in slabs along
the first spatial axis; :func:`denoise_padded_block` is the per-chunk step of
:mod:`nlmeans.dask` and :func:`denoise_frames_block` that of a streamed video,
each finished (cast, rounded, clipped) as :func:`nlmeans.denoise` finishes a
whole image; :func:`block_padding` is the margin a block needs.
"""

from __future__ import annotations

import numpy as np

from ._arrays import (
    channel_bounds,
    check_image,
    float_bounds,
    from_channels_first,
    pad_reflect,
    to_channels_first,
    to_dtype,
)
from ._color import from_opponent, to_opponent
from ._interrupts import interruptible
from .backends import padding, select
from .backends._contract import PADDING_RULES, SLAB_ALIGN, is_time_stack
from .params import COMBINED, Params, radii
from .sure import combined_estimate

#: Candidate-pixel products (shifts × strengths × channels × output pixels) per
#: kernel call: a longer denoise runs in slabs along its first axis of about this
#: much work (about a second on two CPU cores), so that Ctrl-C is seen and
#: progress shown between them. Every output pixel depends only on its own padded
#: neighbourhood, so slabs change values only by float32 rounding (running sums
#: restart at a slab's edge): far below the 1e-4 agreement with the oracle.
SLAB_WORK = 1e9
#: ... and at least this many times their margin along that axis thick.
SLAB_HALOS = 4


def estimate_planes(backend, planes: np.ndarray, params: Params, progress=None) -> np.ndarray:
    """float32 (C, *S) NLM estimate of ``planes`` on ``backend`` with ``params``.

    With ``params.h_chroma`` the 3 planes are filtered in the opponent space,
    luminance with h and chrominance with h_chroma (one kernel run with both
    strengths, the patch distances being those of RGB), then turned back to RGB.

    Long runs go in slabs along the first spatial axis of about
    :data:`SLAB_WORK` each, every slab mirror-padded on its own (the true
    borders reflected, the rest taken from the neighbouring rows), so the
    working memory beyond the input and the output is one padded slab;
    ``progress(done, total)`` is called after each, in units of that axis.
    """
    ndim = planes.ndim - 1
    f, r = radii(params.f, ndim), radii(params.r, ndim)
    pad = padding(params.method, f, r)
    chroma = params.h_chroma is not None
    extent = planes.shape[1]
    shifts = np.prod([2 * rk + 1 for rk in r]) * (2 if chroma else 1)
    per_row = shifts * np.prod(planes.shape[2:]) * planes.shape[0]
    # At least SLAB_HALOS times the patch margin thick, so that the margin each slab
    # recomputes stays a small share of its work. The search radius is not part of
    # it (the shifts only read those rows): with a large r a slab stays a few rows,
    # and the work between two interrupt checks bounded.
    # Time stacks: the frame-pair kernel also computes the pairs of the r_t context frames.
    halo = pad[0] if is_time_stack(f, r) else pad[0] - r[0]
    rows = max(1, int(SLAB_WORK // per_row), SLAB_HALOS * halo)
    if rows < extent:
        rows = -(-extent // -(-extent // rows))  # even slabs
        # Cut where the method's result does not depend on the cut (NL-Bayes' tiles).
        align = SLAB_ALIGN.get(params.method, 1)
        rows = -(-rows // align) * align
    # Source row of every padded row along the first axis (mirror reflection).
    source_rows = np.pad(np.arange(extent), pad[0], mode="reflect")
    estimate = np.empty(planes.shape, dtype=np.float32)
    for start in range(0, extent, rows):
        stop = min(start + rows, extent)
        if start == 0 and stop == extent:
            slab = planes
            first_axis = pad[0]
        else:
            slab = planes[:, source_rows[start : stop + 2 * pad[0]]]
            first_axis = 0
        if chroma:
            slab = to_opponent(slab)
        block = pad_reflect(slab, (first_axis, *pad[1:]))
        del slab
        estimate[:, start:stop] = _estimate_padded(backend, block, params, f, r)
        del block
        if progress is not None:
            progress(stop, extent)
    return from_opponent(estimate) if chroma else estimate


def _estimate_padded(backend, padded, params: Params, f, r) -> np.ndarray:
    """Return the backend's float32 (C, *S) estimate of already padded planes.

    With ``params.h_chroma`` the planes are the opponent ones and stay so:
    luminance from the run with h, chrominance from the run with h_chroma (one
    kernel call with both strengths).
    """
    two = params.h_chroma is not None and params.h_chroma != params.h
    strengths = [params.h, params.h_chroma] if two else [params.h]
    compute = interruptible(backend.methods[params.method])
    estimates = compute(padded, f, r, params.sigma, strengths, patch_kernel=params.patch_kernel)
    estimate = estimates[0]
    if two:
        estimate[1:] = estimates[-1][1:]
    return estimate


def finish(estimate: np.ndarray, dtype, low, high) -> np.ndarray:
    """float32 (C, *S) ``estimate`` in ``dtype``, each channel clipped to its [low, high].

    Each value is a convex combination of input values (with h_chroma, of
    opponent planes): the clip removes the float32 rounding (and the chroma
    overshoot) so that every channel stays within its input [min, max] exactly.
    """
    estimate = to_dtype(estimate, dtype, overwrite=True)
    index = (slice(None),) + (None,) * (estimate.ndim - 1)
    np.clip(estimate, np.asarray(low)[index], np.asarray(high)[index], out=estimate)
    return estimate


def denoise_padded_block(
    padded: np.ndarray, params: Params, *, dtype, bounds, backend: str = "auto"
) -> np.ndarray:
    """Denoise one already padded block: the per-chunk step of :mod:`nlmeans.dask`.

    :func:`nlmeans.denoise` after its padding: the block's estimate with ``params``,
    cast to ``dtype`` (integers rounded) and clipped per channel to ``bounds``,
    exactly as :func:`nlmeans.denoise` finishes a whole image. Nothing is padded here.

    Parameters
    ----------
    padded : ndarray
        float32 (C, S_1 + 2 p_1, …, S_D + 2 p_D): the block's C planes (RGB with
        ``params.h_chroma``) with a margin of ``p = padding(params.method, f, r)``
        on every side, taken from the image's neighbouring pixels, or at the
        image's borders its ``np.pad(mode="reflect")`` extension.
    params : Params
        Resolved parameters (:func:`nlmeans.resolve_params`), used as they are.
    dtype : dtype
        The input image's dtype, that of the result.
    bounds : (array_like, array_like)
        Per-channel (min, max) of the whole input image: what :func:`nlmeans.denoise`
        clips each channel to.
    backend : str
        As in :func:`nlmeans.denoise`.

    Returns
    -------
    ndarray
        (C, S_1, …, S_D) in ``dtype``, channels first.

    References
    ----------
    Buades, Coll & Morel, "Non-Local Means Denoising", IPOL 2011.
    """
    ndim = padded.ndim - 1
    if params.method == COMBINED:
        # Each term pads the block again; the block's own margin, as deep as the
        # deepest term needs, holds every pixel whose value that touches: crop it.
        margin = block_padding(params, ndim)
        inner = (slice(None),) + tuple(
            slice(p, n - p) for p, n in zip(margin, padded.shape[1:], strict=True)
        )
        estimate = combined_estimate(select(backend, None, ndim), padded, params)[inner]
        return finish(np.ascontiguousarray(estimate), dtype, bounds[0], bounds[1])
    f, r = radii(params.f, ndim), radii(params.r, ndim)
    chosen = select(backend, params.method, ndim, params.patch_kernel)
    if params.h_chroma is None:
        estimate = _estimate_padded(chosen, padded, params, f, r)
    else:
        estimate = from_opponent(_estimate_padded(chosen, to_opponent(padded), params, f, r))
    return finish(estimate, dtype, bounds[0], bounds[1])


def denoise_frames_block(
    block: np.ndarray,
    params: Params,
    *,
    context: int,
    channel_axis: int | None = None,
    backend: str = "auto",
    motion: bool = False,
) -> np.ndarray:
    """Denoise the middle frames of ``block``, a run of a time stack with its neighbours.

    ``block`` holds T frames along its first axis: ``context`` neighbour frames
    (taken from the stack, or at its ends its mirror reflection), the frames to
    denoise, and ``context`` more; ``context`` is the time padding of the
    method (:func:`block_padding`, or r_t with ``motion``). The result is those
    frames as :func:`nlmeans.denoise` of the whole stack gives them, clipped to the
    block's per-channel [min, max] (a video streamed a few frames at a time).

    Returns
    -------
    ndarray
        (T − 2 context, …) in ``block``'s dtype, channels where ``channel_axis`` says.

    References
    ----------
    Buades, Coll & Morel, "Non-Local Means Denoising", IPOL 2011.
    """
    planes = to_channels_first(check_image(block), channel_axis)
    bounds = float_bounds(planes) if planes.dtype.kind == "f" else channel_bounds(planes)
    ndim = planes.ndim - 1
    if motion:
        from .backends._motion import motion_planes

        estimate = motion_planes(select(backend, "pixel", ndim), planes, params, context=True)
        result = finish(estimate, block.dtype, bounds[0], bounds[1])
    else:
        margin = block_padding(params, ndim)
        if margin[0] != context:
            raise ValueError(f"context={context} frames, the method pads time by {margin[0]}")
        padded = pad_reflect(planes, (0, *margin[1:]))
        result = denoise_padded_block(
            padded, params, dtype=block.dtype, bounds=bounds, backend=backend
        )
    return from_channels_first(result, channel_axis)


def block_padding(params: Params, ndim: int) -> tuple[int, ...]:
    """Return the margin per spatial axis a block needs for :func:`denoise_padded_block`.

    The method's padding; for a combination, the deepest of its terms'.
    """
    if params.method != COMBINED:
        return padding(params.method, radii(params.f, ndim), radii(params.r, ndim))
    terms = [
        padding(term.method, radii(term.f, ndim), radii(term.r, ndim))
        for term in params.components
        if term.method in PADDING_RULES
    ]
    return tuple(int(v) for v in np.max(terms, axis=0)) if terms else (0,) * ndim
