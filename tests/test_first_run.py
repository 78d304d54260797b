"""The first run's kernel families, compiled in parallel processes into a fresh cache."""

import os
import subprocess
import sys
import types

import pytest

from nlmeans import _first_run
from nlmeans._request import Request
from nlmeans.backends import REGISTRY


def family_of(args):
    """The family a child process was started for."""
    (family,) = [f for f in _first_run.FAMILIES if args[-1] == _first_run._child_code(f)]
    return family


def test_the_default_command_needs_every_family_and_the_presets_two():
    cpu = REGISTRY["cpu"]
    assert _first_run.families_for(Request(), cpu, 2) == ["pixel-1", "pixel-2", "sigma", "sure"]
    assert _first_run.families_for(Request(tune=False), cpu, 2) == ["pixel-1", "sigma"]
    # Kernels this module does not know compile in the command's own process, as before.
    assert _first_run.families_for(Request(tune=False), cpu, 3) == ["sigma"]
    assert _first_run.families_for(Request(), REGISTRY["reference"], 2) == ["sigma"]
    assert set(_first_run.FAMILIES) == {"pixel-1", "pixel-2", "sigma", "sure"}


def test_a_warm_cache_starts_no_process(monkeypatch):
    for family in _first_run.FAMILIES:
        _first_run.warm(family)  # compiled or loaded here: in the cache now
        assert not _first_run.is_cold(family)

    def no_process(*args, **kwargs):
        raise AssertionError("a process was started")

    monkeypatch.setattr(_first_run.subprocess, "Popen", no_process)
    _first_run.compile_in_parallel(list(_first_run.FAMILIES))


def test_an_interrupt_ends_every_process(monkeypatch):
    started = []

    class Process:
        def __init__(self, args, **kwargs):
            self.args, self.killed = args, False
            started.append(self)

        def wait(self):
            if len(started) == 2 and not self.killed:  # Ctrl-C while waiting for them
                raise KeyboardInterrupt
            return 0

        def poll(self):
            return 0 if self.killed else None

        def kill(self):
            self.killed = True

    monkeypatch.setattr(_first_run, "is_cold", lambda family: True)
    monkeypatch.setattr(_first_run.subprocess, "Popen", Process)
    for cpus, families in ((4, ["sigma", "sure"]), (2, ["pixel-1", "sigma", "sure"])):
        # With two CPUs the third process waits for a slot, and the interrupt comes
        # while waiting for the first one to end.
        started.clear()
        monkeypatch.setattr(_first_run.os, "cpu_count", lambda cpus=cpus: cpus)
        with pytest.raises(KeyboardInterrupt):
            _first_run.compile_in_parallel(families)
        assert [p.args for p in started] == [
            [sys.executable, "-c", _first_run._child_code(family)] for family in families[:2]
        ]
        assert [p.killed for p in started] == [True, True]


def test_a_process_that_cannot_start_leaves_the_compiling_to_the_command(monkeypatch):
    started = []

    def popen(args, **kwargs):
        if started:
            raise OSError("no more processes")
        started.append(family_of(args))
        return types.SimpleNamespace(wait=lambda: 0, poll=lambda: 0)

    monkeypatch.setattr(_first_run, "is_cold", lambda family: True)
    monkeypatch.setattr(_first_run.os, "cpu_count", lambda: 4)
    monkeypatch.setattr(_first_run.subprocess, "Popen", popen)
    _first_run.compile_in_parallel(["pixel-1", "sigma", "sure"])  # no error
    assert started == ["pixel-1"]


def test_threads_limit_the_processes(monkeypatch):
    started, alive = [], []

    def popen(args, **kwargs):
        family = family_of(args)
        started.append(family)
        alive.append(family)
        assert len(alive) <= 2  # never more at a time than --threads allows

        def wait():
            if family in alive:
                alive.remove(family)
            return 0

        return types.SimpleNamespace(wait=wait, poll=lambda: 0)

    monkeypatch.setattr(_first_run, "is_cold", lambda family: True)
    monkeypatch.setattr(_first_run.os, "cpu_count", lambda: 8)
    monkeypatch.setattr(_first_run.subprocess, "Popen", popen)
    families = ["pixel-1", "pixel-2", "sigma", "sure"]
    _first_run.compile_in_parallel(families, processes=2)
    assert started == families
    started.clear()
    _first_run.compile_in_parallel(families, processes=1)  # --threads 1: none
    assert started == []


def test_a_fresh_cache_is_filled_by_the_processes_and_then_loaded(tmp_path):
    # In a process of its own with an empty cache folder: two families compile in
    # child processes; this process then loads them (cache hits, no compile). It runs
    # from a folder holding another "nlmeans" (as the README's commands run from a
    # source tree beside the installed package), which the children must not import.
    code = (
        "import sys\n"
        "sys.path.remove('')  # this process imports the installed package, as the command\n"
        "from nlmeans import _first_run\n"
        "from nlmeans.noise._texture import prefix_moments\n"
        "from nlmeans.backends.cpu._sure_pixel import _sure_tiles\n"
        "assert _first_run.is_cold('sigma') and _first_run.is_cold('sure')\n"
        "_first_run.compile_in_parallel(['sigma', 'sure'])\n"
        "assert not _first_run.is_cold('sigma') and not _first_run.is_cold('sure')\n"
        "_first_run.warm('sigma'); _first_run.warm('sure')\n"
        "for kernel in (prefix_moments, _sure_tiles):\n"
        "    assert kernel.stats.cache_hits and not kernel.stats.cache_misses, kernel.stats\n"
    )
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"))
    decoy = tmp_path / "nlmeans"
    decoy.mkdir()
    (decoy / "__init__.py").write_text("raise ImportError('the working folder was imported')\n")
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=900,
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
