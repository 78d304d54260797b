"""nlmeans: fast, exact non-local means denoising (Buades, Coll & Morel).

The public API. Names are loaded on first use, so ``import nlmeans`` (and the
command line's start-up) does not import NumPy, Numba or scikit-image.
"""

from __future__ import annotations

from importlib import import_module

# typing.TYPE_CHECKING without importing typing: the console script's first lines, before
# its Ctrl-C handlers, stay short.
TYPE_CHECKING = False

__version__ = "0.1.0"

#: public name -> the module that defines it
_HOMES = {
    "NLMeansError": "errors",
    "Params": "params",
    "Request": "_request",
    "denoise": "_denoise",
    "denoise_nl_means": "dropin",
    "estimate_sigma": "noise",
    "resolve_params": "_resolve",
    "tune": "sure",
}

__all__ = [
    "NLMeansError",
    "Params",
    "Request",
    "__version__",
    "denoise",
    "denoise_nl_means",
    "estimate_sigma",
    "resolve_params",
    "tune",
]

if TYPE_CHECKING:  # for type checkers and IDEs; at run time __getattr__ loads them
    from ._denoise import denoise
    from ._request import Request
    from ._resolve import resolve_params
    from .dropin import denoise_nl_means
    from .errors import NLMeansError
    from .noise import estimate_sigma
    from .params import Params
    from .sure import tune


def __getattr__(name: str):
    if name not in _HOMES:
        raise AttributeError(f"module 'nlmeans' has no attribute {name!r}")
    value = getattr(import_module(f".{_HOMES[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOMES))
