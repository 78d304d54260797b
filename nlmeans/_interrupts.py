"""Ctrl-C and ``kill`` honoured at once, however long one kernel call takes.

A Numba kernel call cannot be interrupted: Python runs signal handlers between
bytecodes of the main thread, never inside compiled code. A call with large
radii (r = 200 on a 1200² RGB photo) takes hours, and a slab holds at least a
few rows. So the main thread hands each kernel call to a worker thread (the
kernels release the GIL) and waits for it in short, interruptible waits: an
interrupt raises KeyboardInterrupt in the main thread within a fraction of a
second, whatever the size of the call.

The abandoned call runs on until it ends (the command line exits at once;
in Python the next call waits for it, since one kernel runs at a time).
Calls from other threads (Dask workers, batch read-ahead) run directly.
"""

from __future__ import annotations

import functools
import sys
import threading

#: Seconds between two looks at a pending interrupt while a kernel runs.
WAIT_S = 0.05

#: One kernel call at a time through a worker (an abandoned one included).
_RUNNING = threading.Lock()


def _thread_count_setter():
    """Return a function applying the caller's Numba thread count in another thread.

    Numba keeps ``set_num_threads`` per thread; before Numba is imported the
    function is a no-op.
    """
    numba = sys.modules.get("numba")
    if numba is None:
        return lambda: None
    count = numba.get_num_threads()
    return lambda: numba.set_num_threads(count)


#: Set when an interrupt was swallowed by a finalizer (:func:`defer_interrupt`).
_DEFERRED = threading.Event()


def defer_interrupt() -> None:
    """Keep an interrupt that could not be raised where it landed, for the next kernel call.

    A KeyboardInterrupt raised in a ``__del__`` method or a weakref callback (a signal
    landing while llvmlite frees compiled objects) cannot leave it; the command
    line's unraisable-exception hook hands it here instead, and
    :func:`interruptible` raises it before, or while waiting for, the next call.
    """
    _DEFERRED.set()


def clear_deferred() -> None:
    """Forget a deferred interrupt (a command line run starting or ending)."""
    _DEFERRED.clear()


def _raise_deferred() -> None:
    if _DEFERRED.is_set():
        _DEFERRED.clear()
        raise KeyboardInterrupt


def busy() -> bool:
    """Tell whether a kernel call runs in a worker (one abandoned after an interrupt included)."""
    return _RUNNING.locked()


def interrupt_behind(error: BaseException) -> bool:
    """Tell whether ``error`` is, or was caused by, a KeyboardInterrupt (Ctrl-C or ``kill``).

    A signal handler can raise while compiled code calls back into Python; the
    extension then returns with the KeyboardInterrupt pending and Python raises
    ``SystemError(... returned a result with an exception set)`` from it. Readers
    that turn any failure into NLMeansError keep it as the cause. Such an error
    is an interrupt, never a failure of the input or of nlmeans.
    """
    pending, seen = [error], set()
    while pending:
        link = pending.pop()
        if link is None or id(link) in seen:
            continue
        if isinstance(link, KeyboardInterrupt):
            return True
        seen.add(id(link))
        pending += [link.__cause__, link.__context__]
    return False


def reraise_interrupt(error: BaseException) -> None:
    """Raise KeyboardInterrupt when ``error`` was caused by one; else return.

    For a handler that would otherwise take any failure as an answer (a probe
    that reports "unavailable", a file that failed): an interrupt must go on.
    """
    if interrupt_behind(error):
        raise KeyboardInterrupt from error


def _acquire(lock: threading.Lock) -> None:
    """Take ``lock``, in interruptible waits."""
    while not lock.acquire(timeout=WAIT_S):
        pass


def interruptible(function):
    """Run ``function`` in a worker thread that the main thread waits on interruptibly.

    Returns a wrapper with ``function``'s arguments and result (its exceptions
    are raised in the caller). Off the main thread the wrapper calls
    ``function`` directly.
    """

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        if threading.current_thread() is not threading.main_thread():
            return function(*args, **kwargs)
        _raise_deferred()
        outcome: dict = {}
        apply_threads = _thread_count_setter()
        _acquire(_RUNNING)

        def work():
            try:
                apply_threads()
                outcome["value"] = function(*args, **kwargs)
            except BaseException as error:  # handed to the caller below
                outcome["error"] = error
            finally:
                _RUNNING.release()

        worker = threading.Thread(target=work, name="nlmeans-kernel", daemon=True)
        try:
            worker.start()
        except BaseException:  # e.g. Ctrl-C while start() waits for the thread to run
            if worker.ident is None:  # it never ran: the lock is the caller's to give back
                _RUNNING.release()
            raise
        while worker.is_alive():
            worker.join(WAIT_S)  # KeyboardInterrupt is raised here
            _raise_deferred()
        if "error" in outcome:
            raise outcome["error"]
        return outcome["value"]

    return wrapper
