"""``nlmeans info``: versions, threads, kernel cache and which backends can run here."""

from __future__ import annotations

import os

import typer

from .._interrupts import reraise_interrupt
from ._app import HelpCommand, app
from ._common import print_json
from ._options import JsonOption


@app.command(cls=HelpCommand)
def info(json_output: JsonOption = False) -> None:
    """Versions, CPU threads, kernel cache location and which backends can run here."""
    import platform
    from importlib.metadata import PackageNotFoundError, version

    from .. import __version__
    from ..backends import REGISTRY
    from ..backends.cpu import kernel_cache_folder

    versions = {"nlmeans": __version__, "python": platform.python_version()}
    for name in ("numpy", "numba", "scikit-image", "opencv-python-headless", "opencv-python"):
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            continue
    import numba

    backends = {}
    for name, backend in REGISTRY.items():
        try:
            reason = backend.availability()
        except Exception as error:  # a backend whose probe itself breaks
            reraise_interrupt(error)
            reason = f"cannot be loaded: {error}"
        detail = reason or (backend.device() if backend.device else backend.summary)
        backends[name] = {"available": reason is None, "detail": detail}
    document = {
        "versions": versions,
        "cpu_threads": numba.get_num_threads(),
        "cpu_cores": os.cpu_count(),
        "kernel_cache": kernel_cache_folder(),
        "backends": backends,
    }
    if json_output:
        print_json(document)
        return
    typer.echo("  ".join(f"{k} {v}" for k, v in versions.items()))
    typer.echo(
        f"CPU threads: {document['cpu_threads']} of {document['cpu_cores']} cores "
        "(--threads N or NUMBA_NUM_THREADS to change)"
    )
    typer.echo(f"kernel cache: {document['kernel_cache']}")
    typer.echo("backends:")
    for name, state in backends.items():
        status = "available" if state["available"] else "not available"
        detail = f": {state['detail']}" if state["detail"] else ""
        typer.echo(f"  {name:<10} {status}{detail}")
