"""The console script: Ctrl-C and SIGTERM exit cleanly from the very start.

Until the command line has loaded and set its own handlers, an interrupt
means nothing has been done yet: print one line and exit with 130, without a
traceback. The command line (:mod:`nlmeans.cli`) then takes over; once it has
cleaned up after an interrupt, the process leaves at once with 130 (a further
Ctrl-C, or the interpreter's own shutdown after one, could otherwise still
end it by the signal).
"""

import os
import signal
import sys


def _interrupted_while_starting(signum, frame):
    os.write(2, b"error: interrupted\n")
    os._exit(130)


signal.signal(signal.SIGINT, _interrupted_while_starting)
signal.signal(signal.SIGTERM, _interrupted_while_starting)

from .cli import main as run  # noqa: E402  (after the handlers: imports take most of start-up)

__all__ = ["main"]

#: The exit code of an interrupted run.
INTERRUPTED = 130


def main() -> None:
    """Run the command line; after an interrupt, exit with 130 straight away."""
    from .cli import _common as common

    common.PROCESS_ENDS = True  # the held interrupts of a finished run stay held to the exit
    try:
        run()
    except SystemExit as done:
        if done.code != INTERRUPTED:
            raise
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(INTERRUPTED)
