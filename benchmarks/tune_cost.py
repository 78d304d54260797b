"""Tuning cost: ``nlmeans.tune`` time over one presets denoise, same σ, same process, warm.

512 × 512 camera (gray) and astronaut (RGB) with Gaussian noise (σ = 20, rounded and
clipped to uint8, ``numpy.random.default_rng(0)``); σ estimated once and given to every
run; best of ``--repeats``. Runs: the presets denoise, ``tune`` with its default search
(pixelwise exact + patchwise Monte-Carlo) and ``tune(methods=("pixel",))``.

    python benchmarks/tune_cost.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import time
from functools import partial

import numpy as np
from skimage import data

import nlmeans


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    for name, image, axis in (("camera", data.camera(), None), ("astronaut", data.astronaut(), 2)):
        noisy = np.clip(image + rng.normal(0, 20, image.shape), 0, 255).astype(np.uint8)
        sigma = nlmeans.estimate_sigma(noisy, channel_axis=axis)
        runs = {
            "presets": partial(nlmeans.denoise, noisy, sigma=sigma, channel_axis=axis),
            "tune": partial(nlmeans.tune, noisy, sigma, channel_axis=axis),
            "tune pixel": partial(
                nlmeans.tune, noisy, sigma, channel_axis=axis, methods=("pixel",)
            ),
        }
        for run in runs.values():  # warm: compile or load the kernels
            run()
        best = dict.fromkeys(runs, float("inf"))
        for _ in range(args.repeats):
            for key, run in runs.items():
                start = time.perf_counter()
                run()
                best[key] = min(best[key], time.perf_counter() - start)
        ratios = ", ".join(f"{k} {v:.3f} s ({v / best['presets']:.1f}×)" for k, v in best.items())
        print(f"{name}: {ratios}")


if __name__ == "__main__":
    main()
