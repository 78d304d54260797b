"""Evaluation: noise synthesis, PSNR/SSIM, and nlmeans against its peers, from Python.

``nlmeans compare`` is a thin command over :func:`compare_image`, which takes
nlmeans' choices as one :class:`~nlmeans.Request`.

The modules: :mod:`~nlmeans.evaluate._metrics` (noise, PSNR, SSIM, the 8-bit
scale), :mod:`~nlmeans.evaluate._peers` (nlmeans, scikit-image and OpenCV with
equivalent parameters), :mod:`~nlmeans.evaluate._comparison` (every method on
one image: rows, means, timing) and :mod:`~nlmeans.evaluate._montage` (the
side-by-side picture).
"""

from ._comparison import Comparison, Row, compare, compare_image, mean_rows, timed_run
from ._metrics import SSIM_WINDOW, add_noise, psnr, ssim, to_8bit_scale
from ._montage import MONTAGE_PANELS, montage, montage_label_height
from ._peers import (
    Method,
    methods_for,
    opencv_available,
    opencv_parameters,
    run_nlmeans,
    run_opencv,
    run_skimage,
    skimage_parameters,
)

__all__ = [
    "MONTAGE_PANELS",
    "SSIM_WINDOW",
    "Comparison",
    "Method",
    "Row",
    "add_noise",
    "compare",
    "compare_image",
    "mean_rows",
    "methods_for",
    "montage",
    "montage_label_height",
    "opencv_available",
    "opencv_parameters",
    "psnr",
    "run_nlmeans",
    "run_opencv",
    "run_skimage",
    "skimage_parameters",
    "ssim",
    "timed_run",
    "to_8bit_scale",
]
