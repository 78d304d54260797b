"""The command line's exit codes, documented in the README.

A module of constants only: the console script (:mod:`nlmeans._entry`) reads
:data:`EXIT_INTERRUPTED` before anything else is imported.
"""

#: Success; some file of a batch failed; bad usage or input; an unanticipated error.
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3
#: An interrupted run (Ctrl-C, SIGTERM): 128 + SIGINT, as shells report it.
EXIT_INTERRUPTED = 130
