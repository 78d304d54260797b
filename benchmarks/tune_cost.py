"""Tuning cost: ``nlmeans.tune`` time over one presets denoise, same σ, same process, warm.

512 × 512 camera (gray) and astronaut (RGB) with Gaussian noise (σ = 20, rounded and
clipped to uint8, ``numpy.random.default_rng(0)``); best of ``--repeats``, the runs
interleaved. With σ estimated once and given to every run: the presets denoise,
``tune`` with its default search (pixelwise, exact divergence) and with
``methods=("pixel", "patch")`` (patchwise scored too, Monte-Carlo). End to end, σ
estimated inside: ``denoise(noisy)`` (the presets) against ``denoise(noisy, tune=True)``
(σ estimated once, tune, then the denoise with the chosen parameters).

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
            "tune +patch": partial(
                nlmeans.tune, noisy, sigma, channel_axis=axis, methods=("pixel", "patch")
            ),
            "denoise σ̂": partial(nlmeans.denoise, noisy, channel_axis=axis),
            "denoise σ̂ tune=True": partial(nlmeans.denoise, noisy, channel_axis=axis, tune=True),
        }
        for run in runs.values():  # warm: compile or load the kernels
            run()
        best = dict.fromkeys(runs, float("inf"))
        for _ in range(args.repeats):
            for key, run in runs.items():
                start = time.perf_counter()
                run()
                best[key] = min(best[key], time.perf_counter() - start)
        ratios = ", ".join(
            f"{k} {best[k]:.3f} s ({best[k] / best['presets']:.1f}×)"
            for k in ("presets", "tune", "tune +patch")
        )
        end = best["denoise σ̂ tune=True"] / best["denoise σ̂"]
        print(
            f"{name}: {ratios}; end to end: denoise {best['denoise σ̂']:.3f} s, "
            f"tune=True {best['denoise σ̂ tune=True']:.3f} s ({end:.1f}×)"
        )


if __name__ == "__main__":
    main()
