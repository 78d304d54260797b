"""Rician magnitude volumes: nlmeans ``noise="rician"`` against dipy's ``nlmeans(rician=True)``.

Volumes: a synthetic 3-D phantom (nested ellipsoids on a dark background,
40 × 96 × 96) and a real MRI volume dipy ships (``S0_10slices``, a b = 0
diffusion volume, 128 × 128 × 10, read from the installed package, never
downloaded), taken as the clean image. Rician noise: the magnitude of the
clean image plus complex Gaussian noise of σ = 2, 5, 10 % of its maximum,
seed 0. Every method gets that σ. PSNR over the whole volume with
data_range = the clean maximum; wall time, warm (nlmeans' kernels loaded
first), minimum of ``--repeats`` for the fast runs and one run for dipy's
classic method.

Compared: dipy 1.12 ``nlmeans(noisy, sigma, rician=True)`` (its default
blockwise method, patch radius 1, block radius 2) and
``method="classic"`` (patch radius 1, block radius 5), against nlmeans with
its presets and with dipy classic's radii (f = 1, r = 5), h from the presets.

Usage: python benchmarks/bench_rician.py [--repeats 3] [--levels 2 5 10]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import nlmeans


def phantom(shape=(40, 96, 96)) -> np.ndarray:
    z, y, x = np.indices(shape, dtype=float)
    c = (np.array(shape) - 1) / 2

    def ellipsoid(a, b, cc, dy=0.0, dx=0.0):
        return ((z - c[0]) / a) ** 2 + ((y - c[1] - dy) / b) ** 2 + ((x - c[2] - dx) / cc) ** 2 < 1

    s0, s1, s2 = shape
    v = 100.0 * ellipsoid(0.45 * s0, 0.42 * s1, 0.36 * s2)
    v -= 70 * ellipsoid(0.25 * s0, 0.15 * s1, 0.1 * s2, dx=-0.12 * s2)
    v -= 40 * ellipsoid(0.2 * s0, 0.12 * s1, 0.1 * s2, dx=0.14 * s2)
    v += 50 * ellipsoid(0.1 * s0, 0.06 * s1, 0.06 * s2, dy=0.2 * s1)
    return v


def mri() -> np.ndarray:
    from pathlib import Path

    import dipy.data
    import nibabel

    path = Path(dipy.data.__file__).parent / "files" / "S0_10slices.nii.gz"  # shipped with dipy
    volume = np.asanyarray(nibabel.load(path).dataobj)
    return np.transpose(volume[..., 0].astype(float), (2, 1, 0))  # (z, y, x)


def psnr(clean, estimate) -> float:
    return float(10 * np.log10(clean.max() ** 2 / np.mean((estimate - clean) ** 2)))


def timed(repeats: int, fn, *args, **kwargs):
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn(*args, **kwargs)
        best = min(best, time.perf_counter() - start)
    return result, best


def main() -> None:
    from dipy.denoise.nlmeans import nlmeans as dipy_nlmeans

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--levels", type=float, nargs="+", default=[2, 5, 10])
    args = parser.parse_args()
    print("| volume | sigma (% max) | noisy | dipy blockwise | nlmeans presets | dipy classic "
          "| nlmeans f=1 r=5 | time: presets / blockwise | time: r=5 / classic |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, clean in (("phantom 40x96x96", phantom()), ("MRI S0_10slices", mri())):
        rng = np.random.default_rng(0)
        nlmeans.denoise(clean[:6, :12, :12] + 1, sigma=1.0, noise="rician", f=1, r=5)  # warm
        for level in args.levels:
            sigma = level / 100 * clean.max()
            noisy = np.hypot(
                clean + rng.normal(0, sigma, clean.shape), rng.normal(0, sigma, clean.shape)
            )
            block, t_block = timed(args.repeats, dipy_nlmeans, noisy, sigma, rician=True)
            preset, t_preset = timed(
                args.repeats, nlmeans.denoise, noisy, sigma=sigma, noise="rician"
            )
            classic, t_classic = timed(1, dipy_nlmeans, noisy, sigma, rician=True, method="classic")
            wide, t_wide = timed(
                args.repeats, nlmeans.denoise, noisy, sigma=sigma, noise="rician", f=1, r=5
            )
            print(
                f"| {name} | {level:g} | {psnr(clean, noisy):.2f} "
                f"| {psnr(clean, block):.2f} ({t_block:.2f} s) "
                f"| {psnr(clean, preset):.2f} ({t_preset:.2f} s) "
                f"| {psnr(clean, classic):.2f} ({t_classic:.2f} s) "
                f"| {psnr(clean, wide):.2f} ({t_wide:.2f} s) "
                f"| {t_preset / t_block:.2f} | {t_wide / t_classic:.3f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
