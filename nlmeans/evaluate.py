"""Evaluation (DESIGN.md §5): noise synthesis, PSNR/SSIM, and nlmeans against its peers.

Everything is measured on the 8-bit scale: images are converted to float64
with 255 for the dtype's maximum, noise is added in those units without
clipping, and PSNR uses ``data_range=255``. The peers get the parameters that
nlmeans resolved, translated to their own units:

- scikit-image's ``denoise_nl_means`` is fed the float image divided by 255
  (its customary [0, 1] scale) with ``patch_size = 2f+1``,
  ``patch_distance = r``, ``h / 255``, ``sigma / 255`` and ``fast_mode=True``;
  its result is multiplied back by 255.
- OpenCV's ``fastNlMeansDenoising`` needs uint8 input, so it gets the noisy
  image rounded and clipped to [0, 255]; its uint8 result is compared as
  float. Color images are given to it in RGB, like nlmeans (its
  ``fastNlMeansDenoisingColored`` works in CIELAB and scored lower on our
  samples). OpenCV has no sigma term, see :func:`opencv_parameters`.

Each method runs once on a small crop first (this compiles Numba kernels and
loads libraries), then is timed on the full image in the same process.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .params import Params

#: Side of the crop each method is warmed up on before it is timed.
WARM_UP_SIDE = 32


def to_8bit_scale(array: np.ndarray) -> np.ndarray:
    """``array`` as float64 on the 8-bit scale: 255 is the integer dtype's maximum.

    Float input is taken to be on the 8-bit scale already.
    """
    if np.issubdtype(array.dtype, np.integer):
        return array.astype(np.float64) * (255.0 / np.iinfo(array.dtype).max)
    return array.astype(np.float64)


def add_noise(clean: np.ndarray, sigma: float, seed: int) -> np.ndarray:
    """Additive white Gaussian noise of standard deviation ``sigma``, float, unclipped.

    Uses ``numpy.random.default_rng(seed)`` so the same seed gives the same noise
    (DESIGN.md §5).
    """
    rng = np.random.default_rng(seed)
    return clean.astype(np.float64) + rng.normal(0.0, sigma, clean.shape)


def psnr(clean: np.ndarray, estimate: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB, ``data_range=255`` (8-bit scale)."""
    from skimage.metrics import peak_signal_noise_ratio

    return float(peak_signal_noise_ratio(clean, estimate, data_range=255.0))


#: Side of scikit-image's SSIM window: images smaller than it have no SSIM.
SSIM_WINDOW = 7


def ssim(clean: np.ndarray, estimate: np.ndarray) -> float | None:
    """Structural similarity (Wang et al. 2004) from ``skimage.metrics``, 8-bit scale.

    None for an image narrower or lower than the 7×7 Gaussian-free window
    (``SSIM_WINDOW``): SSIM is not defined there, and the report shows "-".

    References
    ----------
    Wang, Bovik, Sheikh & Simoncelli, "Image quality assessment: from error
    visibility to structural similarity", IEEE TIP 13(4), 2004.
    """
    from skimage.metrics import structural_similarity

    if min(clean.shape[:2]) < SSIM_WINDOW:
        return None
    channel_axis = None if clean.ndim == 2 else -1
    return float(
        structural_similarity(clean, estimate, data_range=255.0, channel_axis=channel_axis)
    )


def skimage_parameters(params: Params) -> dict:
    """Keyword arguments of ``skimage.restoration.denoise_nl_means`` equivalent to ``params``.

    For an input on the [0, 1] scale (the 8-bit image divided by 255), per
    DESIGN.md §5. scikit-image's fast mode computes a close variant of the
    DESIGN.md §1 formula, not the same numbers: its patch sum covers 2f × 2f
    pixels (offsets -f+1 … f) but is divided by (2f+1)², the 2σ² offset is
    subtracted per pixel of that sum, weights below exp(-5) are dropped and the
    exponential is approximated.
    """
    return {
        "patch_size": 2 * params.f + 1,
        "patch_distance": params.r,
        "h": params.h / 255.0,
        "sigma": params.sigma / 255.0,
        "fast_mode": True,
    }


def opencv_parameters(params: Params) -> dict:
    """Arguments of OpenCV's ``fastNlMeansDenoising`` for ``params`` (8-bit scale).

    OpenCV's weight is exp(-d² / h²) with the same d² (mean over channels and
    patch) but without the -2σ² offset, so nlmeans' h would keep most of the
    noise. It gets ``h = σ`` (at least 1), the usual rule for OpenCV; window
    sizes are the same (2f+1, 2r+1).
    """
    return {
        "h": max(params.sigma, 1.0),
        "templateWindowSize": 2 * params.f + 1,
        "searchWindowSize": 2 * params.r + 1,
    }


def run_nlmeans(noisy: np.ndarray, params: Params, backend: str) -> np.ndarray:
    """nlmeans on the float 8-bit-scale image with the given parameters (and method)."""
    from .denoise import denoise

    channel_axis = None if noisy.ndim == 2 else -1
    return denoise(
        noisy,
        h=params.h,
        sigma=params.sigma,
        f=params.f,
        r=params.r,
        channel_axis=channel_axis,
        data_range=255.0,
        backend=backend,
        method=params.method,
        h_chroma=params.h_chroma,
    ).astype(np.float64)


def run_skimage(noisy: np.ndarray, params: Params) -> np.ndarray:
    """scikit-image's ``denoise_nl_means`` with the equivalent parameters, 8-bit scale out."""
    from skimage.restoration import denoise_nl_means

    channel_axis = None if noisy.ndim == 2 else -1
    unit = (noisy / 255.0).astype(np.float32)
    result = denoise_nl_means(unit, channel_axis=channel_axis, **skimage_parameters(params))
    # It squeezes unit axes (a 1×7 image comes back as (7,)): restore the shape.
    return np.asarray(result, dtype=np.float64).reshape(noisy.shape) * 255.0


def opencv_available() -> bool:
    """True when ``cv2`` can be imported (the ``bench`` extra)."""
    try:
        import cv2  # noqa: F401
    except ImportError:
        return False
    return True


def run_opencv(noisy: np.ndarray, params: Params) -> np.ndarray:
    """OpenCV's fast NLM on the noisy image rounded and clipped to uint8."""
    import cv2

    source = np.clip(np.rint(noisy), 0, 255).astype(np.uint8)
    args = opencv_parameters(params)
    # fastNlMeansDenoising takes 1 to 4 channels: color stays in RGB, as for nlmeans.
    result = cv2.fastNlMeansDenoising(
        source, None, args["h"], args["templateWindowSize"], args["searchWindowSize"]
    )
    return result.astype(np.float64)


@dataclass
class Method:
    """A denoiser to compare: ``run(noisy, params)`` returns the 8-bit-scale float estimate."""

    name: str
    run: Callable[[np.ndarray, Params], np.ndarray]
    parameters: dict = field(default_factory=dict)


def methods_for(params: Params, backend: str, opencv: bool | None = None) -> list[Method]:
    """nlmeans, scikit-image and (when importable, or when ``opencv`` is True) OpenCV."""
    methods = [
        Method(
            "nlmeans",
            lambda noisy, p: run_nlmeans(noisy, p, backend),
            {
                "f": params.f,
                "r": params.r,
                "h": params.h,
                "sigma": params.sigma,
                "method": params.method,
                **({} if params.h_chroma is None else {"h_chroma": params.h_chroma}),
            },
        ),
        # The peers have no chrominance h: they get h throughout.
        Method("scikit-image", run_skimage, skimage_parameters(params)),
    ]
    if opencv if opencv is not None else opencv_available():
        methods.append(Method("opencv", run_opencv, opencv_parameters(params)))
    return methods


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


#: Panels of the montage, left to right.
MONTAGE_PANELS = ("noisy", "nlmeans", "scikit-image", "clean")


def montage_label_height(width: int) -> int:
    """Height in pixels of the label band above each panel of a montage."""
    return max(16, width // 20)


def montage(comparison: Comparison, clean: np.ndarray) -> np.ndarray:
    """noisy | nlmeans | scikit-image | clean side by side, uint8 RGB, each under a label
    with its name and PSNR, drawn with Pillow.

    The result is (H + label band) × 4W × 3, the band being
    :func:`montage_label_height` pixels high.
    """
    from PIL import Image, ImageDraw, ImageFont

    height, width = clean.shape[:2]
    band = montage_label_height(width)
    psnrs = {row.method: row.psnr for row in comparison.rows}
    canvas = Image.new("RGB", (width * len(MONTAGE_PANELS), height + band), "white")
    draw = ImageDraw.Draw(canvas)
    try:
        font = ImageFont.load_default(size=int(band * 0.7))
    except TypeError:  # Pillow < 10.1 has a single bitmap size
        font = ImageFont.load_default()
    for column, name in enumerate(MONTAGE_PANELS):
        panel = clean if name == "clean" else comparison.estimates[name]
        pixels = np.clip(np.rint(panel), 0, 255).astype(np.uint8)
        if pixels.ndim == 2:
            pixels = np.repeat(pixels[..., np.newaxis], 3, axis=-1)
        canvas.paste(Image.fromarray(pixels[..., :3]), (column * width, band))
        label = name if name == "clean" else f"{name}  {psnrs[name]:.2f} dB"
        draw.text((column * width + band // 4, band // 8), label, fill="black", font=font)
    return np.asarray(canvas)


def _mean_or_none(values: list) -> float | None:
    """The mean, or None when some value is missing (an SSIM left out)."""
    return None if any(v is None for v in values) else float(np.mean(values))
