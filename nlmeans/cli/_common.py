"""What the commands share beyond the app and the options: warming the backend, reports.

Heavy modules (Numba, scikit-image) are imported inside the commands, so that
``nlmeans --help`` starts quickly.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
from pathlib import Path

import typer

from ._app import note

#: Show the compile notice when warming the kernels takes longer than this
#: (loading them from Numba's cache takes about 0.5 s, compiling them 10 s).
COMPILE_NOTICE_AFTER_S = 2.0


def prepare_backend(request, quiet: bool, ndim: int = 2):
    """Return the backend ``request`` runs on, warmed up.

    Its ``threads`` applied and every kernel it needs (the method's with its
    patch kernel, and SURE's multi-h sweeps when tuned) compiled or loaded, for
    images of ``ndim`` spatial axes (3 for any stack or per-axis radii: the
    N-D kernels).

    Announces a compile if warming up takes a while; with a fresh kernel cache
    the default path's kernel families compile in parallel processes
    (:mod:`nlmeans._first_run`). Also makes the noise estimator's first call, so
    that the times the commands report are those of the work itself.
    """
    from .._first_run import compile_in_parallel, families_for, warm
    from ..backends import REGISTRY, select

    method = None if request.tuned else request.method or "pixel"
    backend = select(request.backend, method, ndim, request.patch_kernel)
    threads = request.threads
    if threads is not None:
        import numba

        most = numba.config.NUMBA_NUM_THREADS
        if threads > most:
            note(f"--threads {threads} is more than the {most} CPU threads here; using {most}")
            threads = most
        # Numba's thread pool is what --threads limits; the range is checked for every backend.
        REGISTRY["cpu"].set_threads(threads)
        if backend.set_threads is None:
            note(f"--threads has no effect on backend={backend.name} ({backend.summary})")
    notice = threading.Timer(
        COMPILE_NOTICE_AFTER_S,
        lambda: quiet or typer.echo("compiling kernels, first run only…", err=True),
    )
    notice.start()
    try:
        # A fresh kernel cache (the first run after an installation): one process per kernel family.
        compile_in_parallel(families_for(request, backend, min(ndim, backend.max_dims)), threads)
        for warm_method, strengths in request.kernels_to_warm(backend):
            backend.warm_up(
                warm_method, strengths, request.patch_kernel, min(ndim, backend.max_dims)
            )
        warm("sigma")  # the noise estimator's kernels
    finally:
        notice.cancel()
    return backend


def print_json(document: dict) -> None:
    """Print the one JSON document of a ``--json`` command on stdout.

    Strict JSON, with non-finite numbers (a PSNR of a noise-free image, an
    undefined ratio) as null.
    """
    import json

    typer.echo(json.dumps(_finite(document), indent=2, ensure_ascii=False, allow_nan=False))


def _finite(value):
    """``value`` with every non-finite float, at any depth, replaced by None."""
    import math

    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    if hasattr(value, "dtype") and getattr(value, "ndim", None) == 0:  # NumPy scalars
        return _finite(value.item())
    return value


def write_text(path: Path, text: str, final: bool = False) -> None:
    """Write a report file atomically (temporary file in the same folder, then rename).

    ``final``: the command's last output (:func:`nlmeans.io._write.final_publish`).
    """
    from ..io._write import final_publish

    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temp, 0o666 & ~umask)  # mkstemp makes it private; a report is not
        with final_publish(final):
            os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
