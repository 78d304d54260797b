"""The peers of ``compare`` run in a helper process, so that Ctrl-C stops them at once.

nlmeans' own kernels run in a worker thread the main thread waits on
(:mod:`nlmeans._interrupts`), which only works while the call releases the
GIL. A peer's compiled loop may hold it (then no Python code, signal handlers
included, runs until it returns: minutes with large radii). So the peers run
in one helper process, started on first use (Python's ``spawn``: no thread
state is inherited) and reused by the later calls: the main process waits on
it in short interruptible steps and, on Ctrl-C or any error, kills it.

The time of a call includes sending the image there and back (milliseconds
for a megapixel image); the helper ignores SIGINT, which the terminal sends
to the whole process group: the main process decides.
"""

from __future__ import annotations

import atexit
import functools
import signal

#: Seconds between two looks at a pending interrupt while the helper computes.
WAIT_S = 0.05

_helper = None  # (process, connection) of the running helper, or None


def _serve(connection) -> None:
    """Run each (function, args, kwargs) received and send back its outcome (the helper)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        try:
            function, args, kwargs = connection.recv()
        except EOFError:  # the main process closed its end, or is gone
            return
        try:
            outcome = (True, function(*args, **kwargs))
        except BaseException as error:  # handed to the caller
            outcome = (False, error)
        connection.send(outcome)


def _start():
    global _helper
    if _helper is None or not _helper[0].is_alive():
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        ours, theirs = context.Pipe()
        process = context.Process(target=_serve, args=(theirs,), name="nlmeans-peer", daemon=True)
        process.start()
        theirs.close()
        _helper = (process, ours)
    return _helper


def stop() -> None:
    """Kill the helper process, if one runs (at exit, after an interrupt or an error)."""
    global _helper
    if _helper is not None:
        process, connection = _helper
        _helper = None
        connection.close()
        if process.is_alive():
            process.kill()
        process.join()


atexit.register(stop)


def in_peer_process(function):
    """Wrap ``function`` to run in the helper process, the caller waiting interruptibly.

    Parameters
    ----------
    function : callable
        A module-level function (sent by reference) whose arguments and result
        can be pickled.

    Returns
    -------
    callable
        A wrapper with ``function``'s arguments and result; its exceptions are
        raised in the caller. KeyboardInterrupt (Ctrl-C, or SIGTERM through
        :mod:`nlmeans._interrupts`) reaches the caller within :data:`WAIT_S`
        seconds, whatever the call holds, and the helper is killed.
    """

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        process, connection = _start()
        try:
            connection.send((function, args, kwargs))
            while not connection.poll(WAIT_S):  # KeyboardInterrupt is raised here
                if not process.is_alive():
                    raise RuntimeError(
                        f"the helper process running {function.__name__} died "
                        f"(exit code {process.exitcode})"
                    )
            ok, value = connection.recv()
        except BaseException:
            stop()
            raise
        if not ok:
            raise value
        return value

    return wrapper
