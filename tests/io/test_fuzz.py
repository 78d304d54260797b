"""Fuzzing the file readers: mutated PNG, JPEG, TIFF and BMP files end in a clean result
or a clean refusal (one line naming the file), never another exception, a hang or a crash.

CI runs a few hundred seeded cases (about a minute on 2 cores). A longer run:

    NLMEANS_FUZZ_CASES=20000 NLMEANS_FUZZ_SEED=1 python -m pytest -q tests/io/test_fuzz.py

A failing case is reproduced with ``_fuzzing.make_case(_fuzzing.seed_files(), seed, index)``
and ``_fuzzing.run_case(...)`` (the label names the seed file, the index and the mutations).
"""

from __future__ import annotations

import os
import signal
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool

import _fuzzing
import pytest

CASES = int(os.environ.get("NLMEANS_FUZZ_CASES", "300"))
SEED = int(os.environ.get("NLMEANS_FUZZ_SEED", "0"))
#: One case in this many that reads is also denoised through the CLI.
DENOISE_EVERY = 8


def test_seed_files_are_valid():
    from nlmeans.io import read_image

    for name, data in _fuzzing.seed_files().items():
        label, outcome, detail = _fuzzing.run_case(f"{name}#seed", data, 0, denoise=False)
        assert outcome == "read", (label, detail)
    assert read_image  # the worker imports it lazily


@pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="needs POSIX interval timers")
def test_mutated_files_end_cleanly():
    seeds = _fuzzing.seed_files()
    cases = [_fuzzing.make_case(seeds, SEED, index) for index in range(CASES)]
    import multiprocessing

    # spawn, not fork: the suite may already have started Numba's thread pool here.
    context = multiprocessing.get_context("spawn")
    bad, counts = [], {"read": 0, "refused": 0, "bad": 0}
    with ProcessPoolExecutor(
        max_workers=min(2, os.cpu_count() or 1),
        mp_context=context,
        initializer=_fuzzing.init_worker,
    ) as pool:
        futures = [
            pool.submit(_fuzzing.run_case, label, data, pad, index % DENOISE_EVERY == 0)
            for index, (label, data, pad) in enumerate(cases)
        ]
        for (label, _, _), future in zip(cases, futures, strict=True):
            try:
                _, outcome, detail = future.result(timeout=_fuzzing.CASE_SECONDS * 3)
            except FutureTimeout:
                outcome, detail = "bad", "hung past the worker's own time limit"
            except BrokenProcessPool:
                outcome, detail = "bad", "the worker process crashed"
            counts[outcome] += 1
            if outcome == "bad":
                bad.append(f"{label}: {detail}")
            if len(bad) >= 10 or outcome == "bad" and "crashed" in detail:
                break
    print(f"fuzz seed {SEED}: {CASES} cases, {counts}")
    assert not bad, f"{counts}\n" + "\n".join(bad)
    assert counts["read"] > 0 and counts["refused"] > 0, counts  # the mutations do both
