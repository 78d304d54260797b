"""What the commands share: the Typer app, option types, exit codes and the error boundary.

Heavy modules (Numba, scikit-image) are imported inside the commands, so that
``nlmeans --help`` starts quickly.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import tempfile
import threading
import warnings
from pathlib import Path
from typing import Annotated

import typer
import typer.core

#: Exit codes, documented in the README.
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


def _click_error(name: str) -> type:
    """Click's exception class ``name`` (Typer bundles its own Click; found through its public
    BadParameter rather than a private import path)."""
    return next(c for c in typer.BadParameter.__mro__ if c.__name__ == name)


_CLICK_ERROR = _click_error("ClickException")


class _OneLineErrors(typer.core.TyperGroup):
    """The command group, with every way out of a command turned into an exit code.

    Usage errors (an unknown option, ``--h abc``) print one ``error:`` line
    instead of Click's usage box; Ctrl-C and SIGTERM (``kill``) anywhere,
    start-up included, exit with 130 and no traceback; an exception that
    escapes a command prints one ``error: internal error`` line (the
    traceback with ``--debug``) and exits with :data:`EXIT_INTERNAL`.
    """

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        from ..errors import NLMeansError

        global _interrupt_reported
        _interrupt_reported = False
        arguments = list(sys.argv[1:] if args is None else args)
        interrupt_on_sigterm()
        warnings.showwarning = _warning_as_note
        try:
            check_thread_variable()
            code = super().main(arguments, prog_name, complete_var, standalone_mode=False, **extra)
        except NLMeansError as error:
            typer.echo(f"error: {error}", err=True)
            code = EXIT_USAGE
        except _CLICK_ERROR as error:
            if type(error).__name__ == "NoArgsIsHelpError":  # bare `nlmeans`: the help
                typer.echo(error.format_message())
                code = EXIT_OK
            else:
                ctx = getattr(error, "ctx", None)
                where = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
                message = " ".join(error.format_message().split())
                typer.echo(f"error: {message}{where}", err=True)
                code = error.exit_code
        except (KeyboardInterrupt, typer.Abort):
            code = EXIT_INTERRUPTED  # its line is printed below
        except Exception as error:
            if "--debug" in arguments:
                raise
            typer.echo(f"error: {internal_error(error)}", err=True)
            code = EXIT_INTERNAL
        finally:
            if not PROCESS_ENDS and "nlmeans.io._write" in sys.modules:  # (--help loads no io)
                sys.modules["nlmeans.io._write"].release_held_signals()
        code = code if isinstance(code, int) else EXIT_OK
        if code == EXIT_INTERRUPTED and not _interrupt_reported:
            # Typer turns an interrupt outside a command's error boundary (parsing the
            # arguments, the moment a command returns) into exit 130 without a word.
            typer.echo("error: interrupted", err=True)
        if standalone_mode:
            sys.exit(code)
        return code


class HelpCommand(typer.core.TyperCommand):
    """A command whose usage line names its arguments as Click does (``INPUT``, not ``{INPUT}``)."""

    def collect_usage_pieces(self, ctx) -> list[str]:
        return [piece.strip("{}") for piece in super().collect_usage_pieces(ctx)]


# Help as plain text (rich_markup_mode=None): rich markup would read "nlmeans[video]" as a
# tag and print "nlmeans", and Typer's rich table shows flags as "--overwrite <bool>".
app = typer.Typer(
    cls=_OneLineErrors,
    rich_markup_mode=None,
    add_completion=False,
    no_args_is_help=True,
    help="Non-local means image denoising: fast, exact, on the CPU (Numba) or an NVIDIA GPU.",
    pretty_exceptions_enable=False,
)


def _warning_as_note(message, category, filename, lineno, file=None, line=None) -> None:
    """Show a warning the library raises (e.g. tune leaving a method out) as one note line."""
    note(" ".join(str(message).split()))


def internal_error(error: BaseException) -> str:
    """The one line for an exception nlmeans did not anticipate."""
    detail = " ".join(str(error).split()) or "no message"
    return f"internal error: {type(error).__name__}: {detail} — run with --debug for the traceback"


def interrupt_on_sigterm() -> None:
    """Make SIGTERM (``kill``) and Ctrl-C raise KeyboardInterrupt (main thread only), so
    that pending writes remove their temporary files before the exit code 130."""

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, interrupt)
        signal.signal(signal.SIGINT, signal.default_int_handler)


#: Show the compile notice when warming the kernels takes longer than this
#: (loading them from Numba's cache takes about 0.5 s, compiling them 10 s).
COMPILE_NOTICE_AFTER_S = 2.0


@app.callback()
def root() -> None:
    """Non-local means image denoising: fast, exact, on the CPU (Numba) or an NVIDIA GPU."""


#: True when the process ends with the command (the console script): the interrupts held
#: since its last output was published then stay held until the exit.
PROCESS_ENDS = False

#: Whether this run printed its ``error: interrupted`` line (one line, whatever the path).
_interrupt_reported = False


def fail(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    """Print ``error: message`` on stderr and return the Exit to raise."""
    global _interrupt_reported
    _interrupt_reported = _interrupt_reported or code == EXIT_INTERRUPTED
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
    Any other exception is an internal error: one line, exit code 3.
    """
    from ..errors import NLMeansError

    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.getsignal(signal.SIGTERM) if main_thread else None
    interrupt_on_sigterm()
    try:
        yield
    except (NLMeansError, OSError) as error:
        if debug:
            raise
        raise fail(str(error)) from None
    except KeyboardInterrupt:
        if debug:
            raise
        raise fail("interrupted", code=EXIT_INTERRUPTED) from None
    except typer.Exit:  # a command's own exit (fail(...)): not an internal error
        raise
    except Exception as error:
        if debug:
            raise
        raise fail(internal_error(error), code=EXIT_INTERNAL) from None
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)


def check_thread_variable() -> None:
    """Refuse a NUMBA_NUM_THREADS that Numba would fail on (empty, not a number, below 1)
    and cap one above the cores, before Numba is imported."""
    from ..errors import NLMeansError

    value = os.environ.get("NUMBA_NUM_THREADS")
    if value is None:
        return
    try:
        count = int(value)
    except ValueError:
        count = 0
    if count < 1:
        raise NLMeansError(
            f"NUMBA_NUM_THREADS={value!r} is invalid; expected an integer >= 1 (or leave it unset)"
        )
    cores = os.cpu_count() or 1
    if count > cores:  # more threads than cores: no faster, and thread creation can fail
        note(f"NUMBA_NUM_THREADS={count} is more than the {cores} CPU cores here; using {cores}")
        os.environ["NUMBA_NUM_THREADS"] = str(cores)


def prepare_backend(
    name: str,
    threads: int | None,
    method,
    tune: bool,
    quiet: bool,
    patch_kernel: str = "uniform",
    ndim: int = 2,
):
    """The backend the run uses, with ``--threads`` applied and every kernel it needs
    (the method's with ``patch_kernel``, and SURE's multi-h sweeps for ``--tune``)
    compiled or loaded, for images of ``ndim`` spatial axes (3 for any stack or
    per-axis radii: the N-D kernels).

    Announces a compile if warming up takes a while. Also makes the noise
    estimator's first call, so that the times the commands report are those of
    the work itself.
    """
    import numpy as np

    from ..backends import REGISTRY, select
    from ..batch import kernels_to_warm
    from ..noise import estimate_sigma
    from ..params import check_method, check_patch_kernel

    method = check_method(method) if method is not None else None
    patch_kernel = check_patch_kernel(patch_kernel)
    # A combination is fitted by SURE: it warms up what tuning does.
    tune = tune or method == "combined"
    backend = select(name, None if tune else method or "pixel", ndim, patch_kernel)
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
    to_warm = kernels_to_warm(method, tune, backend)
    notice = threading.Timer(
        COMPILE_NOTICE_AFTER_S,
        lambda: quiet or typer.echo("compiling kernels, first run only…", err=True),
    )
    notice.start()
    try:
        for warm_method, strengths in to_warm:
            backend.warm_up(warm_method, strengths, patch_kernel, min(ndim, backend.max_dims))
        # Large enough for nlmeans' own estimator, so skimage's fallback is not imported.
        estimate_sigma(np.random.default_rng(0).random((96, 96), dtype=np.float32))
    finally:
        notice.cancel()
    return backend


def print_json(document: dict) -> None:
    """The one JSON document a ``--json`` command prints on stdout: strict JSON, with
    non-finite numbers (a PSNR of a noise-free image, an undefined ratio) as null."""
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

NoiseOption = Annotated[
    str,
    typer.Option(
        "--noise",
        help="Noise model: gaussian; poisson-gaussian (photon counts: variance-stabilised, "
        "denoised, exact unbiased inverse); or rician (magnitude MRI: NLM of the squared "
        "magnitude with the 2*N*sigma^2 bias removed; sigma from the background unless given).",
    ),
]
GainOption = Annotated[
    float | None,
    typer.Option(
        "--gain", help="poisson-gaussian: raw units per photon count. Default: estimated."
    ),
]
ReadNoiseOption = Annotated[
    float | None,
    typer.Option(
        "--read-noise",
        help="poisson-gaussian: Gaussian read noise deviation, raw units. Default: estimated.",
    ),
]
OffsetOption = Annotated[
    float | None,
    typer.Option("--offset", help="poisson-gaussian: the dark level, raw units. Default: 0."),
]


def noise_options(noise: str, gain, read_noise, offset) -> dict:
    """The noise-model keywords of nlmeans.denoise, checked; empty for Gaussian noise."""
    from ..noise._models import GAUSSIAN, check_noise

    check_noise(noise, gain, read_noise, offset)
    if noise == GAUSSIAN:
        return {}
    return {"noise": noise, "gain": gain, "read_noise": read_noise, "offset": offset}


def parse_radii(value: str | None):
    """``--r``/``--f``: one int for every spatial axis, or comma-separated ints, one per axis."""
    if value is None:
        return None
    parts = [part.strip() for part in str(value).split(",")]
    try:
        numbers = [int(part) for part in parts]
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not an integer or a comma-separated list of integers (e.g. 2,10,10)"
        ) from None
    return numbers[0] if len(numbers) == 1 else tuple(numbers)


ROption = Annotated[
    str | None,
    typer.Option(
        "--r",
        callback=parse_radii,
        help="Search radius, pixels: window 2r+1 along each spatial axis; one value for all "
        "axes or one per axis, e.g. 2,10,10 (time, y, x). Default: preset.",
    ),
]
FOption = Annotated[
    str | None,
    typer.Option(
        "--f",
        callback=parse_radii,
        help="Patch radius, pixels: patch 2f+1 along each spatial axis; one value for all "
        "axes or one per axis, e.g. 0,3,3 (2-D patches across frames). Default: preset.",
    ),
]
MethodOption = Annotated[
    str | None,
    typer.Option(
        "--method",
        help="pixel (the exact pixelwise formula), patch (patchwise aggregation, IPOL 2011) or "
        "combined (a SURE-weighted combination of pixel and patch estimates and the noisy "
        "image); bayes (NL-Bayes, Lebrun, Buades & Morel 2013: Wiener filters of groups of "
        "similar patches, two steps). Default: pixel, or chosen by --tune.",
    ),
]
PatchKernelOption = Annotated[
    str,
    typer.Option(
        "--patch-kernel",
        help="uniform (the mean over the patch, IPOL 2011) or gaussian (Gaussian-weighted "
        "patch distance, sigma = f/2 per axis, CVPR 2005; as scikit-image's fast_mode=False).",
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
AxesOption = Annotated[
    str | None,
    typer.Option(
        "--axes",
        help="The input's axes in order: T (time), Z (depth), Y, X, C (channels; S is read as "
        "C), e.g. ZYX, TYX, ZYXC, TZYXC. Default: from the file (TIFF metadata; .npy: YX, YXC "
        "or ZYX by shape). A T axis gets f=0, r=2 on that axis unless --f/--r are given.",
    ),
]
CodecOption = Annotated[
    str | None,
    typer.Option(
        "--codec",
        help="Video outputs: lossless (default: FFV1 in .mkv/.avi, libx264rgb qp 0 in .mp4), "
        "lossy (libx264 crf 17, yuv444p), or an encoder: ffv1, libx264rgb, libx264.",
    ),
]
