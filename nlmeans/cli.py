"""The ``nlmeans`` command line (Typer).

Heavy modules (Numba, scikit-image) are imported inside the commands, so that
``nlmeans --help`` starts quickly.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
import time
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

#: Show the compile notice when warming the kernels takes longer than this.
COMPILE_NOTICE_AFTER_S = 0.5


def fail(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    """Print ``error: message`` on stderr and return the Exit to raise."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


@contextlib.contextmanager
def clean_errors(debug: bool):
    """Turn NLMeansError and OS errors into one line on stderr and exit code 2.

    Ctrl-C and SIGTERM (``kill``) raise KeyboardInterrupt inside the block, so
    that pending writes remove their temporary files, then exit with code 130.
    """
    from .params import NLMeansError

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


def warm_up_backend(module, quiet: bool) -> None:
    """Compile or load the backend's kernels, announcing it if that takes a while."""
    warm_up = getattr(module, "warm_up", None)
    if warm_up is None:
        return
    notice = threading.Timer(
        COMPILE_NOTICE_AFTER_S,
        lambda: quiet or typer.echo("compiling kernels, first run only…", err=True),
    )
    notice.start()
    try:
        warm_up()
    finally:
        notice.cancel()


def default_output(input_path: Path) -> Path:
    return input_path.with_name(f"{input_path.stem}_denoised{input_path.suffix}")


def check_output(input_path: Path, output: Path, overwrite: bool) -> None:
    """Refuse, before any computation, an output that would lose data or cannot be written."""
    from .io import ImageFileError, check_extension, check_folder_writable

    check_extension(output)
    same = output.resolve() == input_path.resolve() or (
        output.exists() and input_path.exists() and output.samefile(input_path)
    )
    if same:
        raise ImageFileError(output, "output path is the input file; choose another -o")
    if output.is_dir():
        raise ImageFileError(output, "is a directory; give an output file name")
    check_folder_writable(output)
    if output.exists() and not overwrite:
        raise ImageFileError(output, "already exists; pass --overwrite to replace it")


@app.callback()
def root() -> None:
    """Non-local means image denoising: fast, exact, on the CPU (Numba) or an NVIDIA GPU."""


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
BackendOption = Annotated[str, typer.Option("--backend", help="auto, cpu or reference.")]
ThreadsOption = Annotated[
    int | None, typer.Option("--threads", min=1, help="CPU threads. Default: all cores.")
]
OverwriteOption = Annotated[bool, typer.Option("--overwrite", help="Replace existing outputs.")]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing on success.")]
DebugOption = Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")]


@app.command()
def denoise(
    input_path: Annotated[Path, typer.Argument(metavar="INPUT", help="Image file to denoise.")],
    output: Annotated[
        Path | None,
        typer.Option(
            "-o", "--output", help="Output file. Default: <stem>_denoised<ext> beside INPUT."
        ),
    ] = None,
    h: HOption = None,
    r: ROption = None,
    f: FOption = None,
    sigma: SigmaOption = None,
    backend: BackendOption = "auto",
    threads: ThreadsOption = None,
    overwrite: OverwriteOption = False,
    quiet: QuietOption = False,
    debug: DebugOption = False,
) -> None:
    """Denoise one image file; the input is never modified."""
    from .denoise import backend_module
    from .denoise import denoise as run_denoise
    from .io import check_format, read_image, require_finite, write_image

    with clean_errors(debug):
        output = output if output is not None else default_output(input_path)
        check_output(input_path, output, overwrite)
        picture = read_image(input_path)
        check_format(output, picture.pixels.dtype, picture.channels)
        require_finite(input_path, picture.pixels)
        module = backend_module(backend)
        if threads is not None and hasattr(module, "set_threads"):
            module.set_threads(threads)
        warm_up_backend(module, quiet)
        start = time.perf_counter()
        result, params = run_denoise(
            picture.pixels,
            h=h,
            sigma=sigma,
            f=f,
            r=r,
            channel_axis=picture.channel_axis,
            backend=backend,
            return_params=True,
        )
        elapsed = time.perf_counter() - start
        write_image(output, picture.with_pixels(result))
    if not quiet:
        source = "estimated" if params.sigma_estimated else "given"
        typer.echo(
            f"{input_path} -> {output}\n"
            f"  f={params.f} r={params.r} h={params.h:.4g} sigma={params.sigma:.4g} ({source})\n"
            f"  backend={module.__name__.rsplit('.', 1)[-1]} time={elapsed:.3f}s"
        )


def main() -> None:
    """Console entry point."""
    app(prog_name="nlmeans")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
