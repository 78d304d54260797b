"""nlmeans: fast, exact non-local means denoising (Buades, Coll & Morel)."""

from .denoise import denoise, resolve_params
from .params import NLMeansError, Params, estimate_sigma
from .sure import tune

__version__ = "0.1.0"

__all__ = [
    "NLMeansError",
    "Params",
    "__version__",
    "denoise",
    "estimate_sigma",
    "resolve_params",
    "tune",
]
