"""nlmeans: fast, exact non-local means denoising (Buades, Coll & Morel)."""

from .errors import NLMeansError
from .frontdoor import denoise, resolve_params
from .noise import estimate_sigma
from .params import Params
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
