"""The core ``denoise``: arrays in, arrays out.

check → resolve (:mod:`nlmeans._resolve`) or tune → dispatch to a backend over the padded planes
(:mod:`nlmeans._blocks`) → cast. :func:`denoise` (``nlmeans.denoise``) makes
the :class:`~nlmeans.Request` of its keyword arguments and
:func:`denoise_request` runs it: the command line, batch, evaluation and the
tuner all denoise through it.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ._arrays import (
    channel_bounds,
    check_image,
    float_bounds,
    from_channels_first,
    to_channels_first,
)
from ._blocks import block_padding, estimate_planes, finish
from ._mapped import denoise_mapped, is_mapped
from ._memory import check_denoise_memory
from ._request import Request
from ._resolve import resolve_planes
from .backends import padding, select
from .errors import NLMeansError
from .noise._models import GAUSSIAN, POISSON_GAUSSIAN, resolve_poisson_gaussian
from .params import COMBINED, Params, check_components, image_data_range, radii
from .sure import combined_estimate
from .sure import tune as tune_params


def _denoise_stabilised(image, planes, request: Request, params, progress):
    """float32 (C, *S) raw-unit estimate under a noise model, and its Params.

    The image is stabilised by the model (:meth:`PoissonGaussian.stabilize`),
    denoised at σ = 1 with the rest of ``request`` (or ``params`` without its
    model), and mapped back (:meth:`PoissonGaussian.invert`). The stabilised
    image's data range (for the presets' 8-bit scale) is its own max − min, or
    the transform of ``request.data_range`` above the offset when given.
    """
    q = request
    if q.sigma is not None:
        raise NLMeansError(
            "sigma= does not apply to noise='poisson-gaussian' (the stabilised noise has "
            "sigma 1); give gain= and read_noise= instead"
        )
    model_values = (q.gain, q.read_noise, q.offset)
    if params is not None:
        if any(value is not None for value in model_values):
            raise NLMeansError(
                "params= carries its noise model; leave gain, read_noise and offset unset"
            )
        model, inner = params.noise_model, replace(params, noise_model=None)
    else:
        model, inner = resolve_poisson_gaussian(planes, *model_values), None
    stable = model.stabilize(image)
    if q.data_range is None:
        span = float(stable.max() - stable.min())
        data_range = span if span > 0 else 1.0
    else:
        ends = model.stabilize(np.array([model.offset, model.offset + q.data_range]))
        data_range = float(ends[1] - ends[0])
    gaussian = replace(
        q, noise=GAUSSIAN, gain=None, read_noise=None, offset=None, data_range=data_range,
        sigma=None if inner is not None else 1.0,
    )  # fmt: skip
    result, used = denoise_request(
        stable, gaussian, params=inner, progress=progress, return_params=True
    )
    estimate = model.invert(to_channels_first(result, q.channel_axis))
    return estimate, replace(used, noise_model=model)


#: SURE tunes and combines for a noise sigma up to this many times the data range:
#: beyond it the noise hides the image entirely and the fitted weights overflow.
MAX_TUNING_SIGMA = 4.0


def _tuning_sigma_error(image, sigma, data_range) -> str | None:
    """Return the message naming ``sigma`` and its range when SURE cannot tune for it, or None."""
    if sigma is None:
        return None
    limit = MAX_TUNING_SIGMA * (data_range if data_range is not None else image_data_range(image))
    if float(sigma) <= limit:
        return None
    return (
        f"sigma={sigma:g} is out of range for tuning or the combined method: expected at "
        f"most {limit:g} ({MAX_TUNING_SIGMA:g} times the data range); noise that large "
        "hides the image (give h instead of tuning)"
    )


def tunes(request: Request, image: np.ndarray, mask=None) -> bool:
    """Whether :func:`denoise_request` has SURE choose the parameters of ``image``.

    As asked (``tune=True``, the combined or auto method: an NLMeansError where
    it cannot), or by default (``tune`` None, :attr:`Request.tuned`) where it
    can: without a mask, and for a σ up to :data:`MAX_TUNING_SIGMA` times the
    data range (beyond it, and with a mask, the presets).
    """
    if not request.tuned or (mask is not None and not request.tune_asked):
        return False
    error = _tuning_sigma_error(image, request.sigma, request.data_range)
    if error is not None and request.tune_asked:
        raise NLMeansError(error)
    return error is None


def _channel_axis_for(image: np.ndarray, channel_axis):
    """Return ``channel_axis`` as given, or the axis "auto" stands for.

    For "auto": -1 (with a UserWarning) for a 3-D array whose last axis has 3
    or 4 entries (a photo), else None (every axis spatial).
    """
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
    tune: bool | None = None,
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
    method : {"pixel", "patch", "combined", "bayes", "auto"}, optional
        Pixelwise (the default) or patchwise NLM (Buades, Coll & Morel, IPOL 2011):
        each patch gets the weighted mean of its candidates and each pixel averages
        the estimates of the (2f+1)² patches that contain it. "combined": a
        linear combination of several pixel and patch estimates and the noisy
        image, with weights minimising SURE (:func:`nlmeans.tune`; Blu &
        Luisier, IEEE TIP 2007); its terms are ``Params.components``. "bayes":
        NL-Bayes (Lebrun, Buades & Morel 2013), the Wiener estimate of groups
        of similar patches in two steps; ``h`` is the square root of the noise
        variance its filters subtract (default σ), f and r from its own presets
        (:mod:`nlmeans.backends.reference_bayes`). "auto" (2-D, tunes): SURE
        chooses between the ``tune`` result and NL-Bayes at its presets
        (:mod:`nlmeans.sure._choice`); none of ``h``, ``f``, ``r``, ``h_chroma``.
    tune : bool, optional
        True: choose the unset ``f``, ``r`` and ``method`` (and ``h``, and for a
        3-channel image ``h_chroma``) by minimising SURE (:func:`nlmeans.tune`);
        "combined" when that lowers SURE by 2 %. None (the default): tune
        whenever ``h`` is not given and SURE can (an NLM method, the uniform
        patch kernel, one σ of at most four times the data range, no mask,
        σ map, Rician noise or ``motion``); otherwise the presets. False: the
        presets (:func:`resolve_params`), the fast path.
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
    request = Request(
        h=h, sigma=sigma, f=f, r=r, method=method, tune=tune, h_chroma=h_chroma,
        patch_kernel=patch_kernel, noise=noise, gain=gain, read_noise=read_noise,
        offset=offset, coils=coils, motion=motion, backend=backend,
        channel_axis=channel_axis, data_range=data_range,
    )  # fmt: skip
    return denoise_request(
        image, request, params=params, mask=mask, progress=progress, return_params=return_params
    )


def denoise_request(
    image: np.ndarray,
    request: Request,
    *,
    params: Params | None = None,
    mask=None,
    progress=None,
    return_params: bool = False,
):
    """:func:`denoise` of ``image`` with the choices of ``request``: the core every path runs.

    ``params``, ``mask``, ``progress`` and ``return_params`` are as in
    :func:`denoise`; ``request`` (:class:`nlmeans.Request`) holds the
    rest, already checked. Its ``axes``, ``threads`` and ``chunks`` concern
    files and the command line, not this call.

    References
    ----------
    A. Buades, B. Coll, J.-M. Morel, "Non-Local Means Denoising", IPOL 1 (2011).
    """
    q = request
    image = check_image(image)
    channel_axis = _channel_axis_for(image, q.channel_axis)
    if channel_axis != q.channel_axis:
        q = replace(q, channel_axis=channel_axis)  # "auto", resolved for this image
    stabilised = q.noise == POISSON_GAUSSIAN
    mapped = is_mapped(q.sigma, mask, q.noise, q.coils)
    if q.motion and (stabilised or mapped):
        raise NLMeansError(
            "motion=True is not available with a sigma map, a mask or noise other than 'gaussian'"
        )
    if mapped:
        if stabilised:
            raise NLMeansError(
                "noise='poisson-gaussian' is not available with a sigma map or a mask"
            )
        return denoise_mapped(
            image, q, mask=mask, progress=progress,
            params=params, return_params=return_params,
        )  # fmt: skip
    planes = to_channels_first(image, channel_axis)
    check_denoise_memory(planes)  # before anything allocates a copy of the image
    if planes.dtype.kind == "f":
        bounds = float_bounds(planes)  # also refuses NaN, Inf and magnitudes float32 cannot square
    else:
        bounds = channel_bounds(planes)
    if stabilised or (params is not None and getattr(params, "noise_model", None) is not None):
        estimate, params = _denoise_stabilised(image, planes, q, params, progress)
        estimate = finish(estimate, image.dtype, bounds[0], bounds[1])
        result = from_channels_first(estimate, channel_axis)
        return (result, params) if return_params else result
    if params is not None:
        given = (q.h, q.sigma, q.f, q.r, q.method, q.h_chroma)
        if any(value is not None for value in given) or q.tune or not isinstance(params, Params):
            raise NLMeansError(
                "params= is a Params record and replaces h, sigma, f, r, method, h_chroma, tune"
            )
        if params.method == COMBINED:
            params = replace(params, components=check_components(params.components, len(planes)))
    elif tunes(q, image):
        params = tune_params(
            image, q.sigma, channel_axis=channel_axis, data_range=q.data_range, h=q.h, f=q.f,
            r=q.r, method=q.method, h_chroma=q.h_chroma, backend=q.backend,
        )  # fmt: skip
    else:
        params = resolve_planes(image, planes, q)
    ndim = planes.ndim - 1
    if q.motion:
        from .backends._motion import motion_planes

        chosen = select(q.backend, "pixel", ndim)
        estimate = motion_planes(chosen, planes, params)
        if progress is not None:
            progress(planes.shape[1], planes.shape[1])
    elif params.method == COMBINED:
        # One sweep per (method, f, r) of the terms, each with all its strengths.
        chosen = select(q.backend, None, ndim)
        check_denoise_memory(planes, block_padding(params, ndim))
        estimate = combined_estimate(chosen, planes, params)
    else:
        chosen = select(q.backend, params.method, ndim, params.patch_kernel)
        check_denoise_memory(
            planes, padding(params.method, radii(params.f, ndim), radii(params.r, ndim))
        )
        estimate = estimate_planes(chosen, planes, params, progress)
    # Each value is a convex combination of input values (with h_chroma, of opponent
    # planes; a combination's negative weights overshoot too): finish clips every
    # channel to its input [min, max].
    estimate = finish(estimate, image.dtype, bounds[0], bounds[1])
    result = from_channels_first(estimate, channel_axis)
    return (result, params) if return_params else result
