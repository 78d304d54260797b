"""The backend registry: every backend declared as data, and the one place that picks one.

Each backend is a :class:`~nlmeans.backends._contract.Backend` record (its
methods, the spatial axes it takes, whether it can run here and why not,
whether it has CPU threads to limit). Adding a backend adds a module or
package here and one line to :data:`REGISTRY`; adding a method adds it to the
backends that compute it and its padding rule to :mod:`._contract`.

Public modules (the NumPy oracles, the statement of every formula):

- :mod:`.reference`: pixelwise and patchwise NLM, the ``reference`` backend;
- :mod:`.reference_bayes`: NL-Bayes;
- :mod:`.reference_mapped`: the mapped method (guide, values, σ map, mask);
- :mod:`.reference_motion`: motion-compensated NLM of time stacks.

Implementation modules:

- :mod:`._contract`: the :class:`~nlmeans.backends._contract.Backend` record,
  padding rules and the weight constants every backend shares;
- :mod:`._oracle_terms`: the oracles' shared terms (boxes, blocks, d², w);
- :mod:`._bayes_rules`: NL-Bayes' constants and geometry (oracle and fast paths);
- :mod:`._maps`: host-side pieces of the mapped method the fast backends share;
- :mod:`._motion`: block displacements of time stacks and their estimate;
- :mod:`.cpu` and :mod:`.cuda`: the Numba CPU and numba.cuda backends.
"""

from __future__ import annotations

from ..errors import NLMeansError
from ._contract import Backend, padding, weight_constants
from .cpu import BACKEND as CPU
from .cuda import BACKEND as CUDA
from .reference import BACKEND as REFERENCE

#: name -> backend, in the order ``nlmeans info`` lists them.
REGISTRY: dict[str, Backend] = {b.name: b for b in (REFERENCE, CPU, CUDA)}

#: ``backend="auto"`` takes the first usable backend of this order that has the method.
AUTO_ORDER = ("cuda", "cpu")

__all__ = [
    "AUTO_ORDER",
    "REGISTRY",
    "Backend",
    "availability",
    "padding",
    "select",
    "weight_constants",
]


def availability(name: str) -> str | None:
    """None when backend ``name`` can run here, else the reason it cannot.

    Parameters
    ----------
    name : str
        A backend of :data:`REGISTRY`.

    Returns
    -------
    str or None
        None when it can run here, else why not.
    """
    return _named(name).availability()


def _named(name) -> Backend:
    if not isinstance(name, str) or name not in REGISTRY:
        choices = ", ".join(["auto", *REGISTRY])
        raise NLMeansError(f"backend={name!r} is unknown; expected one of {choices}")
    return REGISTRY[name]


def select(
    name="auto", method: str | None = None, ndim: int = 2, patch_kernel: str | None = None
) -> Backend:
    """Return the backend called ``name`` ("auto": the best usable one), checked for the work.

    ``method`` (when given) must be one it computes, ``patch_kernel`` (when
    given) one of its :attr:`~Backend.patch_kernels` and ``ndim`` spatial axes
    within what it takes; else NLMeansError says which backends would do.

    Parameters
    ----------
    name : str
        "auto" or a backend of :data:`REGISTRY`.
    method : str, optional
        The NLM method the backend must compute.
    ndim : int
        Spatial axes of the work.
    patch_kernel : str, optional
        The patch kernel the backend must have.

    Returns
    -------
    Backend
        The backend, usable here.
    """
    if name == "auto":
        for candidate in AUTO_ORDER:
            backend = REGISTRY[candidate]
            if _fits(backend, method, ndim, patch_kernel) and backend.availability() is None:
                return backend
        kernel = "" if patch_kernel is None else f" with patch_kernel={patch_kernel!r}"
        raise NLMeansError(f"no available backend computes method={method!r} in {ndim}-D{kernel}")
    backend = _named(name)
    if method is not None and method not in backend.methods:
        having = ", ".join(b.name for b in REGISTRY.values() if method in b.methods)
        raise NLMeansError(
            f"method={method!r} is not available on backend={name!r}; backends with it: {having}"
        )
    if patch_kernel is not None and patch_kernel not in backend.patch_kernels:
        having = ", ".join(b.name for b in REGISTRY.values() if patch_kernel in b.patch_kernels)
        raise NLMeansError(
            f"patch_kernel={patch_kernel!r} is not available on backend={name!r} (it has "
            f"{', '.join(backend.patch_kernels)}); backends with it: {having}"
        )
    if ndim > backend.max_dims:
        raise NLMeansError(
            f"backend={name!r} takes images with up to {backend.max_dims} spatial axes, not {ndim}"
        )
    reason = backend.availability()
    if reason is not None:
        raise NLMeansError(f"backend={name!r} is not available: {reason}")
    return backend


def _fits(backend: Backend, method: str | None, ndim: int, patch_kernel: str | None) -> bool:
    return (
        (method is None or method in backend.methods)
        and ndim <= backend.max_dims
        and (patch_kernel is None or patch_kernel in backend.patch_kernels)
    )
