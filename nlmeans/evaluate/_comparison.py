"""Comparisons: every denoiser on the same noisy image, scored against the clean one."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np

from .._request import Request
from .._resolve import resolve_request
from ..params import Params
from ..sure import tune as tune_params
from ._metrics import add_noise, psnr, ssim
from ._peers import Method, methods_for

#: Side of the crop each method is warmed up on before it is timed.
WARM_UP_SIDE = 32


@dataclass
class Row:
    """One line of a comparison: a method's quality and (warm) time."""

    method: str
    psnr: float
    ssim: float | None  # None for images smaller than the SSIM window
    seconds: float | None = None
    speedup: float | None = None


@dataclass
class Comparison:
    """The comparison on one image: the rows, the parameters and the estimates."""

    name: str
    shape: tuple
    params: Params
    rows: list[Row]
    method_parameters: dict
    estimates: dict = field(repr=False, default_factory=dict)
    #: Seconds spent choosing the parameters by SURE (not in nlmeans' time), if tuned.
    tuning_seconds: float | None = None


def timed_run(method: Method, noisy: np.ndarray, params: Params, repeat: int):
    """Warm ``method`` up on a crop, then return (estimate, best time of ``repeat`` runs)."""
    method.run(noisy[:WARM_UP_SIDE, :WARM_UP_SIDE], params)
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        estimate = method.run(noisy, params)
        best = min(best, time.perf_counter() - start)
    return estimate, best


def compare(
    name: str,
    clean: np.ndarray,
    noisy: np.ndarray,
    params: Params,
    methods: list[Method],
    repeat: int = 1,
) -> Comparison:
    """Run every method on ``noisy`` and score it against ``clean``.

    Parameters
    ----------
    name : str
        Label of the image (its file name).
    clean, noisy : ndarray
        float64 on the 8-bit scale, (H, W) or (H, W, C).
    params : Params
        The resolved nlmeans parameters (raw units = 8-bit scale here); the other
        methods get their equivalents (:func:`skimage_parameters`,
        :func:`opencv_parameters`), pixelwise whatever ``params.method``.
    methods : list of Method
        From :func:`methods_for`.
    repeat : int
        Timed runs per method after the warm-up; the best is kept.

    Returns
    -------
    Comparison
        A "noisy" row, then one row per method with PSNR (dB), SSIM, seconds
        and the speed-up over scikit-image (its seconds / the method's).
    """
    rows = [Row("noisy", psnr(clean, noisy), ssim(clean, noisy))]
    estimates = {"noisy": noisy}
    for method in methods:
        estimate, seconds = timed_run(method, noisy, params, repeat)
        estimates[method.name] = estimate
        rows.append(Row(method.name, psnr(clean, estimate), ssim(clean, estimate), seconds))
    baseline = next((row.seconds for row in rows if row.method == "scikit-image"), None)
    for row in rows:
        if row.seconds and baseline:
            row.speedup = baseline / row.seconds
    return Comparison(
        name,
        tuple(clean.shape),
        params,
        rows,
        {method.name: method.parameters for method in methods},
        estimates,
    )


def mean_rows(comparisons: list[Comparison]) -> list[Row]:
    """Per-method means of PSNR, SSIM and seconds over several images.

    The speed-up is that of the mean times.
    """
    names = [row.method for row in comparisons[0].rows]
    means = []
    for name in names:
        rows = [row for c in comparisons for row in c.rows if row.method == name]
        times = [row.seconds for row in rows if row.seconds is not None]
        means.append(
            Row(
                name,
                float(np.mean([row.psnr for row in rows])),
                _mean_or_none([row.ssim for row in rows]),
                float(np.mean(times)) if times else None,
            )
        )
    baseline = next((row.seconds for row in means if row.method == "scikit-image"), None)
    for row in means:
        if row.seconds and baseline:
            row.speedup = baseline / row.seconds
    return means


def _mean_or_none(values: list) -> float | None:
    """Return the mean, or None when some value is missing (an SSIM left out)."""
    return None if any(v is None for v in values) else float(np.mean(values))


def compare_image(
    clean: np.ndarray,
    noisy: np.ndarray | None = None,
    *,
    noise_sigma: float | None = None,
    seed: int = 0,
    known_sigma: bool = False,
    request: Request | None = None,
    opencv: bool | None = None,
    repeat: int = 1,
    name: str = "image",
) -> Comparison:
    """Nlmeans against scikit-image (and OpenCV) on one image: PSNR, SSIM and warm time.

    Parameters
    ----------
    clean : ndarray
        The clean image on the 8-bit scale (float64; :func:`to_8bit_scale`),
        (H, W) gray or (H, W, C) colour.
    noisy : ndarray, optional
        Its noisy version on the same scale. Give this or ``noise_sigma``.
    noise_sigma : float, optional
        Add white Gaussian noise of this standard deviation (8-bit units,
        float, unclipped) from ``numpy.random.default_rng(seed)``.
    seed : int
        Seed of the added noise.
    known_sigma : bool
        Give the denoisers ``noise_sigma`` instead of the noise estimated from
        the noisy image.
    request : Request, optional
        nlmeans' choices (:class:`nlmeans.Request`; h in 8-bit units)
        and backend; unset parameters are resolved from the noisy image as
        :func:`nlmeans.denoise` does, or tuned by SURE with ``tune`` (its time
        kept apart, in ``tuning_seconds``) when ``tune`` is True (not by
        default: the peers take the same parameters). Default: every choice
        unset.
    opencv : bool, optional
        Include OpenCV (default: when ``cv2`` is importable).
    repeat : int
        Timed runs per method after a warm-up on a crop; the best is kept.
    name : str
        Label of the image.

    Returns
    -------
    Comparison
        The rows (noisy, nlmeans, scikit-image, OpenCV) with PSNR (dB), SSIM,
        seconds and speed-up over scikit-image, and the estimates.

    Examples
    --------
    >>> import numpy as np
    >>> from skimage import data
    >>> clean = data.camera()[:64, :64].astype(np.float64)
    >>> result = compare_image(clean, noise_sigma=20, opencv=False)
    >>> [row.method for row in result.rows]
    ['noisy', 'nlmeans', 'scikit-image']
    """
    if (noisy is None) == (noise_sigma is None):
        raise ValueError("give exactly one of noisy or noise_sigma")
    if noisy is None:
        noisy = add_noise(clean, noise_sigma, seed)
    request = replace(
        request if request is not None else Request(),
        sigma=noise_sigma if known_sigma else None,
        channel_axis=None if noisy.ndim == 2 else -1,
        data_range=255.0,
    )
    tuning_seconds = None
    if request.tune_asked:  # the same parameters for every peer: the presets unless asked
        start = time.perf_counter()
        params = tune_params(
            noisy, request.sigma, method=request.method, backend=request.backend,
            **request.keywords("h", "f", "r", "channel_axis", "data_range", "h_chroma"),
        )  # fmt: skip
        tuning_seconds = time.perf_counter() - start
    else:
        params = resolve_request(noisy, request)
    methods = methods_for(params, request.backend, opencv=opencv)
    comparison = compare(name, clean, noisy, params, methods, repeat)
    comparison.tuning_seconds = tuning_seconds
    return comparison
