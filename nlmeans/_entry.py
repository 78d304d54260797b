"""The console script: Ctrl-C and SIGTERM exit cleanly from the very start.

Until the command line has loaded and set its own handlers, an interrupt
means nothing has been done yet: print one line and exit with 130, without a
traceback. The command line (:mod:`nlmeans.cli`) then takes over.
"""

import os
import signal


def _interrupted_while_starting(signum, frame):
    os.write(2, b"error: interrupted\n")
    os._exit(130)


signal.signal(signal.SIGINT, _interrupted_while_starting)
signal.signal(signal.SIGTERM, _interrupted_while_starting)

from .cli import main  # noqa: E402  (after the handlers: imports take most of start-up)

__all__ = ["main"]
