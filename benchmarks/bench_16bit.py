"""12-bit images in uint16: the default and the presets against the image's own range.

A 12-bit camera writes values 0–4095 into uint16 files, whose data range (the
dtype's, 65535) puts one level of the presets' 8-bit scale at 257 raw units.
Clean 512² gray images (camera, brick, grass) scaled to 0–4000, Gaussian noise
of σ = 20 and 80, rounded and clipped to uint16, seed 0. PSNR (dB, data_range 4000) of the
noisy image, of ``nlmeans.denoise`` (the default, tuned) and ``tune=False``
(the presets) as a user calls them, and of the same two given
``data_range=4000`` (the range the values use): the two agree when h follows
the noise, not the dtype.

Usage: python benchmarks/bench_16bit.py
"""

from __future__ import annotations

import time

import numpy as np
from skimage import data

import nlmeans

IMAGES = {"camera": data.camera, "brick": data.brick, "grass": data.grass}
SIGMAS = (20.0, 80.0)
PEAK = 4000.0


def psnr(clean: np.ndarray, estimate: np.ndarray) -> float:
    error = np.mean((clean - estimate.astype(np.float64)) ** 2)
    return float(10.0 * np.log10(PEAK**2 / error))


def main() -> None:
    started = time.perf_counter()
    header = ["image", "σ", "noisy", "default", "default, data_range=4000", "presets",
              "presets, data_range=4000"]  # fmt: skip
    print("| " + " | ".join(header) + " |")
    print("|" + " --- |" * len(header))
    for name, load in IMAGES.items():
        clean = load().astype(np.float64) / 255.0 * PEAK
        for sigma in SIGMAS:
            rng = np.random.default_rng(0)
            noisy = clean + rng.normal(0.0, sigma, clean.shape)
            noisy = np.clip(np.rint(noisy), 0, 65535).astype(np.uint16)
            row = [psnr(clean, noisy)]
            for tune in (True, False):
                row.append(psnr(clean, nlmeans.denoise(noisy, tune=tune)))
                row.append(psnr(clean, nlmeans.denoise(noisy, tune=tune, data_range=PEAK)))
            print(f"| {name} | {sigma:g} | " + " | ".join(f"{v:.2f}" for v in row) + " |")
    print(f"\n{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
