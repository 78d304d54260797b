"""σ maps and masks: quality of a σ map on a noise ramp, and the time a mask saves.

1. Ramp: clean 8-bit images from ``skimage.data``, Gaussian noise whose σ grows
   linearly from 5 (top row) to 40 (bottom row), seed recorded. nlmeans with the
   σ map (h from the presets for σ₀, the map's root mean square) against
   nlmeans with the best single σ of a grid (each with its own preset h),
   chosen with the clean image. PSNR on the 8-bit scale.
2. Mask: a 1024 × 1024 noisy image, masks covering half of it (the left half,
   a centred disc); warm runs, interleaved, the minimum of ``--repeats``;
   the masked run's time over the unmasked ``nlmeans.denoise``'s, wall and
   CPU (the process's threads together: the work, less disturbed by other jobs).

Usage: python benchmarks/bench_maps.py [--repeats 5] [--size 256] [--part ramp|masks|both]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from skimage import data, transform
from skimage.metrics import peak_signal_noise_ratio as psnr

import nlmeans

IMAGES = ("camera", "moon", "coins", "brick")
GRID = (5.0, 10.0, 15.0, 20.0, 25.0, 30.0, 35.0, 40.0)


def clean_image(name: str, size: int) -> np.ndarray:
    image = getattr(data, name)()
    return transform.resize(image.astype(float), (size, size), preserve_range=True)


def ramp(args) -> None:
    print(f"## sigma ramp 5 -> 40 (rows), {args.size}x{args.size}, seed 0")
    print("| image | map PSNR | best single sigma | its PSNR | gain (dB) |")
    print("| --- | --- | --- | --- | --- |")
    for name in IMAGES:
        clean = clean_image(name, args.size)
        sigma_map = np.tile(np.linspace(5, 40, args.size)[:, None], (1, args.size))
        noisy = clean + np.random.default_rng(0).normal(0, 1, clean.shape) * sigma_map
        mapped = nlmeans.denoise(noisy, sigma=sigma_map)
        singles = {
            s: psnr(clean, nlmeans.denoise(noisy, sigma=s, tune=False), data_range=255)
            for s in GRID
        }
        best = max(singles, key=singles.get)
        got = psnr(clean, mapped, data_range=255)
        print(
            f"| {name} | {got:.2f} | {best:g} | {singles[best]:.2f} | {got - singles[best]:+.2f} |"
        )


def timed(fn, repeats: int) -> tuple[float, float]:
    """(wall, CPU) seconds of ``fn``, each the minimum of ``repeats`` runs.

    The CPU time (all threads of this process) is the work done, which other
    jobs on a loaded machine disturb less than the wall time.
    """
    wall, cpu = float("inf"), float("inf")
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall = min(wall, time.perf_counter() - start)
        cpu = min(cpu, time.process_time() - start_cpu)
    return wall, cpu


def masks(args) -> None:
    n = 1024
    clean = clean_image("camera", n)
    noisy = np.clip(clean + np.random.default_rng(0).normal(0, 20, clean.shape), 0, 255)
    noisy = noisy.astype(np.uint8)
    left = np.zeros((n, n), bool)
    left[:, : n // 2] = True
    y, x = np.indices((n, n))
    disc = (y - n / 2) ** 2 + (x - n / 2) ** 2 < n * n / (2 * np.pi)
    options = dict(h=20, sigma=20, f=2, r=7)
    runs = {
        "unmasked": lambda: nlmeans.denoise(noisy, **options),
        "left half": lambda: nlmeans.denoise(noisy, mask=left, **options),
        "centred disc": lambda: nlmeans.denoise(noisy, mask=disc, **options),
    }
    for run in runs.values():
        run()  # warm: compile or load the kernels
    times = {name: [] for name in runs}
    for _ in range(args.repeats):
        for name, run in runs.items():
            times[name].append(timed(run, 1))
    base = min(t for t, _ in times["unmasked"])
    base_cpu = min(c for _, c in times["unmasked"])
    print(f"\n## masks, {n}x{n} uint8, f=2 r=7, min of {args.repeats} interleaved runs")
    print("| run | area | time (s) | / unmasked | CPU time (s) | / unmasked |")
    print("| --- | --- | --- | --- | --- | --- |")
    areas = {"unmasked": 1.0, "left half": left.mean(), "centred disc": disc.mean()}
    for name in runs:
        t = min(w for w, _ in times[name])
        c = min(c for _, c in times[name])
        print(
            f"| {name} | {areas[name]:.3f} | {t:.3f} | {t / base:.2f} "
            f"| {c:.3f} | {c / base_cpu:.2f} |"
        )
    out = nlmeans.denoise(noisy, mask=disc, **options)
    print(f"\noutside the disc bit-exact: {np.array_equal(out[~disc], noisy[~disc])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--part", choices=("ramp", "masks", "both"), default="both")
    args = parser.parse_args()
    if args.part in ("ramp", "both"):
        ramp(args)
    if args.part in ("masks", "both"):
        masks(args)


if __name__ == "__main__":
    main()
