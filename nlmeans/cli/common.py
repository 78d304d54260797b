"""What the commands share: the Typer app, option types, exit codes and the error boundary.

Heavy modules (Numba, scikit-image) are imported inside the commands, so that
``nlmeans --help`` starts quickly.
"""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
import threading
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Non-local means image denoising: fast, exact, on the CPU (Numba) or an NVIDIA GPU.",
    pretty_exceptions_enable=False,
)

#: Exit codes, documented in the README.
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

#: Show the compile notice when warming the kernels takes longer than this
#: (loading them from Numba's cache takes about 0.5 s, compiling them 10 s).
COMPILE_NOTICE_AFTER_S = 2.0


@app.callback()
def root() -> None:
    """Non-local means image denoising: fast, exact, on the CPU (Numba) or an NVIDIA GPU."""


def fail(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    """Print ``error: message`` on stderr and return the Exit to raise."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def note(message: str) -> None:
    """Print ``note: message`` on stderr (never on stdout, which ``--json`` keeps clean)."""
    typer.echo(f"note: {message}", err=True)


@contextlib.contextmanager
def clean_errors(debug: bool):
    """Turn NLMeansError and OS errors into one line on stderr and exit code 2.

    Ctrl-C and SIGTERM (``kill``) raise KeyboardInterrupt inside the block, so
    that pending writes remove their temporary files, then exit with code 130.
    """
    from ..errors import NLMeansError

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, interrupt) if main_thread else None
    try:
        yield
    except (NLMeansError, OSError) as error:
        if debug:
            raise
        raise fail(str(error)) from None
    except KeyboardInterrupt:
        if debug:
            raise
        raise fail("interrupted", code=130) from None
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)


def prepare_backend(name: str, threads: int | None, method, tune: bool, quiet: bool):
    """The backend the run uses, with ``--threads`` applied and every kernel it needs
    (the method's, and SURE's multi-h sweeps for ``--tune``) compiled or loaded.

    Announces a compile if warming up takes a while. Also makes the noise
    estimator's first call, so that the times the commands report are those of
    the work itself.
    """
    import numpy as np

    from ..backends import REGISTRY, select
    from ..noise import estimate_sigma

    backend = select(name, None if tune else (method or "pixel"))
    if threads is not None:
        # Numba's thread pool is what --threads limits; the range is checked for every backend.
        REGISTRY["cpu"].set_threads(threads)
        if backend.set_threads is None:
            note(f"--threads has no effect on backend={backend.name} ({backend.summary})")
    if tune:
        to_warm = (
            [(m, k) for m in backend.methods for k in (1, 2)]
            if method is None
            else [
                (method, 1),
                (method, 2),
            ]
        )
    else:
        to_warm = [(method or "pixel", 1)]
    notice = threading.Timer(
        COMPILE_NOTICE_AFTER_S,
        lambda: quiet or typer.echo("compiling kernels, first run only…", err=True),
    )
    notice.start()
    try:
        for warm_method, strengths in to_warm:
            backend.warm_up(warm_method, strengths)
        # Large enough for nlmeans' own estimator, so skimage's fallback is not imported.
        estimate_sigma(np.random.default_rng(0).random((96, 96), dtype=np.float32))
    finally:
        notice.cancel()
    return backend


def print_json(document: dict) -> None:
    """The one JSON document a ``--json`` command prints on stdout."""
    import json

    typer.echo(json.dumps(document, indent=2, ensure_ascii=False))


def write_text(path: Path, text: str) -> None:
    """Write a report file atomically (temporary file in the same folder, then rename)."""
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temp, 0o666 & ~umask)  # mkstemp makes it private; a report is not
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


# Options shared by the commands that denoise (Annotated aliases, Typer's style).
HOption = Annotated[
    float | None,
    typer.Option(
        "--h", help="Filtering strength h, raw intensity units (0-255 for 8-bit). Default: preset."
    ),
]
SigmaOption = Annotated[
    float | None,
    typer.Option(
        "--sigma", help="Noise standard deviation, raw intensity units. Default: estimated."
    ),
]
ROption = Annotated[
    int | None, typer.Option("--r", help="Search radius: window (2r+1)². Default: preset.")
]
FOption = Annotated[
    int | None, typer.Option("--f", help="Patch radius: patch (2f+1)². Default: preset.")
]
MethodOption = Annotated[
    str | None,
    typer.Option(
        "--method",
        help="pixel (the exact pixelwise formula) or patch (patchwise aggregation, IPOL 2011). "
        "Default: pixel, or chosen by --tune.",
    ),
]
TuneOption = Annotated[
    bool,
    typer.Option(
        "--tune",
        help="Choose the unset h, f and method (and, for color, h-chroma) by minimising SURE "
        "on the noisy image (a few times the cost of one denoise).",
    ),
]
HChromaOption = Annotated[
    float | None,
    typer.Option(
        "--h-chroma",
        help="Color images: filter in luminance-chrominance planes, luminance with h and "
        "chrominance with this h, raw intensity units. Default: one h for RGB, or --tune's.",
    ),
]
BackendOption = Annotated[str, typer.Option("--backend", help="auto, cpu, cuda or reference.")]
ThreadsOption = Annotated[
    int | None, typer.Option("--threads", min=1, help="CPU threads. Default: all cores.")
]
OverwriteOption = Annotated[bool, typer.Option("--overwrite", help="Replace existing outputs.")]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing on success.")]
DebugOption = Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")]
JsonOption = Annotated[
    bool,
    typer.Option(
        "--json", help="Print one JSON document on stdout instead of text; notes go to stderr."
    ),
]
