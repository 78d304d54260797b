"""The peers of ``compare`` run in a helper process, so that Ctrl-C stops them at once.

nlmeans' own kernels run in a worker thread the main thread waits on
(:mod:`nlmeans._interrupts`), which only works while the call releases the
GIL. A peer's compiled loop may hold it (then no Python code, signal handlers
included, runs until it returns: minutes with large radii). So the peers run
in one helper process, a fresh interpreter started on first use (it runs none
of the caller's ``__main__``) and reused by the later calls: the main process
waits on it in short interruptible steps and, on Ctrl-C or any error, kills it.

The helper runs in a session of its own, so the terminal's Ctrl-C reaches only
the main process, which decides. The time of a call includes sending the image
there and back (milliseconds for a megapixel image).
"""

from __future__ import annotations

import atexit
import functools
import os
import subprocess
import sys

#: Seconds between two looks at a pending interrupt while the helper computes.
WAIT_S = 0.05

_helper = None  # (process, connection to read, connection to write), or None


def serve(read_fd: int, write_fd: int) -> None:
    """Run each (function, args, kwargs) received and send back its outcome (the helper).

    Parameters
    ----------
    read_fd, write_fd : int
        The pipe ends the main process passed: requests in, outcomes out.
    """
    from multiprocessing.connection import Connection

    requests = Connection(read_fd, writable=False)
    replies = Connection(write_fd, readable=False)
    while True:
        try:
            function, args, kwargs = requests.recv()
        except EOFError:  # the main process closed its end, or is gone
            return
        try:
            outcome = (True, function(*args, **kwargs))
        except BaseException as error:  # handed to the caller
            outcome = (False, error)
        replies.send(outcome)


def _start():
    global _helper
    if _helper is None or _helper[0].poll() is not None:
        from multiprocessing.connection import Connection

        stop()
        request_read, request_write = os.pipe()
        reply_read, reply_write = os.pipe()
        code = f"from {__name__} import serve; serve({request_read}, {reply_write})"
        try:
            process = subprocess.Popen(
                [sys.executable, "-c", code],
                pass_fds=(request_read, reply_write),
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        finally:
            os.close(request_read)
            os.close(reply_write)
        _helper = (
            process,
            Connection(reply_read, writable=False),
            Connection(request_write, readable=False),
        )
    return _helper


def stop() -> None:
    """Kill the helper process, if one runs (at exit, after an interrupt or an error)."""
    global _helper
    if _helper is not None:
        process, replies, requests = _helper
        _helper = None
        replies.close()
        requests.close()
        if process.poll() is None:
            process.kill()
        process.wait()


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
        process, replies, requests = _start()
        try:
            requests.send((function, args, kwargs))
            while not replies.poll(WAIT_S):  # KeyboardInterrupt is raised here
                if process.poll() is not None:
                    raise RuntimeError(
                        f"the helper process running {function.__name__} died "
                        f"(exit code {process.returncode})"
                    )
            ok, value = replies.recv()
        except BaseException:
            stop()
            raise
        if not ok:
            raise value
        return value

    return wrapper
