"""The denoisers compared: nlmeans and its peers, with equivalent parameters.

Everything runs on the 8-bit scale (float64, 255 for white). The peers get the
parameters that nlmeans resolved, translated to their own units:

- scikit-image's ``denoise_nl_means`` is fed the float image divided by 255
  (its customary [0, 1] scale) with ``patch_size = 2f+1``,
  ``patch_distance = r``, ``h / 255``, ``sigma / 255`` and ``fast_mode=True``;
  its result is multiplied back by 255.
- OpenCV's ``fastNlMeansDenoising`` needs uint8 input, so it gets the noisy
  image rounded and clipped to [0, 255]; its uint8 result is compared as
  float. Color images are given to it in RGB, like nlmeans (its
  ``fastNlMeansDenoisingColored`` works in CIELAB and scored lower on our
  samples). OpenCV has no sigma term, see :func:`opencv_parameters`.

Both peers run in a helper process (:mod:`~nlmeans.evaluate._peer_process`),
so that Ctrl-C stops them at once; their times include sending the image
there and back.

"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .._denoise import denoise
from ..params import Params
from ._peer_process import in_peer_process


def skimage_parameters(params: Params) -> dict:
    """Keyword arguments of ``skimage.restoration.denoise_nl_means`` equivalent to ``params``.

    For an input on the [0, 1] scale (the 8-bit image divided by 255), per
    the evaluation protocol. scikit-image's fast mode computes a close variant
    of nlmeans' formula, not the same numbers: its patch sum covers 2f × 2f
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
    """Nlmeans on the float 8-bit-scale image with the given parameters (and method)."""
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
    channel_axis = None if noisy.ndim == 2 else -1
    unit = (noisy / 255.0).astype(np.float32)
    # In the helper process: Ctrl-C is honoured at once, even if its loops hold the GIL.
    result = in_peer_process(skimage_nl_means)(
        unit, channel_axis=channel_axis, **skimage_parameters(params)
    )
    # It squeezes unit axes (a 1×7 image comes back as (7,)): restore the shape.
    return np.asarray(result, dtype=np.float64).reshape(noisy.shape) * 255.0


def skimage_nl_means(unit: np.ndarray, **kwargs) -> np.ndarray:
    """scikit-image's ``denoise_nl_means`` (imported where it runs: the helper process)."""
    from skimage.restoration import denoise_nl_means

    return denoise_nl_means(unit, **kwargs)


def opencv_available() -> bool:
    """Return True when ``cv2`` can be imported (the ``bench`` extra)."""
    try:
        import cv2  # noqa: F401
    except ImportError:
        return False
    return True


def run_opencv(noisy: np.ndarray, params: Params) -> np.ndarray:
    """OpenCV's fast NLM on the noisy image rounded and clipped to uint8."""
    source = np.clip(np.rint(noisy), 0, 255).astype(np.uint8)
    args = opencv_parameters(params)
    # fastNlMeansDenoising takes 1 to 4 channels: color stays in RGB, as for nlmeans.
    result = in_peer_process(opencv_nl_means)(
        source, args["h"], args["templateWindowSize"], args["searchWindowSize"]
    )
    return result.astype(np.float64)


def opencv_nl_means(source: np.ndarray, h: float, template: int, search: int) -> np.ndarray:
    """OpenCV's ``fastNlMeansDenoising`` (imported where it runs: the helper process)."""
    import cv2

    return cv2.fastNlMeansDenoising(source, None, h, template, search)


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
