"""Ctrl-C and ``kill`` at any moment: one ``error: interrupted`` line, exit 130, nothing written.

Every test asserts the invariant for whatever phase the signal lands in (start-up,
reading, compiling, computing, writing, after the run): none depends on how far
the process got by a given time, so a busy machine changes which phase is hit,
never the verdict.
"""

import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from nlmeans.io import read_image, write_image

#: Seconds an interrupted process may take to exit before the test fails: far longer than
#: a busy machine needs, far shorter than the hours the interrupted runs would take.
EXIT_WITHIN_S = 60


def _start(args):
    return subprocess.Popen(
        [sys.executable, "-m", "nlmeans", *map(str, args)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip


def _interrupt(process, signum, delay):
    """Send ``signum`` after ``delay`` s (unless the process ended); (stdout, stderr)."""
    try:
        out, err = process.communicate(timeout=delay)
        return out, err  # the run ended before the signal: judged as a finished run
    except subprocess.TimeoutExpired:
        pass
    process.send_signal(signum)
    try:
        return process.communicate(timeout=EXIT_WITHIN_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        pytest.fail(f"still running {EXIT_WITHIN_S} s after the signal")


def _assert_outcome(process, stderr, folder, inputs, outputs):
    """The invariant, whatever phase the signal landed in."""
    hidden = [p.name for p in folder.rglob(".*")]
    assert not hidden, f"temporary files left: {hidden}"
    # The compile notice comes when warming the kernels is slow (a busy machine).
    stderr = stderr.replace("compiling kernels, first run only…\n", "")
    if process.returncode == 130:
        assert stderr == "error: interrupted\n", stderr
        written = [p for p in outputs if p.exists()]
        # batch: the files done before the signal stay, whole
        if outputs and folder / "out" in outputs[0].parents:
            assert all(read_image(p).pixels.shape == (256, 256) for p in written)
        else:
            assert not written, "an interrupted run wrote output"
    elif process.returncode == 0:  # the run ended before the signal came
        assert "interrupted" not in stderr and all(p.exists() for p in outputs)
    else:
        # Python's own start-up (site, the package's first lines), before the console
        # script's handlers exist: killed by the signal or Python's fatal start-up
        # error. Nothing of nlmeans ran: no line of its own, no frame of its code.
        assert not [p for p in outputs if p.exists()]
        assert not [line for line in stderr.splitlines() if line.startswith("error:")], stderr
        # (A traceback may show the package's first lines, before the handlers exist.)
        for first in ("nlmeans/__init__.py", "nlmeans/__main__.py", "nlmeans/_entry.py"):
            stderr = stderr.replace(first, "")
        assert "nlmeans/" not in stderr, stderr
    assert all(p.exists() for p in inputs)


@pytest.fixture
def noisy_png(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "in" / "noisy.png"
    path.parent.mkdir()
    write_image(path, rng.integers(0, 256, (256, 256), dtype=np.uint8))
    return path


def _command(kind, source, folder):
    """(arguments, outputs) of a long run of command ``kind`` on ``source``."""
    out = folder / "out"
    if kind == "denoise":
        return ["denoise", source, "-o", folder / "o.png", "--r", 120], [folder / "o.png"]
    if kind == "batch":
        return ["batch", source.parent, out, "--r", 120], [out / source.name]
    if kind == "compare":
        csv = folder / "c.csv"
        # r = 20: scikit-image's phase may hold the GIL (the interrupt then waits for it).
        return ["compare", source, "--sigma", 10, "--r", 20, "--no-opencv", "--csv", csv], [csv]
    return ["info"], []


#: (command, seconds before the signal): denoise at seven moments from process start, the
#: other commands (which share its start-up) at three.
MOMENTS = [("denoise", d) for d in (0.0, 0.05, 0.2, 0.6, 1.5, 2.0, 3.0)] + [
    (kind, d) for kind in ("batch", "compare", "info") for d in (0.2, 1.5, 3.0)
]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.parametrize(("kind", "delay"), MOMENTS)
def test_a_signal_at_any_moment_exits_130_with_one_line(tmp_path, noisy_png, kind, delay, signum):
    args, outputs = _command(kind, noisy_png, tmp_path)
    process = _start(args)
    _, stderr = _interrupt(process, signum, delay)
    _assert_outcome(process, stderr, tmp_path, [noisy_png], outputs)


def test_a_large_radius_is_interrupted_at_once(tmp_path):
    # --r 200 on a 1200² RGB photo: one slab of the old code took hours.
    source = tmp_path / "big.png"
    rng = np.random.default_rng(1)
    write_image(source, rng.integers(0, 256, (1200, 1200, 3), dtype=np.uint8))
    output = tmp_path / "big_out.png"
    for delay in (2.0, 6.0):
        process = _start(["denoise", source, "-o", output, "--r", 200])
        _, stderr = _interrupt(process, signal.SIGINT, delay)
        assert process.returncode != 0, stderr
        _assert_outcome(process, stderr, tmp_path, [source], [output])


# --- In process: the kernel call runs in a worker the main thread waits on -------------------


def test_a_kernel_call_keeps_its_result_errors_and_thread_count():
    import numba

    from nlmeans._interrupts import interruptible

    assert interruptible(lambda a, b=1: a + b)(2, b=3) == 5
    with pytest.raises(ZeroDivisionError):
        interruptible(lambda: 1 / 0)()
    previous = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        assert interruptible(numba.get_num_threads)() == 1
    finally:
        numba.set_num_threads(previous)


def test_an_interrupt_reaches_python_while_a_kernel_runs(monkeypatch):
    # The kernel call blocks (without the GIL, as the compiled kernels do) until it is
    # released, which happens only after the interrupt: the KeyboardInterrupt must reach
    # the caller while the kernel still runs. Nothing depends on timing: the signal is
    # sent once the kernel has started. (test_a_large_radius_is_interrupted_at_once is
    # the one a compiled kernel in the main thread fails.)
    import nlmeans
    from nlmeans._interrupts import busy
    from nlmeans.backends import REGISTRY

    release, started, returned = threading.Event(), threading.Event(), []
    kernel = REGISTRY["cpu"].methods["pixel"]

    def slow(padded, *args, **kwargs):
        started.set()
        release.wait(EXIT_WITHIN_S)
        returned.append(True)
        return kernel(padded, *args, **kwargs)

    monkeypatch.setitem(REGISTRY["cpu"].methods, "pixel", slow)

    def send():
        started.wait()
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=send, daemon=True).start()
    try:
        with pytest.raises(KeyboardInterrupt):
            nlmeans.denoise(np.zeros((16, 16), np.float32), h=0.1, sigma=0.1, backend="cpu")
        assert not returned, "the interrupt waited for the kernel to return"
    finally:
        release.set()  # let the abandoned kernel finish
    while busy():
        time.sleep(0.01)
    assert returned == [True]


def test_a_command_run_in_process_leaves_interrupts_deliverable(noisy_png, tmp_path):
    # The last output's rename holds SIGINT and SIGTERM; in a longer-lived process (this
    # one) they are released after the command, or every later child would inherit them
    # blocked and never stop on Ctrl-C.
    from typer.testing import CliRunner

    from nlmeans.cli import app

    result = CliRunner().invoke(
        app, ["denoise", str(noisy_png), "-o", str(tmp_path / "o.png"), "--r", "2", "-q"]
    )
    assert result.exit_code == 0, result.output
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, [])
    assert signal.SIGINT not in blocked and signal.SIGTERM not in blocked


# --- An interrupt that compiled code turned into another error ------------------------------


def _interrupt_inside_compiled_code():
    """The error Python raises when a signal handler raises while an extension calls back."""
    try:
        raise KeyboardInterrupt
    except KeyboardInterrupt as interrupt:
        raise SystemError("<CPUDispatcher> returned a result with an exception set") from interrupt


def test_an_error_caused_by_an_interrupt_is_an_interrupt():
    from nlmeans._interrupts import interrupt_behind
    from nlmeans.errors import NLMeansError

    with pytest.raises(SystemError) as raised:
        _interrupt_inside_compiled_code()
    assert interrupt_behind(raised.value)
    assert interrupt_behind(KeyboardInterrupt())
    try:  # a reader that turns any failure into NLMeansError, its cause hidden (from None)
        try:
            _interrupt_inside_compiled_code()
        except Exception:
            raise NLMeansError("is truncated or corrupt") from None
    except NLMeansError as wrapped:
        assert interrupt_behind(wrapped)
    plain = ValueError("a failure")
    plain.__context__ = TypeError("before it")
    assert not interrupt_behind(plain)
    looped = ValueError("a")
    looped.__context__ = RuntimeError("b")
    looped.__context__.__context__ = looped
    assert not interrupt_behind(looped)


def _reader_interrupted(monkeypatch, calls):
    from PIL import ImageOps

    def interrupted(*args, **kwargs):
        calls.append(True)
        _interrupt_inside_compiled_code()

    monkeypatch.setattr(ImageOps, "exif_transpose", interrupted)


def _estimate_interrupted(monkeypatch, calls):
    from nlmeans.noise import _texture

    def interrupted(*args, **kwargs):
        calls.append(True)
        _interrupt_inside_compiled_code()

    monkeypatch.setattr(_texture, "prefix_moments", interrupted)


@pytest.mark.parametrize("kind", ["denoise", "batch", "compare"])
@pytest.mark.parametrize("where", [_reader_interrupted, _estimate_interrupted])
def test_an_interrupt_inside_compiled_code_exits_130(monkeypatch, tmp_path, noisy_png, kind, where):
    # A signal that lands while a compiled function calls back into Python surfaces as
    # SystemError (or as a reader's error caused by it): still an interrupt, never an
    # internal error, a bad input or one failed file of a batch that goes on.
    from typer.testing import CliRunner

    from nlmeans.cli import app

    calls = []
    where(monkeypatch, calls)
    args, outputs = _command(kind, noisy_png, tmp_path)
    args = [str(a) for a in args]
    result = CliRunner().invoke(app, args)
    assert calls, "the interrupted function was not reached"
    assert result.exit_code == 130, result.output
    assert result.output.strip().splitlines()[-1] == "error: interrupted", result.output
    assert "internal error" not in result.output and "corrupt" not in result.output
    assert not any(path.exists() for path in outputs)


def test_an_interrupt_inside_a_backend_probe_is_not_an_answer(monkeypatch):
    # `info` takes a probe's failure as "unavailable"; an interrupt there stops the command.
    import dataclasses

    from typer.testing import CliRunner

    from nlmeans.backends import REGISTRY
    from nlmeans.cli import app

    calls = []

    def interrupted():
        calls.append(True)
        _interrupt_inside_compiled_code()

    probed = dataclasses.replace(REGISTRY["cuda"], availability=interrupted)
    monkeypatch.setitem(REGISTRY, "cuda", probed)
    result = CliRunner().invoke(app, ["info", "--json"])
    assert calls and result.exit_code == 130, result.output
    assert result.output.strip().splitlines()[-1] == "error: interrupted"


# --- An interrupt that a finalizer swallowed ---------------------------------------------


class _InterruptedFinalizer:
    def __del__(self):
        raise KeyboardInterrupt  # what a signal handler does when it lands in a __del__


def _finalizer_interrupted(monkeypatch, calls):
    from PIL import ImageOps

    original = ImageOps.exif_transpose

    def interrupted(*args, **kwargs):
        calls.append(True)
        _InterruptedFinalizer()  # collected at once: its KeyboardInterrupt is unraisable
        return original(*args, **kwargs)

    monkeypatch.setattr(ImageOps, "exif_transpose", interrupted)


@pytest.mark.parametrize("kind", ["denoise", "batch", "compare"])
def test_an_interrupt_inside_a_finalizer_is_not_lost(monkeypatch, tmp_path, noisy_png, kind):
    # Python cannot raise out of a finalizer (llvmlite frees compiled objects in them while
    # Numba compiles): it prints "Exception ignored in ..." and goes on. The command
    # line defers the interrupt instead: the one line, exit 130, no output.
    from typer.testing import CliRunner

    from nlmeans.cli import app

    calls = []
    _finalizer_interrupted(monkeypatch, calls)
    args, outputs = _command(kind, noisy_png, tmp_path)
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert calls, "the finalizer was not reached"
    assert result.exit_code == 130, result.output
    assert result.output.strip().splitlines() == ["error: interrupted"], result.output
    assert not any(path.exists() for path in outputs)
