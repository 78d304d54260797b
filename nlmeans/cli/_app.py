"""The command line's one error boundary: the Typer app, its exit codes, errors and notes.

Every way out of a command ends in :meth:`_OneLineErrors.main`: bad usage and
bad input (NLMeansError, OSError) print one ``error:`` line and exit with
:data:`EXIT_USAGE`; Ctrl-C and SIGTERM (``kill``), start-up included, exit with
:data:`EXIT_INTERRUPTED` and no traceback, and pending writes remove their
temporary files first; anything else prints one ``error: internal error`` line
and exits with :data:`EXIT_INTERNAL`. ``--debug`` (read from the arguments,
here only) shows the traceback instead.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import warnings

import typer
import typer.core

from .._exit_codes import EXIT_FAILED, EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE
from .._interrupts import clear_deferred, defer_interrupt, interrupt_behind

__all__ = ["EXIT_FAILED", "HelpCommand", "app", "fail", "note", "run"]


def _click_error(name: str) -> type:
    """Return Click's exception class ``name``.

    Typer bundles its own Click: the class is found through its public
    BadParameter rather than a private import path.
    """
    return next(c for c in typer.BadParameter.__mro__ if c.__name__ == name)


_CLICK_ERROR = _click_error("ClickException")


class _OneLineErrors(typer.core.TyperGroup):
    """The command group, with every way out of a command turned into an exit code.

    Usage errors (an unknown option, ``--h abc``) print one ``error:`` line
    instead of Click's usage box; NLMeansError and OSError one ``error:`` line
    and :data:`EXIT_USAGE`; Ctrl-C and SIGTERM (``kill``) anywhere, start-up
    included, :data:`EXIT_INTERRUPTED` and no traceback; an exception that
    escapes a command one ``error: internal error`` line (the traceback with
    ``--debug``) and :data:`EXIT_INTERNAL`.
    """

    #: True when the process ends with the command (the console script): the interrupts
    #: held since its last output was published then stay held until the exit, and an
    #: interrupted run leaves at once with 130.
    process_ends = False

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        from ..errors import NLMeansError

        arguments = list(sys.argv[1:] if args is None else args)
        debug = "--debug" in arguments
        interrupt_on_sigterm()
        warnings.showwarning = _warning_as_note
        unraisable_hook = sys.unraisablehook
        sys.unraisablehook = _interrupt_after_finalizer(unraisable_hook)
        clear_deferred()
        try:
            check_thread_variable()
            code = super().main(arguments, prog_name, complete_var, standalone_mode=False, **extra)
        except (KeyboardInterrupt, typer.Abort):
            code = EXIT_INTERRUPTED  # its line is printed below
        except Exception as error:
            if interrupt_behind(error):  # e.g. SystemError from a signal inside compiled code
                code = EXIT_INTERRUPTED
            elif isinstance(error, (NLMeansError, OSError)):
                if debug:
                    raise
                typer.echo(f"error: {error}", err=True)
                code = EXIT_USAGE
            elif isinstance(error, _CLICK_ERROR):
                code = _click_exit(error)
            else:
                if debug:
                    raise
                typer.echo(f"error: {internal_error(error)}", err=True)
                code = EXIT_INTERNAL
        finally:
            sys.unraisablehook = unraisable_hook
            clear_deferred()
            if "nlmeans.io._write" in sys.modules:  # (--help: no io)
                held = sys.modules["nlmeans.io._write"]
                held.hold_until_exit() if self.process_ends else held.release_held_signals()
        code = code if isinstance(code, int) else EXIT_OK
        if code == EXIT_INTERRUPTED:
            # Typer turns an interrupt anywhere (a command, parsing the arguments, the
            # moment a command returns) into exit 130 without a word: the one line is here.
            typer.echo("error: interrupted", err=True)
            if self.process_ends:
                # Leave at once: a further Ctrl-C, or the interpreter's own shutdown after
                # one, could otherwise still end the process by the signal.
                signal.signal(signal.SIGINT, signal.SIG_IGN)
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(EXIT_INTERRUPTED)
        if self.process_ends:
            leave(code)
        if standalone_mode:
            sys.exit(code)
        return code


def leave(code: int) -> None:
    """End the console script's process with ``code``, without the interpreter's teardown.

    The outputs are published and the streams flushed by now; the exit handlers
    run (they close what libraries registered). What is skipped is freeing every
    object one by one, Numba's compiled code included: about 0.4 s of a 1.5 s run.
    """
    import atexit

    sys.stdout.flush()
    sys.stderr.flush()
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _click_exit(error) -> int:
    """Print a Click usage error as one line (a bare ``nlmeans``: the help); return its code."""
    if type(error).__name__ == "NoArgsIsHelpError":
        typer.echo(error.format_message())
        return EXIT_OK
    ctx = getattr(error, "ctx", None)
    where = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
    message = " ".join(error.format_message().split())
    typer.echo(f"error: {message}{where}", err=True)
    return error.exit_code


class HelpCommand(typer.core.TyperCommand):
    """A command whose usage line names its arguments as Click does (``INPUT``, not ``{INPUT}``)."""

    def collect_usage_pieces(self, ctx) -> list[str]:
        """Return the usage line's pieces, without Typer's braces."""
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


@app.callback()
def root() -> None:
    """Non-local means image denoising: fast, exact, on the CPU (Numba) or an NVIDIA GPU."""


def run(process_ends: bool = False) -> None:
    """Run the command line; ``process_ends``: the console script (see ``_OneLineErrors``)."""
    _OneLineErrors.process_ends = process_ends
    app(prog_name="nlmeans")


def _warning_as_note(message, category, filename, lineno, file=None, line=None) -> None:
    """Show a warning the library raises (e.g. tune leaving a method out) as one note line."""
    note(" ".join(str(message).split()))


def internal_error(error: BaseException) -> str:
    """Return the one line for an exception nlmeans did not anticipate."""
    detail = " ".join(str(error).split()) or "no message"
    return f"internal error: {type(error).__name__}: {detail} — run with --debug for the traceback"


def interrupt_on_sigterm() -> None:
    """Make SIGTERM (``kill``) and Ctrl-C raise KeyboardInterrupt (main thread only).

    Pending writes then remove their temporary files before the exit code 130.
    """

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, interrupt)
        signal.signal(signal.SIGINT, signal.default_int_handler)


def _interrupt_after_finalizer(previous):
    """Return an unraisable-exception hook that defers an interrupt a finalizer swallowed.

    A signal handler's KeyboardInterrupt raised while a ``__del__`` method or a weakref
    callback runs (llvmlite frees compiled objects that way while Numba compiles)
    cannot leave the finalizer: Python prints ``Exception ignored in …`` with a
    traceback and goes on as if nothing happened. Here it prints nothing and is kept
    for the next kernel call (:func:`nlmeans._interrupts.defer_interrupt`), which
    raises it; a run that publishes its output before then ends with exit 0, as one
    interrupted after that moment does. Other unraisable exceptions go to ``previous``.
    """

    def hook(unraisable) -> None:
        if isinstance(unraisable.exc_value, KeyboardInterrupt):
            defer_interrupt()
        else:
            previous(unraisable)

    return hook


def fail(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    """Print ``error: message`` on stderr and return the Exit to raise."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def note(message: str) -> None:
    """Print ``note: message`` on stderr (never on stdout, which ``--json`` keeps clean)."""
    typer.echo(f"note: {message}", err=True)


def check_thread_variable() -> None:
    """Refuse a NUMBA_NUM_THREADS that Numba would fail on, and cap one above the cores.

    Empty, not a number or below 1 is refused; all before Numba is imported.
    """
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
