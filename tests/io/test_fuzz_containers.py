"""Fuzzing the containers: mutated multi-page TIFF stacks, ``.npy`` arrays, zarr stores
and videos, denoised through the command line.

Every case ends either denoised (exit 0, the output complete) or refused: exit 2,
one ``error:`` line naming the file, no traceback, no output and no temporary
file left; the input is never modified, and nothing hangs or crashes.

CI runs a bounded number of seeded cases (``NLMEANS_FUZZ_CASES``, default 96,
a minute or two on 2 cores). A longer run:

    NLMEANS_FUZZ_CASES=5000 NLMEANS_FUZZ_SEED=3 python -m pytest -q tests/io/test_fuzz_containers.py

A failing case is reproduced from its label (seed file, index, mutations) with
``make_case(seed_files(folder), seed, index)`` and ``run_case``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import struct
import tempfile
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool

import numpy as np
import pytest

CASES = int(os.environ.get("NLMEANS_FUZZ_CASES", "96"))
SEED = int(os.environ.get("NLMEANS_FUZZ_SEED", "0"))

#: Seconds one case may take (reading and denoising) before it counts as a hang.
CASE_SECONDS = 30

#: Memory the worker's checks see as available: large declared sizes are refused fast.
WORKER_AVAILABLE = 256 * 1024**2


# ------------------------------------------------------------------ seed files


def _stack(rng, shape, dtype=np.uint8):
    high = 256 if dtype == np.uint8 else 65536
    return rng.integers(0, high, shape, dtype=dtype)


def seed_files(folder: str) -> dict[str, str]:
    """Small valid containers of each kind in ``folder``: {name: path}."""
    import tifffile

    rng = np.random.default_rng(11)
    paths = {}

    def tiff(name, data, **options):
        path = os.path.join(folder, name)
        tifffile.imwrite(path, data, **options)
        paths[name] = path

    tiff("tyx.tif", _stack(rng, (4, 18, 20)), photometric="minisblack", metadata={"axes": "TYX"})
    tiff("zyx16_imagej.tif", _stack(rng, (5, 16, 17), np.uint16), imagej=True,
         metadata={"axes": "ZYX"})  # fmt: skip
    tiff("tyxc_zlib.tif", _stack(rng, (3, 14, 15, 3)), photometric="rgb", compression="zlib",
         metadata={"axes": "TYXS"})  # fmt: skip
    pages = os.path.join(folder, "pages.tif")
    with tifffile.TiffWriter(pages) as writer:  # page by page: one series per page
        for _ in range(4):
            writer.write(_stack(rng, (12, 13)), contiguous=False, photometric="minisblack")
    paths["pages.tif"] = pages
    for name, data in {
        "zyx.npy": rng.random((5, 12, 14)).astype(np.float32),
        "yx16.npy": _stack(rng, (20, 22), np.uint16),
        "yxc.npy": _stack(rng, (16, 18, 3)),
    }.items():
        paths[name] = os.path.join(folder, name)
        np.save(paths[name], data)
    import zarr

    for name, shape, chunks in [("a.zarr", (40, 44), (16, 20)), ("b.zarr", (6, 20, 22), (3, 8, 8))]:
        paths[name] = os.path.join(folder, name)
        store = zarr.create_array(paths[name], shape=shape, chunks=chunks, dtype=np.uint16)
        store[:] = _stack(rng, shape, np.uint16)
    av = pytest.importorskip("av", reason="the video extra (PyAV) is not installed")
    for name, codec, pix in [("v.mkv", "ffv1", "bgr0"), ("v.mp4", "libx264rgb", "rgb24")]:
        paths[name] = os.path.join(folder, name)
        with av.open(paths[name], "w") as container:
            stream = container.add_stream(codec, rate=25)
            stream.width, stream.height, stream.pix_fmt = 20, 16, pix
            for frame in _stack(rng, (6, 16, 20, 3)):
                container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
            container.mux(stream.encode())
    return paths


# ------------------------------------------------------------------- mutations


def _far(rng) -> int:
    return int(rng.choice([0, 1, 3, 255, 2**15, 2**31 - 1, 2**32 - 1, int(rng.integers(0, 2**32))]))


def _mutate_bytes(data: bytearray, rng, kind: str) -> bytearray:
    if not data and kind != "pad":  # truncated to nothing by an earlier mutation
        return data
    if kind == "bitflip":
        for _ in range(int(rng.integers(1, 9))):
            at = int(rng.integers(0, len(data)))
            data[at] ^= 1 << int(rng.integers(0, 8))
    elif kind == "bytes":
        at = int(rng.integers(0, len(data)))
        data[at : at + 4] = struct.pack("<I", _far(rng))
    elif kind == "truncate":
        data = data[: int(rng.integers(0, len(data)))]
    elif kind == "pad":
        data += bytes(int(rng.integers(1, 4000)))
    return data


def _mutate_npy_header(data: bytearray, rng) -> bytearray:
    """Rewrite a field of the ``.npy`` header dict (shape, descr, fortran_order)."""
    length = struct.unpack("<H", data[8:10])[0]
    header = data[10 : 10 + length].decode("latin1")
    choice = int(rng.integers(0, 6))
    replacement = [
        "'shape': (99999999, 99999999), ",
        "'shape': (-1, 5), ",
        "'shape': (), ",
        "'descr': '<c16', ",
        "'descr': '|O', ",
        "'fortran_order': 7, ",
    ][choice]
    key = replacement.split(":")[0]
    start = header.index(key)
    end = header.index("), " if key == "'shape'" else ", ", start) + (3 if key == "'shape'" else 2)
    header = header[:start] + replacement + header[end:]
    header = header.rstrip("\n").ljust(length - 1) + "\n"
    return data[:10] + header.encode("latin1")[:length] + data[10 + length :]


def _mutate_zarr(root: str, rng) -> str:
    """Mutate a zarr store in place: its metadata or one chunk file. Returns the kind."""
    meta_path = os.path.join(root, "zarr.json")
    chunks = [
        os.path.join(folder, name)
        for folder, _, names in os.walk(root)
        for name in names
        if name != "zarr.json"
    ]
    kind = str(rng.choice(["meta_field", "meta_field", "meta_bytes", "chunk", "chunk", "loop"]))
    if kind == "meta_field":
        try:
            meta = json.loads(open(meta_path).read())
        except ValueError:  # already mangled by an earlier mutation
            return "none"
        field = str(rng.choice(["shape", "chunk_shape", "data_type", "fill_value", "codecs"]))
        values = [0, -1, 10**12, "x", None, [], [0, 0], [3], [10**9, 10**9]]
        bad = values[int(rng.integers(0, len(values)))]
        if field == "chunk_shape":
            meta["chunk_grid"]["configuration"]["chunk_shape"] = bad
        else:
            meta[field] = bad
        with open(meta_path, "w") as handle:
            json.dump(meta, handle)
        return f"zarr_{field}={bad!r}"
    if kind == "meta_bytes":
        data = bytearray(open(meta_path, "rb").read())
        data = _mutate_bytes(data, rng, str(rng.choice(["bitflip", "truncate", "bytes"])))
        with open(meta_path, "wb") as handle:
            handle.write(data)
        return "zarr_meta_bytes"
    target = chunks[int(rng.integers(0, len(chunks)))]
    if kind == "loop":
        os.unlink(target)
        os.symlink(os.path.basename(target), target)  # a link to itself
        return "zarr_chunk_loop"
    data = bytearray(open(target, "rb").read())
    mutation = str(rng.choice(["bitflip", "truncate", "bytes", "pad"]))
    with open(target, "wb") as handle:
        handle.write(_mutate_bytes(data, rng, mutation))
    return f"zarr_chunk_{mutation}"


def make_case(seeds: dict[str, str], seed: int, index: int, folder: str) -> tuple[str, str]:
    """Write case ``index`` of the run seeded ``seed`` into ``folder``: (label, path)."""
    rng = np.random.default_rng([seed, index])
    names = sorted(seeds)
    name = names[int(rng.integers(0, len(names)))]
    path = os.path.join(folder, "case" + os.path.splitext(name)[1])
    kinds = []
    if name.endswith(".zarr"):
        shutil.copytree(seeds[name], path, symlinks=True)
        for _ in range(int(rng.choice([1, 1, 2]))):
            kinds.append(_mutate_zarr(path, rng))
    else:
        data = bytearray(open(seeds[name], "rb").read())
        for _ in range(int(rng.choice([1, 1, 1, 2]))):
            choices = ["bitflip", "bytes", "truncate", "truncate", "pad"]
            if name.endswith(".npy"):
                choices += ["npy_header", "npy_header"]
            kind = str(rng.choice(choices))
            if kind == "npy_header":
                try:
                    data = _mutate_npy_header(data, rng)
                except (ValueError, struct.error):  # the header was already mangled
                    kind = "none"
            else:
                data = _mutate_bytes(data, rng, kind)
            kinds.append(kind)
        with open(path, "wb") as handle:
            handle.write(data)
    return f"{name}#{index}:{'+'.join(kinds)}", path


#: Options a seed file needs (the page-by-page TIFF has no axes metadata).
EXTRA_ARGS = {"pages.tif": ["--axes", "ZYX"]}


def denoise_args(name: str, path: str, out: str) -> list[str]:
    """The ``nlmeans denoise`` command line of a case made from the seed file ``name``."""
    args = ["denoise", path, "-o", out, "--h", "10", "--sigma", "5", "--f", "1", "--r", "1"]
    return args + EXTRA_ARGS.get(name, [])


# ---------------------------------------------------------------------- worker


def _fingerprint(path: str) -> str:
    """A hash of a file, or of every entry of a folder (links as their targets' names)."""
    digest = hashlib.sha256()
    entries = [path]
    if os.path.isdir(path) and not os.path.islink(path):
        entries = sorted(
            os.path.join(folder, name)
            for folder, dirs, names in os.walk(path)
            for name in dirs + names
        )
    for entry in entries:
        digest.update(os.path.relpath(entry, path).encode())
        if os.path.islink(entry):
            digest.update(os.readlink(entry).encode())
        elif os.path.isfile(entry):
            with open(entry, "rb") as handle:
                digest.update(handle.read())
    return digest.hexdigest()


class _Expired(BaseException):
    """Raised by the worker's alarm: not an Exception, so the command cannot swallow it."""


def _expired(signum, frame):
    raise _Expired


_SEEDS: dict[str, str] = {}


def _worker_seeds() -> dict[str, str]:
    """The seed files, written once per worker process (removed when it exits)."""
    if not _SEEDS:
        import atexit

        folder = tempfile.mkdtemp(prefix="nlmeans-fuzz-seeds-")
        atexit.register(shutil.rmtree, folder, True)
        _SEEDS.update(seed_files(folder))
    return _SEEDS


def init_worker() -> None:
    """Checks see little free memory; an alarm ends a case that hangs."""
    from nlmeans import _memory as memory

    memory.available_bytes = lambda: WORKER_AVAILABLE
    signal.signal(signal.SIGALRM, _expired)


def run_case(seed: int, index: int) -> tuple[str, str, str]:
    """Make case ``index`` and denoise it through the command line.

    Returns (label, outcome, detail): outcome "done", "refused" (exit 2, one
    line naming the file) or "bad" (anything else).
    """
    from typer.testing import CliRunner

    from nlmeans.cli import app

    work = tempfile.mkdtemp(prefix="nlmeans-fuzz-")
    try:
        seeds = _worker_seeds()
        folder = tempfile.mkdtemp(dir=work)
        label, path = make_case(seeds, seed, index, folder)
        suffix = os.path.splitext(path)[1]
        out = os.path.join(folder, "out" + suffix)
        before = _fingerprint(path)
        args = denoise_args(label.split("#")[0], path, out)
        signal.setitimer(signal.ITIMER_REAL, CASE_SECONDS)
        try:
            result = CliRunner().invoke(app, args)
        except _Expired:
            return label, "bad", f"hung: more than {CASE_SECONDS} s"
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        left = sorted(os.listdir(folder))
        if _fingerprint(path) != before:
            return label, "bad", "the input was modified"
        if "Traceback" in result.output:
            return label, "bad", f"a traceback: {result.output[-800:]}"
        if result.exit_code == 0:
            if left != sorted(["case" + suffix, "out" + suffix]):
                return label, "bad", f"exit 0 but the folder holds {left}"
            return label, "done", ""
        errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        if result.exit_code != 2:
            return label, "bad", f"exit {result.exit_code}: {result.output[-500:]}"
        if len(errors) != 1 or path not in errors[0] or result.stdout.strip():
            return label, "bad", f"not one line naming the file: {result.output[-500:]!r}"
        if left != ["case" + suffix]:
            return label, "bad", f"refused but the folder holds {left}"
        return label, "refused", errors[0]
    except BaseException:  # noqa: BLE001 - every other outcome is a finding
        import traceback

        return f"#{index}", "bad", traceback.format_exc(limit=6)
    finally:
        shutil.rmtree(work, ignore_errors=True)


# ----------------------------------------------------------------------- tests


def test_seed_containers_denoise(tmp_path):
    from typer.testing import CliRunner

    from nlmeans.cli import app

    for name, path in seed_files(str(tmp_path)).items():
        result = CliRunner().invoke(app, denoise_args(name, path, str(tmp_path / ("out_" + name))))
        assert result.exit_code == 0, (name, result.output)


@pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="needs POSIX interval timers")
def test_mutated_containers_end_cleanly():
    import multiprocessing

    # spawn, not fork: the suite may already have started Numba's thread pool here.
    context = multiprocessing.get_context("spawn")
    bad, counts = [], {"done": 0, "refused": 0, "bad": 0}
    kinds = {}
    with ProcessPoolExecutor(
        max_workers=min(2, os.cpu_count() or 1), mp_context=context, initializer=init_worker
    ) as pool:
        futures = [pool.submit(run_case, SEED, index) for index in range(CASES)]
        for index, future in enumerate(futures):
            try:
                label, outcome, detail = future.result(timeout=CASE_SECONDS * 4)
            except FutureTimeout:
                label, outcome, detail = f"#{index}", "bad", "hung past the worker's time limit"
            except BrokenProcessPool:
                label, outcome, detail = f"#{index}", "bad", "the worker process crashed"
            counts[outcome] += 1
            kinds.setdefault(label.split("#")[0], set()).add(outcome)
            if outcome == "bad":
                bad.append(f"{label}: {detail}")
            if len(bad) >= 10 or "crashed" in detail:
                break
    print(f"fuzz seed {SEED}: {CASES} cases, {counts}, {kinds}")
    assert not bad, f"{counts}\n" + "\n".join(bad)
    assert counts["done"] > 0 and counts["refused"] > 0, counts  # the mutations do both
