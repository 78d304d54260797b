"""Chunked (nlmeans.dask) against in-memory denoising, and ``batch --dask`` against ``batch``.

(a) A synthetic noisy uint8 gray image of ``--size``² pixels is written as a
chunked zarr array; default parameters; each run in its own subprocess, which
reports its wall time and peak RSS (``ru_maxrss``):

- in-memory: read the zarr into NumPy, ``nlmeans.denoise``, write it to zarr;
- chunked: ``nlmeans.dask.denoise`` on the lazy array, streamed into zarr.

Targets: chunked peak RSS <= 25% of the in-memory run's, time <= 1.2x.

(b) ``--images`` PNGs of 512x512 (uint8 gray, noisy): ``nlmeans batch`` and
``nlmeans batch --dask local:2``, each in a subprocess; throughput ratio
(target >= 0.9x) and the scheduler overhead per file (the distributed run's
wall time minus the summed per-file times divided by the worker count, per file).

    python benchmarks/bench_dask.py --size 16384 --images 200
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_RUN = r"""
import resource, sys, time, json
sys.path.insert(0, {root!r})
import numpy as np, zarr
mode, source, target = {mode!r}, {source!r}, {target!r}
start = time.perf_counter()
if mode == "memory":
    import nlmeans
    image = zarr.open_array(source, mode="r")[:]
    result = nlmeans.denoise(image, tune=False)
    out = zarr.create_array(target, shape=result.shape, chunks=(1024, 1024), dtype=result.dtype)
    out[:] = result
else:
    from nlmeans.dask import denoise_file
    denoise_file(source, target, chunk={chunk}, tune=False)
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({{"seconds": seconds, "peak_bytes": peak}}))
"""


def make_zarr(path: Path, size: int, chunk: int) -> None:
    """Smooth pattern + Gaussian noise (sigma 10), written chunk row by chunk row."""
    import numpy as np
    import zarr

    out = zarr.create_array(str(path), shape=(size, size), chunks=(chunk, chunk), dtype=np.uint8)
    rng = np.random.default_rng(0)
    x = np.arange(size, dtype=np.float32)
    for top in range(0, size, chunk):
        y = np.arange(top, min(top + chunk, size), dtype=np.float32)[:, None]
        clean = 128 + 60 * np.sin(x / 97.0) * np.cos(y / 131.0)
        noisy = clean + rng.normal(0, 10, clean.shape)
        out[top : top + len(y)] = np.clip(np.rint(noisy), 0, 255).astype(np.uint8)


def run_mode(mode: str, source: Path, target: Path, chunk: int) -> dict:
    code = _RUN.format(
        root=str(ROOT), mode=mode, source=str(source), target=str(target), chunk=chunk
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def bench_image(size: int, chunk: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        make_zarr(folder / "in.zarr", size, chunk)
        make_zarr(folder / "small.zarr", 2 * chunk, chunk)
        # Warm Numba's cache outside the measured runs.
        run_mode("dask", folder / "small.zarr", folder / "warm.zarr", chunk)
        memory = run_mode("memory", folder / "in.zarr", folder / "memory.zarr", chunk)
        chunked = run_mode("dask", folder / "in.zarr", folder / "dask.zarr", chunk)
        import numpy as np
        import zarr

        a = zarr.open_array(str(folder / "memory.zarr"))[:]
        b = zarr.open_array(str(folder / "dask.zarr"))[:]
        differ = float(np.count_nonzero(a != b)) / a.size
    mib = 1024**2
    print(f"(a) {size}x{size} uint8, chunks {chunk}, default parameters")
    print(
        f"    in-memory: {memory['seconds']:.1f} s, peak RSS {memory['peak_bytes'] / mib:.0f} MiB"
    )
    print(
        f"    chunked:   {chunked['seconds']:.1f} s, peak RSS {chunked['peak_bytes'] / mib:.0f} MiB"
    )
    print(
        f"    RSS ratio {chunked['peak_bytes'] / memory['peak_bytes']:.1%} (target <= 25%), "
        f"time ratio {chunked['seconds'] / memory['seconds']:.2f}x (target <= 1.2x), "
        f"pixels differing {differ:.2e}"
    )


def bench_batch(count: int, workers: int) -> None:
    import imageio.v3 as iio
    import numpy as np

    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        source = folder / "in"
        source.mkdir()
        rng = np.random.default_rng(1)
        for index in range(count):
            noisy = 128 + 40 * np.sin(np.arange(512) / 30.0)[None] + rng.normal(0, 15, (512, 512))
            iio.imwrite(source / f"{index:04d}.png", np.clip(noisy, 0, 255).astype(np.uint8))
        runs = {}
        for name, extra in (("plain", []), ("dask", ["--dask", f"local:{workers}"])):
            command = [sys.executable, "-m", "nlmeans", "batch", str(source), str(folder / name)]
            start = time.perf_counter()
            done = subprocess.run(
                [*command, "--json", "-q", *extra], capture_output=True, text=True, cwd=ROOT
            )
            wall = time.perf_counter() - start
            report = json.loads(done.stdout)
            per_file = sum(f["seconds"] or 0 for f in report["files"])
            runs[name] = (wall, per_file, report["summary"]["done"])
    (plain_wall, _, done_plain), (dask_wall, dask_files, done_dask) = runs["plain"], runs["dask"]
    overhead = (dask_wall - dask_files / workers) / max(done_dask, 1)
    print(f"(b) batch of {count} 512x512 uint8 PNGs, default parameters")
    print(f"    plain:        {plain_wall:.1f} s ({done_plain / plain_wall:.2f} images/s)")
    print(f"    --dask local:{workers}: {dask_wall:.1f} s ({done_dask / dask_wall:.2f} images/s)")
    print(
        f"    throughput ratio {plain_wall / dask_wall:.2f}x (target >= 0.9x); "
        f"overhead {overhead * 1000:.0f} ms per file (cluster start-up included)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=16384, help="image side for (a)")
    parser.add_argument("--chunk", type=int, default=1024, help="chunk side for (a)")
    parser.add_argument("--images", type=int, default=200, help="images for (b); 0 skips")
    parser.add_argument("--workers", type=int, default=2, help="local:N workers for (b)")
    parser.add_argument("--skip-image", action="store_true", help="run (b) only")
    args = parser.parse_args()
    if not args.skip_image:
        bench_image(args.size, args.chunk)
    if args.images:
        bench_batch(args.images, args.workers)


if __name__ == "__main__":
    main()
