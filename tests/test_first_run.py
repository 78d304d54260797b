"""The first run's kernel families, compiled in parallel processes into a fresh cache."""

import os
import subprocess
import sys
import types

import pytest

from nlmeans import _first_run
from nlmeans._request import Request
from nlmeans.backends import REGISTRY


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
        assert [p.args[-1] for p in started] == families[:2]
        assert all(p.args[:3] == [sys.executable, "-m", "nlmeans._first_run"] for p in started)
        assert [p.killed for p in started] == [True, True]


def test_a_process_that_cannot_start_leaves_the_compiling_to_the_command(monkeypatch):
    started = []

    def popen(args, **kwargs):
        if started:
            raise OSError("no more processes")
        started.append(args)
        return types.SimpleNamespace(wait=lambda: 0, poll=lambda: 0)

    monkeypatch.setattr(_first_run, "is_cold", lambda family: True)
    monkeypatch.setattr(_first_run.os, "cpu_count", lambda: 4)
    monkeypatch.setattr(_first_run.subprocess, "Popen", popen)
    _first_run.compile_in_parallel(["pixel-1", "sigma", "sure"])  # no error
    assert [args[-1] for args in started] == ["pixel-1"]


def test_threads_limit_the_processes(monkeypatch):
    started, alive = [], []

    def popen(args, **kwargs):
        started.append(args[-1])
        alive.append(args[-1])
        assert len(alive) <= 2  # never more at a time than --threads allows

        def wait():
            alive.remove(args[-1]) if args[-1] in alive else None
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
    # child processes; this process then loads them (cache hits, no compile).
    code = (
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
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, result.stderr
