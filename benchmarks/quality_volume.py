"""Quality on volumes and time stacks: 3-D and temporal NLM against 2-D slice by slice.

Two synthetic test objects (no volume ships with the packages nlmeans depends on):

- *blobs*: a 48×96×96 volume of smoothed 3-D blobs
  (``skimage.data.binary_blobs(n_dim=3)`` blurred, 0–255), structure along
  every axis, like a fluorescence z-stack;
- *drift*: 24 frames of a 128×128 crop of ``skimage.data.camera()`` moving by
  one pixel every other frame, like a time-lapse or a slowly panning video.

White Gaussian noise of σ (8-bit units) from ``numpy.random.default_rng(σ)``,
float, unclipped; PSNR with ``data_range=255``. σ is estimated by nlmeans
(blind), as a user would run it. Rows:

- *2-D slices*: ``nlmeans.denoise`` on each slice (frame) alone, 2-D presets;
- *presets*: the volume presets (blobs: 3-D; drift: 2-D presets in each frame
  and ``f_t = 0``, ``r_t = 2`` across frames, what the command line does for a
  TYX file);
- *tune*: ``tune=True`` on the whole volume;
- *best h*: the presets' f and r with the best h/σ of a grid, chosen with the
  clean volume (the ceiling for the presets' h).

Run: ``python benchmarks/quality_volume.py`` (about a minute on 2 cores).

``--bayes``: NL-Bayes against 3-D NLM (both with their volume presets, σ
given) on a 64×128×128 blobs volume at σ = 20, PSNR and warm time of each: the
two run interleaved ``--repeats`` times (default 3) in one process, best time of
each and their ratio; ``--shape 32 96`` and ``--seed`` give a second volume.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy import ndimage
from skimage import data
from skimage.metrics import peak_signal_noise_ratio

import nlmeans

RATIOS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.0)


def blobs(depth: int = 48, side: int = 96) -> np.ndarray:
    """depth×side×side 3-D blobs of two sizes with a fine texture, on the 0–255 scale."""
    large = data.binary_blobs(length=side, n_dim=3, volume_fraction=0.35, rng=3)[:depth]
    small = data.binary_blobs(
        length=side, n_dim=3, blob_size_fraction=0.04, volume_fraction=0.2, rng=4
    )[:depth]
    texture = ndimage.gaussian_filter(np.random.default_rng(5).normal(0, 1, large.shape), 1.0)
    volume = 140 * large + 60 * small + 90 * texture
    return 30 + ndimage.gaussian_filter(volume, 0.8)


def drift() -> np.ndarray:
    """24 frames of a 128×128 camera crop drifting by one pixel every other frame."""
    camera = data.camera().astype(np.float64)
    return np.stack([camera[100 + k // 2 : 228 + k // 2, 200:328] for k in range(24)])


def psnr(clean, estimate) -> float:
    return float(peak_signal_noise_ratio(clean, estimate, data_range=255.0))


def rows_for(name: str, clean: np.ndarray, sigma: float, stack: bool) -> list[tuple]:
    noisy = clean + np.random.default_rng(int(sigma)).normal(0.0, sigma, clean.shape)
    noisy = noisy.astype(np.float32)
    rows = [("noisy", psnr(clean, noisy), "", 0.0)]

    start = time.perf_counter()
    slices = np.stack([nlmeans.denoise(frame, data_range=255.0, tune=False) for frame in noisy])
    rows.append(("2-D slices", psnr(clean, slices), "2-D presets", time.perf_counter() - start))

    given = {"f": (0, None, None), "r": (2, None, None)} if stack else {}
    start = time.perf_counter()
    out, params = nlmeans.denoise(noisy, data_range=255.0, return_params=True, tune=False, **given)
    rows.append(("presets", psnr(clean, out), describe(params), time.perf_counter() - start))

    start = time.perf_counter()
    out, tuned = nlmeans.denoise(noisy, data_range=255.0, return_params=True, tune=True, **given)
    rows.append(("tune", psnr(clean, out), describe(tuned), time.perf_counter() - start))

    best = max(
        (
            psnr(clean, nlmeans.denoise(noisy, h=ratio * params.sigma, sigma=params.sigma,
                                        f=params.f, r=params.r)),
            ratio,
        )
        for ratio in RATIOS
    )  # fmt: skip
    rows.append(("best h", best[0], f"h/σ̂={best[1]:.2f}", 0.0))
    return [(name, sigma, *row) for row in rows]


def describe(params) -> str:
    f = ",".join(map(str, params.f)) if isinstance(params.f, tuple) else params.f
    r = ",".join(map(str, params.r)) if isinstance(params.r, tuple) else params.r
    return f"f={f} r={r} h/σ̂={params.h / params.sigma:.2f} {params.method}"


def bayes_volume(sigma: float = 20.0, repeats: int = 1, depth: int = 64, side: int = 128,
                 seed: int | None = None) -> None:  # fmt: skip
    """NL-Bayes against 3-D NLM on a depth×side×side blobs volume, σ given, warm runs.

    The two methods run interleaved ``repeats`` times in this process; each row shows the
    best time, and the last line the ratio of the best times (a loaded machine slows
    both alike). ``seed`` draws the noise (default: σ).
    """
    clean = blobs(depth, side)
    rng = np.random.default_rng(int(sigma) if seed is None else seed)
    noisy = (clean + rng.normal(0.0, sigma, clean.shape)).astype(np.float32)
    methods = ("pixel", "bayes")
    for method in methods:
        nlmeans.denoise(
            noisy[:16, :32, :32], sigma=sigma, data_range=255.0, method=method, tune=False
        )
    best = dict.fromkeys(methods, float("inf"))
    rows = {}
    for _ in range(repeats):
        for method in methods:
            start = time.perf_counter()
            out, params = nlmeans.denoise(noisy, sigma=sigma, data_range=255.0, method=method,
                                          return_params=True, tune=False)  # fmt: skip
            best[method] = min(best[method], time.perf_counter() - start)
            rows[method] = (psnr(clean, out), describe(params))
    title = f"{depth}×{side}×{side} blobs, σ given"
    print(f"| {title} | PSNR dB | parameters | seconds (best of {repeats}) |")
    print("| --- | ---: | --- | ---: |")
    for method in methods:
        value, text = rows[method]
        print(f"| {method} | {value:.2f} | {text} | {best[method]:.2f} |")
    gain = rows["bayes"][0] - rows["pixel"][0]
    print(f"\nbayes − pixel: {gain:+.2f} dB at {best['bayes'] / best['pixel']:.2f}× the time")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sigmas", type=float, nargs="+", default=[10.0, 20.0, 30.0])
    parser.add_argument("--bayes", action="store_true", help="NL-Bayes against 3-D NLM")
    parser.add_argument("--repeats", type=int, default=3, help="--bayes: interleaved runs")
    parser.add_argument("--shape", type=int, nargs=2, default=[64, 128], metavar=("DEPTH", "SIDE"),
                        help="--bayes: the blobs volume's depth and side")  # fmt: skip
    parser.add_argument("--seed", type=int, default=None, help="--bayes: noise seed (default σ)")
    args = parser.parse_args()
    if args.bayes:
        bayes_volume(repeats=args.repeats, depth=args.shape[0], side=args.shape[1], seed=args.seed)
        return
    print("| object | σ | row | PSNR dB | parameters | seconds |")
    print("| --- | ---: | --- | ---: | --- | ---: |")
    start = time.perf_counter()
    for name, clean, stack in (("blobs", blobs(), False), ("drift", drift(), True)):
        for sigma in args.sigmas:
            for obj, s, row, value, text, seconds in rows_for(name, clean, sigma, stack):
                shown = f"{seconds:.2f}" if seconds else ""
                print(f"| {obj} | {s:g} | {row} | {value:.2f} | {text} | {shown} |", flush=True)
    print(f"\n{time.perf_counter() - start:.0f} s in all")


if __name__ == "__main__":
    main()
