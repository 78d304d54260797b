"""The first command after an installation: its kernels compiled in parallel processes.

Numba compiles a kernel on one thread the first time it is called and keeps
the machine code in its cache; every later run loads it in milliseconds. The
first ``nlmeans denoise`` on a machine therefore compiles the default path's
kernel families one after the other (about 45 s on two cores). When the cache
holds none of them yet, :func:`compile_in_parallel` has one process per family
compile it (:func:`warm`, as many at a time as there are CPUs, each importing
this very package), and the command then loads them all from the cache. Each
process makes the very calls the command's own warm-up makes, so the cached
signatures are the ones it needs.

Only a cold cache starts processes: a family counts as compiled once its main
kernel has an entry in the cache (Numba's index file), so a warm run costs one
``stat`` per family. A family that fails in its process is compiled by the
command itself afterwards, as before. A cache Numba cannot share between
processes (the temporary folder of :mod:`nlmeans._kernel_cache`) starts none.
"""

from __future__ import annotations

import os
import subprocess
import sys
from importlib import import_module

#: Family -> (module, kernel) whose cache entry says the family is compiled.
FAMILIES = {
    "pixel-1": ("nlmeans.backends.cpu._pixelwise", "pixelwise_kernel"),
    "pixel-2": ("nlmeans.backends.cpu._ndim_symmetric", "symmetric_kernel"),
    "sigma": ("nlmeans.noise._texture", "prefix_moments"),
    "sure": ("nlmeans.backends.cpu._sure_pixel", "_sure_tiles"),
}


def families_for(request, backend, ndim: int) -> list[str]:
    """Return the families the command's warm-up and first image need, among :data:`FAMILIES`.

    The CPU backend's pixelwise kernels on 2-D images for one and for several h
    (as :meth:`~nlmeans.Request.kernels_to_warm` lists them), the noise
    estimator, and SURE's exact sweeps when the request is tuned.
    """
    if backend.name != "cpu" or ndim != 2 or request.patch_kernel != "uniform":
        return ["sigma"]
    wanted = {("pixel", 1): "pixel-1", ("pixel", 2): "pixel-2"}
    families = [wanted[pair] for pair in request.kernels_to_warm(backend) if pair in wanted]
    families.append("sigma")
    if request.tuned:
        families.append("sure")
    return families


def is_cold(family: str) -> bool:
    """Whether the cache holds no entry of ``family``'s main kernel (False when unknown)."""
    module, name = FAMILIES[family]
    try:
        index = getattr(import_module(module), name)._cache._cache_file._index_path
    except AttributeError:  # not a cached Numba kernel here (JIT disabled, another Numba)
        return False
    return not os.path.exists(index)


def compile_in_parallel(families: list[str], processes: int | None = None) -> None:
    """Compile the cold ones of ``families`` in processes of their own, at most one per CPU.

    ``processes``: at most this many at a time (the command's ``--threads``).
    Nothing starts when fewer than two families are cold or fewer than two
    processes may run (one process gains nothing over compiling in this one),
    or when the kernel cache is this process's temporary folder; no more start
    once one fails to. Returns when every process has ended; an interrupt
    ends them all and is raised again.
    """
    from ._kernel_cache import cache_is_temporary

    slots = min(os.cpu_count() or 1, processes or os.cpu_count() or 1)
    cold = [family for family in families if is_cold(family)]
    if len(cold) < 2 or slots < 2 or cache_is_temporary() or not sys.executable:
        return
    running: list[subprocess.Popen] = []
    try:
        for family in cold:
            while len(running) >= slots:
                running[0].wait()
                running.pop(0)
            try:
                process = subprocess.Popen(
                    [sys.executable, "-c", _child_code(family)],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            except OSError:  # no process here: the command compiles what is left itself
                break
            running.append(process)
        for process in running:
            process.wait()
    finally:
        left = [process for process in running if process.poll() is None]
        for process in left:  # all of them first, then reaped
            process.kill()
        for process in left:
            process.wait()


def _child_code(family: str) -> str:
    """Return the child's program: this package (not one in its working folder) warms ``family``.

    ``python -c`` and ``-m`` put the working folder first on the path, where a
    source tree of nlmeans (the README's commands run from one) would be
    imported, and cached, instead of the installed package this process runs.
    """
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return (
        f"import sys; sys.path.insert(0, {root!r}); "
        f"from nlmeans._first_run import warm; warm({family!r})"
    )


def warm(family: str) -> None:
    """Make the calls of the command's warm-up that compile ``family``'s kernels."""
    import numpy as np

    if family == "sigma":
        from .noise import estimate_sigma

        # Large enough for nlmeans' own estimator, so skimage's fallback is not imported.
        estimate_sigma(np.random.default_rng(0).random((96, 96), dtype=np.float32))
    elif family == "sure":
        from .backends.cpu._sure_pixel import sure_tiles

        sure_tiles(np.zeros((1, 1, 5, 5), np.float32), 1, 1, 0.1, [0.1, 0.2])
    else:
        from .backends import REGISTRY

        REGISTRY["cpu"].warm_up("pixel", int(family.split("-")[1]), "uniform", 2)
