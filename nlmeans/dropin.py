"""A drop-in for scikit-image's ``skimage.restoration.denoise_nl_means``.

Same signature, units, accepted shapes and output dtypes as scikit-image 0.26,
computed by nlmeans' kernels (CPU or GPU) through :func:`nlmeans._denoise.denoise`.
The module is called ``dropin`` so that it never shadows the ``skimage`` package.
"""

from __future__ import annotations

import operator

import numpy as np

from ._denoise import denoise
from .backends import REGISTRY
from .errors import NLMeansError
from .params import check_channel_axis

#: Spatial axes scikit-image's function takes (and so does this one).
SPATIAL_DIMS = (2, 3, 4)


def fast_mode_h(h: float, side: int, ndim: int) -> float:
    """Nlmeans' h for scikit-image's ``fast_mode=True`` with strength ``h``.

    scikit-image's fast mode (odd patch side s) sums the squared differences
    over s − 1 offsets per axis but divides by s per axis, so its exponent is
    ((s − 1)/s)^D (d² − 2σ²)/h² with d² a mean over the patch. nlmeans' exponent
    (d² − 2σ²)/h'² has the same meaning with h' = h (s/(s − 1))^(D/2). For s = 1
    scikit-image's fast patch is empty (every weight 1); nlmeans keeps h there.
    """
    if side <= 1:
        return float(h)
    return float(h) * (side / (side - 1.0)) ** (ndim / 2.0)


def _check_int(name: str, value, minimum: int) -> int:
    try:
        number = operator.index(value)
    except TypeError:
        if isinstance(value, (float, np.floating)) and float(value).is_integer():
            number = int(value)
        else:
            raise NLMeansError(f"{name}={value!r} is not an integer") from None
    if number < minimum:
        raise NLMeansError(f"{name}={value!r} is out of range; expected an integer >= {minimum}")
    return int(number)


def _to_float(image: np.ndarray, preserve_range: bool) -> np.ndarray:
    """Return the image in the float units scikit-image computes in (its ``convert_to_float``).

    float16 becomes float32; float32 and float64 stay; other dtypes become
    float64, scaled by ``img_as_float`` (unsigned integers to [0, 1], signed to
    [−1, 1], booleans to {0, 1}) unless ``preserve_range`` keeps their values.
    """
    if image.dtype == np.float16:
        return image.astype(np.float32)
    if image.dtype in (np.float32, np.float64):
        return image
    if preserve_range:
        return image.astype(np.float64)
    from skimage.util import img_as_float

    return img_as_float(image)


def denoise_nl_means(
    image,
    patch_size=7,
    patch_distance=11,
    h=0.1,
    fast_mode=True,
    sigma=0.0,
    *,
    preserve_range=False,
    channel_axis=None,
    backend="auto",
    threads=None,
):
    """Non-local means denoising with scikit-image's interface, on nlmeans' kernels.

    A drop-in for ``skimage.restoration.denoise_nl_means`` (scikit-image 0.26):
    the same arguments, units, accepted shapes and output dtypes. With
    ``fast_mode=True`` the patch distance is the mean squared difference over
    the patch; with ``fast_mode=False`` it is weighted by a Gaussian over the
    patch offsets (Buades, Coll & Morel, CVPR 2005). Each pixel becomes
    ``Σ_q w(p,q) u(q) / Σ_q w(p,q)`` over the search window, with
    ``w = exp(−max(d² − 2σ², 0) / h²)`` and mirror-reflected borders.

    Parameters
    ----------
    image : ndarray
        2-D, 3-D or 4-D image, gray, or with one channel axis at ``channel_axis``
        (any number of channels). Any real dtype; NaN and Inf are refused.
    patch_size : int, optional
        Side of the patches, pixels (>= 1). nlmeans uses a patch radius
        f = patch_size // 2 along every axis, a centred patch of
        2f + 1 = patch_size pixels for odd sizes and patch_size + 1 for even
        ones (scikit-image also rounds an even size up to the next odd one).
    patch_distance : int, optional
        Search radius, pixels (>= 0): candidates within ``patch_distance`` of
        the pixel along every axis, a window of 2 patch_distance + 1.
    h : float, optional
        Cut-off distance, > 0, in the float units of the converted image (see
        ``preserve_range``). With ``fast_mode`` it is converted as scikit-image's
        fast mode means it (:func:`fast_mode_h`; Notes).
    fast_mode : bool, optional
        True: the uniform patch distance. False: the Gaussian-weighted one,
        g(j) = Π_k exp(−j_k² / (2 σ_g²)) normalised to Σ g = 1, σ_g = f / 2 =
        (2f + 1 − 1) / 4, scikit-image's width. Both modes cost the same here.
    sigma : float, optional
        Noise standard deviation, >= 0, in the units of ``h``: patch distances
        are lowered by 2σ² before the exponential.
    preserve_range : bool, optional
        False (default): integer (and boolean) images are scaled by
        ``skimage.util.img_as_float`` (uint8 to [0, 1], int16 to [−1, 1], …),
        and ``h``, ``sigma`` are in those units. True: their values are kept.
        Float images are never rescaled.
    channel_axis : int or None, optional
        Axis of the channels (e.g. 0 or −1); None for a gray image.
    backend : {"auto", "cpu", "cuda"}, optional
        nlmeans' backend: "auto" takes the GPU when there is one (images with
        up to 3 spatial axes), else the CPU; "reference" is the slow oracle.
    threads : int, optional
        CPU threads for this call (default: all); the previous count is restored.

    Returns
    -------
    ndarray
        The denoised image, the input's shape; float32 for float16 and float32
        input, float64 otherwise (scikit-image's rules).

    Raises
    ------
    NotImplementedError
        For fewer than 2 or more than 4 spatial axes (as scikit-image).
    NLMeansError
        (a ValueError) for out-of-range parameters or non-finite pixels.

    Notes
    -----
    Exact differences from scikit-image, whose results these match to about
    0.005 mean absolute difference (values in [0, 1]):

    - the fast mode's patch: scikit-image sums offsets −f+1 … f (s − 1 of
      them, off-centre by half a pixel) and divides by s per axis; nlmeans sums
      the centred −f … f and averages, with h scaled by (s/(s − 1))^(D/2) so that
      h keeps scikit-image's meaning (7×7 patches in 2-D: h × 1.167);
    - scikit-image drops weights below exp(−5) and uses an approximate exp;
      the slow mode stops summing a patch's rows once the partial distance
      exceeds 5 and restricts the search window to the image (nlmeans mirrors
      it at the borders, as scikit-image's fast mode does);
    - nlmeans computes in float32 (scikit-image's fast mode in float64); the
      output stays within each channel's input range;
    - scikit-image refuses ``fast_mode=False`` for 4-D images and for 3-D
      images with channels; nlmeans computes them (the Gaussian distance in
      any dimension); a 1-channel image keeps its channel axis here.

    References
    ----------
    A. Buades, B. Coll, J.-M. Morel, "A non-local algorithm for image
    denoising", CVPR 2005 (the Gaussian patch distance); "Non-Local Means
    Denoising", Image Processing On Line 1 (2011).
    J. Darbon, A. Cunha, T. F. Chan, S. Osher, G. J. Jensen, "Fast nonlocal
    filtering applied to electron cryomicroscopy", ISBI 2008.

    Examples
    --------
    >>> import numpy as np
    >>> from nlmeans import denoise_nl_means
    >>> rng = np.random.default_rng(0)
    >>> noisy = 0.5 + 0.1 * rng.standard_normal((64, 64))
    >>> clean = denoise_nl_means(noisy, patch_size=5, patch_distance=6, h=0.08, sigma=0.1)
    >>> clean.dtype, bool(clean.std() < noisy.std())
    (dtype('float64'), True)
    """
    image = np.asarray(image)
    spatial = image.ndim - (channel_axis is not None)
    channel_axis = check_channel_axis(channel_axis, image.ndim)
    if spatial not in SPATIAL_DIMS:
        layout = "gray" if channel_axis is None else f"channels on axis {channel_axis}"
        raise NotImplementedError(
            f"non-local means takes 2-D, 3-D or 4-D images (gray, or with channel_axis); "
            f"this {image.shape} array ({layout}) has {spatial} spatial axes"
        )
    if image.dtype.kind not in "biuf":
        raise NLMeansError(f"image dtype {image.dtype} is not a real number type")
    side = _check_int("patch_size", patch_size, 1)
    radius = _check_int("patch_distance", patch_distance, 0)
    f = side // 2
    odd_side = 2 * f + 1  # scikit-image rounds an even side up too
    try:
        h = float(h)
        sigma = float(sigma)
    except (TypeError, ValueError):
        raise NLMeansError(f"h={h!r} and sigma={sigma!r} must be numbers") from None
    strength = fast_mode_h(h, odd_side, spatial) if fast_mode else h
    values = _to_float(image, preserve_range)
    previous = None
    if threads is not None:
        import numba

        previous = numba.get_num_threads()
        most = numba.config.NUMBA_NUM_THREADS
        if isinstance(threads, int) and not isinstance(threads, bool) and threads > most:
            import warnings

            warnings.warn(
                f"threads={threads} is more than the {most} CPU threads here; using {most}",
                stacklevel=2,
            )
            threads = most
        REGISTRY["cpu"].set_threads(threads)
    try:
        return denoise(
            values,
            strength,
            sigma,
            f=f,
            r=radius,
            channel_axis=channel_axis,
            data_range=1.0,  # only read by the presets, unused with h and sigma given
            backend=backend,
            patch_kernel="uniform" if fast_mode else "gaussian",
        )
    finally:
        if previous is not None:
            numba.set_num_threads(previous)
