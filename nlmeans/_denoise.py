"""The front door: arrays in, arrays out.

check → resolve (or tune) → pad → dispatch to a backend → cast. The command
line, batch, evaluation and the tuner all denoise through :func:`denoise`.
"""

from __future__ import annotations

from dataclasses import replace

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
from ._mapped import denoise_mapped, is_mapped
from ._memory import check_denoise_memory
from .backends import padding, select
from .backends._contract import PADDING_RULES, SLAB_ALIGN, is_time_stack
from .errors import NLMeansError
from .noise import estimate_sigma
from .noise._models import GAUSSIAN, POISSON_GAUSSIAN, check_noise, resolve_poisson_gaussian
from .params import (
    COMBINED,
    Params,
    check_components,
    check_patch_kernel,
    image_data_range,
    radii,
    resolve,
)
from .sure import combined_estimate
from .sure import tune as tune_params

#: Candidate-pixel products (shifts × strengths × channels × output pixels) per
#: kernel call: a longer denoise runs in slabs along its first axis of about this
#: much work (about a second on two CPU cores), so that Ctrl-C is seen and
#: progress shown between them. Every output pixel depends only on its own padded
#: neighbourhood, so slabs change values only by float32 rounding (running sums
#: restart at a slab's edge): far below the 1e-4 agreement with the oracle.
SLAB_WORK = 1e9
#: ... and at least this many times their margin along that axis thick.
SLAB_HALOS = 4


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
    image = check_image(image)
    planes = to_channels_first(image, channel_axis)
    return _resolve_planes(
        image, planes, h, sigma, f, r, channel_axis, data_range, method, h_chroma, patch_kernel
    )


def _resolve_planes(
    image, planes, h, sigma, f, r, channel_axis, data_range, method, h_chroma, patch_kernel
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
        ndim=planes.ndim - 1,
        patch_kernel=patch_kernel,
    )


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
    """The backend's float32 (C, *S) estimate of already padded planes.

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


def _finish(estimate: np.ndarray, dtype, low, high) -> np.ndarray:
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

    :func:`denoise` after its padding: the block's estimate with ``params``,
    cast to ``dtype`` (integers rounded) and clipped per channel to ``bounds``,
    exactly as :func:`denoise` finishes a whole image. Nothing is padded here.

    Parameters
    ----------
    padded : ndarray
        float32 (C, S_1 + 2 p_1, …, S_D + 2 p_D): the block's C planes (RGB with
        ``params.h_chroma``) with a margin of ``p = padding(params.method, f, r)``
        on every side, taken from the image's neighbouring pixels, or at the
        image's borders its ``np.pad(mode="reflect")`` extension.
    params : Params
        Resolved parameters (:func:`resolve_params`), used as they are.
    dtype : dtype
        The input image's dtype, that of the result.
    bounds : (array_like, array_like)
        Per-channel (min, max) of the whole input image: what :func:`denoise`
        clips each channel to.
    backend : str
        As in :func:`denoise`.

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
        return _finish(np.ascontiguousarray(estimate), dtype, bounds[0], bounds[1])
    f, r = radii(params.f, ndim), radii(params.r, ndim)
    chosen = select(backend, params.method, ndim, params.patch_kernel)
    if params.h_chroma is None:
        estimate = _estimate_padded(chosen, padded, params, f, r)
    else:
        estimate = from_opponent(_estimate_padded(chosen, to_opponent(padded), params, f, r))
    return _finish(estimate, dtype, bounds[0], bounds[1])


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
    frames as :func:`denoise` of the whole stack gives them, clipped to the
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
        result = _finish(estimate, block.dtype, bounds[0], bounds[1])
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
    """The margin per spatial axis a block needs for :func:`denoise_padded_block`.

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


def _denoise_stabilised(image, planes, params, model_values, sigma, data_range, options):
    """float32 (C, *S) raw-unit estimate under a noise model, and its Params.

    The image is stabilised by the model (:meth:`PoissonGaussian.stabilize`),
    denoised at σ = 1 with the other options (or ``params`` without its model),
    and mapped back (:meth:`PoissonGaussian.invert`). The stabilised image's
    data range (for the presets' 8-bit scale) is its own max − min, or the
    transform of ``data_range`` above the offset when given.
    """
    if sigma is not None:
        raise NLMeansError(
            "sigma= does not apply to noise='poisson-gaussian' (the stabilised noise has "
            "sigma 1); give gain= and read_noise= instead"
        )
    if params is not None:
        if any(value is not None for value in model_values):
            raise NLMeansError(
                "params= carries its noise model; leave gain, read_noise and offset unset"
            )
        model, inner = params.noise_model, replace(params, noise_model=None)
    else:
        model, inner = resolve_poisson_gaussian(planes, *model_values), None
    stable = model.stabilize(image)
    if data_range is None:
        span = float(stable.max() - stable.min())
        data_range = span if span > 0 else 1.0
    else:
        ends = model.stabilize(np.array([model.offset, model.offset + data_range]))
        data_range = float(ends[1] - ends[0])
    if inner is not None:
        options = {k: v for k, v in options.items() if k not in ("h", "f", "r", "method", "tune",
                                                                 "h_chroma")}  # fmt: skip
        result, used = denoise(stable, data_range=data_range, params=inner, return_params=True,
                               **options)  # fmt: skip
    else:
        result, used = denoise(stable, sigma=1.0, data_range=data_range, return_params=True,
                               **options)  # fmt: skip
    estimate = model.invert(to_channels_first(result, options["channel_axis"]))
    return estimate, replace(used, noise_model=model)


#: SURE tunes and combines for a noise sigma up to this many times the data range:
#: beyond it the noise hides the image entirely and the fitted weights overflow.
MAX_TUNING_SIGMA = 4.0


def _check_tuning_sigma(image, sigma, data_range) -> None:
    """NLMeansError naming ``sigma`` and its range when SURE cannot tune for it."""
    if sigma is None:
        return
    limit = MAX_TUNING_SIGMA * (data_range if data_range is not None else image_data_range(image))
    if not float(sigma) <= limit:
        raise NLMeansError(
            f"sigma={sigma:g} is out of range for tuning or the combined method: expected at "
            f"most {limit:g} ({MAX_TUNING_SIGMA:g} times the data range); noise that large "
            "hides the image (give h instead of tuning)"
        )


def _channel_axis_for(image: np.ndarray, channel_axis):
    """``channel_axis`` as given, or for "auto" -1 (with a UserWarning) for a 3-D array whose
    last axis has 3 or 4 entries (a photo), else None (every axis spatial)."""
    if not (isinstance(channel_axis, str) and channel_axis == "auto"):
        return channel_axis
    if image.ndim == 3 and image.shape[-1] in (3, 4):
        import warnings

        warnings.warn(
            f"an array of shape {image.shape} is taken as a color image, channels last "
            "(channel_axis=-1); pass channel_axis=-1 to say so, or channel_axis=None for a "
            "3-D volume",
            UserWarning,
            stacklevel=3,
        )
        return -1
    return None


def denoise(
    image: np.ndarray,
    h: float | None = None,
    sigma: float | None = None,
    *,
    f=None,
    r=None,
    channel_axis: int | None | str = "auto",
    data_range: float | None = None,
    backend: str = "auto",
    return_params: bool = False,
    method: str | None = None,
    tune: bool = False,
    h_chroma: float | None = None,
    patch_kernel: str = "uniform",
    progress=None,
    params: Params | None = None,
    mask=None,
    noise: str = GAUSSIAN,
    gain: float | None = None,
    read_noise: float | None = None,
    offset: float | None = None,
    coils: int = 1,
    motion: bool = False,
):
    """Denoise ``image`` with pixelwise (or patchwise) non-local means.

    Implements the estimate of Buades, Coll & Morel (CVPR 2005; IPOL 2011):
    ``û(p) = Σ_q w(p,q) u(q) / Σ_q w(p,q)`` over the search window (2r_k+1
    pixels along each spatial axis k), ``w(p,q) = exp(-max(d²(p,q) - 2σ², 0) / h²)``
    with ``d²`` the mean squared difference of the patches (2f_k+1 along axis
    k) over all channels. Borders are extended by mirror reflection
    (``np.pad(mode="reflect")``). Images, volumes and time stacks alike: a
    time stack is a volume whose first axis is time, usually with ``f=(0, …)``
    (2-D patches compared across frames) and a small ``r`` on that axis.

    Parameters
    ----------
    image : ndarray
        uint8, uint16, float32 or float64 with 2, 3 or 4 spatial axes; with
        ``channel_axis=None`` every axis is spatial.
    h, sigma, f, r, data_range
        As in :func:`resolve_params`; unset ones are resolved from the image.
        ``sigma`` may also be an array over the spatial axes, σ per pixel (a σ
        map; pixelwise only): h is then resolved for the map's root mean square
        σ₀ and each pair of pixels is weighed with its own noise level
        (:mod:`nlmeans.backends.reference` states the rule).
    channel_axis : int, None or "auto"
        The axis holding the channels, or None when every axis is spatial.
        "auto" (the default): a 3-D array whose last axis has 3 or 4 entries
        (an RGB or RGBA photo) is taken as color, channels last, with a
        UserWarning saying so — never silently as a volume; any other array
        as all spatial. Pass ``channel_axis=None`` for a volume of 3 or 4
        slices along its last axis, ``channel_axis=-1`` to silence the warning.
    method : {"pixel", "patch", "combined", "bayes"}, optional
        Pixelwise (the default) or patchwise NLM (Buades, Coll & Morel, IPOL 2011):
        each patch gets the weighted mean of its candidates and each pixel averages
        the estimates of the (2f+1)² patches that contain it. "combined": a
        linear combination of several pixel and patch estimates and the noisy
        image, with weights minimising SURE (:func:`nlmeans.tune`; Blu &
        Luisier, IEEE TIP 2007); its terms are ``Params.components``. "bayes":
        NL-Bayes (Lebrun, Buades & Morel 2013), the Wiener estimate of groups
        of similar patches in two steps; ``h`` is the square root of the noise
        variance its filters subtract (default σ), f and r from its own presets
        (:mod:`nlmeans.backends.reference_bayes`).
    tune : bool
        Choose the unset ``h``, ``f``, ``r`` and ``method`` (and, for a
        3-channel image, ``h_chroma``) by minimising SURE (:func:`nlmeans.tune`)
        instead of taking the presets; "combined" when that lowers SURE by 2 %.
    h_chroma : float, optional
        As in :func:`resolve_params`: a chrominance filtering strength for a
        3-channel image, which is then filtered in luminance–chrominance planes.
    patch_kernel : {"uniform", "gaussian"}
        As in :func:`resolve_params`: the mean over the patch (the default) or its
        Gaussian-weighted mean (Buades, Coll & Morel, CVPR 2005). ``tune`` takes
        the uniform kernel only.
    backend : {"auto", "cpu", "cuda", "reference"}
        "auto" picks the fastest available; "reference" is the slow NumPy oracle.
    return_params : bool
        Also return the resolved :class:`Params`.
    progress : callable, optional
        ``progress(done, total)``, called as a long run advances along the
        first spatial axis (for progress bars).
    params : Params, optional
        Denoise with these parameters as they are (e.g. the ones a previous
        call returned, a combination included); ``h``, ``sigma``, ``f``,
        ``r``, ``method``, ``h_chroma`` and ``tune`` must then be left unset.
    mask : array_like of bool, optional
        Over the spatial axes: only the pixels inside are denoised (the others
        are returned bit for bit) and only candidates inside are averaged in.
    noise : {"gaussian", "poisson-gaussian", "rician"}
        The noise model. "gaussian" (the default): white Gaussian noise of one
        σ (a scalar, or a per-pixel map given as ``sigma``). "poisson-gaussian":
        z = gain·P(y / gain) + N(offset, read_noise²),
        e.g. photon-limited microscopy or low-light camera data: the image is
        variance-stabilised by the generalized Anscombe transform, denoised at
        σ = 1 (``h``, ``tune`` and the presets then apply to the stabilised
        image, and ``sigma`` must be unset), and mapped back by the exact
        unbiased inverse (:mod:`nlmeans.noise._anscombe`; Mäkitalo & Foi 2013).
        "rician": a magnitude image (MRI); the weights come from the image, the
        averages are of its square, and ``sqrt(max(NLM(m²) − 2Nσ², 0))`` is
        returned (:mod:`nlmeans._rician`); sigma, when unset, is read from the
        background.
    gain, read_noise, offset : float, optional
        ``noise="poisson-gaussian"``: the gain a > 0 (raw units per count), the
        read noise σ_r >= 0 and the offset μ (raw units). Unset gain or read
        noise are estimated from the image (local variance against local mean,
        Foi et al. 2008; :mod:`nlmeans.noise._poisson_fit`); an unset offset is 0.
        The resolved values are in ``Params.noise_model``.
    coils : int
        N for ``noise="rician"``: coils combined by sum of squares (noncentral χ).
    motion : bool
        Time stacks (time first, ``f=(0, f, f)``): centre the search box of each
        pixel in each neighbour frame on its block's displacement, found by
        coarse-to-fine block matching (:mod:`nlmeans.backends._motion`); the
        formula inside the box is unchanged. Pixelwise, one h, no tuning.

    Returns
    -------
    ndarray, or (ndarray, Params) when ``return_params``
        The denoised image, same shape and dtype as ``image`` (integers are
        rounded and clipped).

    References
    ----------
    A. Buades, B. Coll, J.-M. Morel, "A non-local algorithm for image
    denoising", CVPR 2005; "Non-Local Means Denoising", IPOL 1 (2011).

    Examples
    --------
    >>> import numpy as np
    >>> import nlmeans
    >>> rng = np.random.default_rng(0)
    >>> noisy = np.clip(128 + rng.normal(0, 20, (64, 64)), 0, 255).astype(np.uint8)
    >>> clean = nlmeans.denoise(noisy, h=10, sigma=20, f=1, r=5)
    >>> float(clean.std()) < float(noisy.std())
    True
    """
    image = check_image(image)
    channel_axis = _channel_axis_for(image, channel_axis)
    stabilised = check_noise(noise, gain, read_noise, offset) == POISSON_GAUSSIAN
    if motion and (stabilised or is_mapped(sigma, mask, noise, coils)):
        raise NLMeansError(
            "motion=True is not available with a sigma map, a mask or noise other than 'gaussian'"
        )
    if motion and tune:
        raise NLMeansError("motion=True takes given or preset parameters, not tune=True")
    if is_mapped(sigma, mask, noise, coils):
        if stabilised:
            raise NLMeansError(
                "noise='poisson-gaussian' is not available with a sigma map or a mask"
            )
        return denoise_mapped(
            image, h, sigma, mask=mask, noise=noise, coils=coils, f=f, r=r,
            channel_axis=channel_axis, data_range=data_range, backend=backend,
            return_params=return_params, method=method, tune=tune, h_chroma=h_chroma,
            patch_kernel=patch_kernel, progress=progress, params=params,
        )  # fmt: skip
    planes = to_channels_first(image, channel_axis)
    check_denoise_memory(planes)  # before anything allocates a copy of the image
    if planes.dtype.kind == "f":
        bounds = float_bounds(planes)  # also refuses NaN, Inf and magnitudes float32 cannot square
    else:
        bounds = channel_bounds(planes)
    if stabilised or (params is not None and getattr(params, "noise_model", None) is not None):
        estimate, params = _denoise_stabilised(
            image, planes, params, (gain, read_noise, offset), sigma, data_range,
            dict(h=h, f=f, r=r, channel_axis=channel_axis, backend=backend, method=method,
                 tune=tune, h_chroma=h_chroma, patch_kernel=patch_kernel, progress=progress),
        )  # fmt: skip
        estimate = _finish(estimate, image.dtype, bounds[0], bounds[1])
        result = from_channels_first(estimate, channel_axis)
        return (result, params) if return_params else result
    if params is not None:
        given = (h, sigma, f, r, method, h_chroma)
        if any(value is not None for value in given) or tune or not isinstance(params, Params):
            raise NLMeansError(
                "params= is a Params record and replaces h, sigma, f, r, method, h_chroma, tune"
            )
        if params.method == COMBINED:
            params = replace(params, components=check_components(params.components, len(planes)))
    elif tune or method == COMBINED:
        _check_tuning_sigma(image, sigma, data_range)
        if check_patch_kernel(patch_kernel) != "uniform":
            raise NLMeansError(
                f"tune=True chooses parameters for the uniform patch kernel only, not "
                f"patch_kernel={patch_kernel!r}; give h (and f, r) to use it"
            )
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
            image, planes, h, sigma, f, r, channel_axis, data_range, method, h_chroma,
            patch_kernel,
        )  # fmt: skip
    ndim = planes.ndim - 1
    if motion:
        from .backends._motion import motion_planes

        chosen = select(backend, "pixel", ndim)
        estimate = motion_planes(chosen, planes, params)
        if progress is not None:
            progress(planes.shape[1], planes.shape[1])
    elif params.method == COMBINED:
        # One sweep per (method, f, r) of the terms, each with all its strengths.
        chosen = select(backend, None, ndim)
        check_denoise_memory(planes, block_padding(params, ndim))
        estimate = combined_estimate(chosen, planes, params)
    else:
        chosen = select(backend, params.method, ndim, params.patch_kernel)
        check_denoise_memory(
            planes, padding(params.method, radii(params.f, ndim), radii(params.r, ndim))
        )
        estimate = estimate_planes(chosen, planes, params, progress)
    # Each value is a convex combination of input values (with h_chroma, of opponent
    # planes; a combination's negative weights overshoot too): _finish clips every
    # channel to its input [min, max].
    estimate = _finish(estimate, image.dtype, bounds[0], bounds[1])
    result = from_channels_first(estimate, channel_axis)
    return (result, params) if return_params else result
