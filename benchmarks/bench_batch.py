"""Batch throughput: ``nlmeans.batch.run_batch`` against a plain read-denoise-write loop.

Both process the same folder of N noisy 8-bit PNGs (skimage's astronaut with
Gaussian noise σ=20, ``numpy.random.default_rng(SEED)``) into fresh output
folders, with the same resolved-per-image parameters. ``run_batch`` reads the
next file and writes the previous output in helper threads while the current
image is denoised; the loop does one thing at a time. After a warm-up, the two
are interleaved (loop, batch, loop, batch, …) and the medians are reported,
with the loop's split into read / denoise / write time.

Usage::

    python benchmarks/bench_batch.py               # 8 images of 512×512, 3 rounds
    python benchmarks/bench_batch.py --images 16 --rounds 5
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import imageio.v3 as iio
import numpy as np
from skimage import data

import nlmeans
from nlmeans.backends import REGISTRY
from nlmeans.batch import discover, run_batch
from nlmeans.io import read_image, write_image

SEED = 0


def make_folder(folder: Path, count: int) -> None:
    clean = data.astronaut().astype(np.float64)
    rng = np.random.default_rng(SEED)
    for index in range(count):
        noisy = np.clip(np.rint(clean + rng.normal(0, 20, clean.shape)), 0, 255)
        iio.imwrite(folder / f"img{index:03d}.png", noisy.astype(np.uint8))


def plain_loop(source: Path, target: Path) -> tuple[float, dict]:
    """Read, denoise, write, one file after another; returns (seconds, split)."""
    target.mkdir()
    split = {"read": 0.0, "denoise": 0.0, "write": 0.0}
    start = time.perf_counter()
    for path in sorted(source.iterdir()):
        t0 = time.perf_counter()
        picture = read_image(path)
        t1 = time.perf_counter()
        result = nlmeans.denoise(picture.pixels, channel_axis=picture.channel_axis, tune=False)
        t2 = time.perf_counter()
        write_image(target / path.name, picture.with_pixels(result))
        t3 = time.perf_counter()
        split["read"] += t1 - t0
        split["denoise"] += t2 - t1
        split["write"] += t3 - t2
    return time.perf_counter() - start, split


def batch_runner(source: Path, target: Path) -> float:
    items = discover(source, target)
    start = time.perf_counter()
    results = list(run_batch(items, nlmeans.Request(tune=False)))
    assert all(result.status == "done" for result in results)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="nlmeans-bench-batch-"))
    try:
        source = root / "in"
        source.mkdir()
        make_folder(source, args.images)
        REGISTRY["cpu"].warm_up("pixel")
        nlmeans.estimate_sigma(read_image(next(source.iterdir())).pixels, channel_axis=-1)
        plain_loop(source, root / "warm")  # warm-up: caches, allocator, thread pool
        loops, batches, splits = [], [], []
        for round_ in range(args.rounds):
            seconds, split = plain_loop(source, root / f"loop{round_}")
            loops.append(seconds)
            splits.append(split)
            batches.append(batch_runner(source, root / f"batch{round_}"))
        n = args.images
        loop, batch = statistics.median(loops), statistics.median(batches)
        parts = {k: statistics.median(s[k] for s in splits) / n * 1000 for k in splits[0]}
        print(f"{n} images 512×512 RGB, median of {args.rounds} interleaved rounds")
        print(
            f"plain loop: {loop / n * 1000:.0f} ms/image ({n / loop:.2f} images/s); "
            f"read {parts['read']:.0f} + denoise {parts['denoise']:.0f} + "
            f"write {parts['write']:.0f} ms"
        )
        print(f"run_batch:  {batch / n * 1000:.0f} ms/image ({n / batch:.2f} images/s)")
        print(f"speed-up of run_batch over the loop: {loop / batch:.2f}×")
    finally:
        shutil.rmtree(root)


if __name__ == "__main__":
    main()
