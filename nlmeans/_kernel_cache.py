"""Somewhere to keep the compiled kernels, even on a read-only installation.

Numba compiles each ``cache=True`` kernel once and keeps it on disk: beside the
module (``__pycache__``), else in the user's cache folder, else in
``NUMBA_CACHE_DIR``. When none of them can be written (a read-only
site-packages with a read-only HOME, as in some containers and clusters),
Numba refuses to define the kernel at all. :func:`ensure_kernel_cache`, called
by every module that defines cached kernels before it defines them, checks
this with Numba's own rules and otherwise points Numba at a fresh temporary
folder: the kernels are compiled for this process (a few seconds) instead of
loaded, and a warning says so once.
"""

from __future__ import annotations

import tempfile
import warnings

#: Folders already checked (one check per folder of kernel modules).
_checked: set[str] = set()
#: The temporary folder given to Numba, when one was.
_temporary: list[str] = []


class KernelCacheWarning(UserWarning):
    """The kernel cache folders are read-only; kernels are compiled for this run only."""


def ensure_kernel_cache(module_file: str) -> None:
    """Make sure Numba can cache the kernels of ``module_file``, or give it a temporary folder."""
    import os

    folder = os.path.dirname(os.path.abspath(module_file))
    if folder in _checked:
        return
    _checked.add(folder)
    if _cache_possible(module_file):
        return
    import numba

    numba.config.CACHE_DIR = tempfile.mkdtemp(prefix="nlmeans-kernels-")
    _temporary.append(numba.config.CACHE_DIR)
    warnings.warn(
        "Numba's kernel cache folders are read-only here; compiling the kernels for this run "
        "only (set NUMBA_CACHE_DIR to a writable folder to keep them)",
        KernelCacheWarning,
        stacklevel=3,
    )


def cache_is_temporary() -> bool:
    """Whether the kernels are cached in this process's temporary folder (not shared)."""
    return bool(_temporary)


def _cache_possible(module_file: str) -> bool:
    """Whether Numba finds a writable cache folder for a kernel defined in ``module_file``."""
    import numba

    def probe():
        return 0

    probe.__code__ = probe.__code__.replace(co_filename=module_file)
    try:
        numba.njit(cache=True)(probe)  # Numba picks its cache folder here
    except RuntimeError as error:
        if "cannot cache" not in str(error):
            raise
        return False
    return True
