"""The console script: Ctrl-C and SIGTERM exit cleanly from the very start.

Until the command line has loaded and set its own handlers, an interrupt
means nothing has been done yet: print one line and exit with 130, without a
traceback. The command line (:mod:`nlmeans.cli`, its one error boundary in
:mod:`nlmeans.cli._app`) then takes over, told that the process ends with it.
"""

import os
import signal

from ._exit_codes import EXIT_INTERRUPTED


def _interrupted_while_starting(signum, frame):
    os.write(2, b"error: interrupted\n")
    os._exit(EXIT_INTERRUPTED)


signal.signal(signal.SIGINT, _interrupted_while_starting)
signal.signal(signal.SIGTERM, _interrupted_while_starting)

from .cli import main as run  # noqa: E402  (after the handlers: imports take most of start-up)

__all__ = ["main"]


def main() -> None:
    """Run the command line for the whole process (leaving with 130 at once when interrupted)."""
    run(process_ends=True)
