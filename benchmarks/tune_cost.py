"""Tuning cost: ``nlmeans.tune`` time over one presets denoise, same σ, same process, warm.

512 × 512 camera (gray) and astronaut (RGB) with Gaussian noise (σ = 20, rounded and
clipped to uint8, ``numpy.random.default_rng(0)``); best of ``--repeats``, the runs
interleaved. With σ estimated once and given to every run: the presets denoise,
``tune`` with its default search (pixelwise, exact divergence) and with
``methods=("pixel", "patch")`` (patchwise scored too, Monte-Carlo). End to end, σ
estimated inside: ``denoise(noisy, tune=False)`` (the presets) against ``denoise(noisy)``
(σ estimated once, tune, then the denoise with the chosen parameters).

    python benchmarks/tune_cost.py [--repeats 3]
    python benchmarks/tune_cost.py --volume    # a volume and a time stack, σ 10 and 30

With ``--volume``: a 64 × 256 × 256 float32 volume of smoothed binary blobs (values
20–220) and a time stack of 32 frames of a 256 × 256 crop of ``camera`` drifting by a
pixel every other frame (``f_t = 0``, ``r_t = 2``, the 2-D presets in each frame), with
Gaussian noise (``default_rng(σ)``), σ estimated once and given; the presets denoise
against ``tune`` with its default search.
"""

from __future__ import annotations

import argparse
import time
from functools import partial

import numpy as np
from skimage import data

import nlmeans


def best_times(runs: dict, repeats: int) -> dict:
    """Best wall time of each run over ``repeats`` interleaved rounds, after a warm-up."""
    for run in runs.values():  # warm: compile or load the kernels
        run()
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(repeats):
        for key, run in runs.items():
            start = time.perf_counter()
            run()
            best[key] = min(best[key], time.perf_counter() - start)
    return best


def images(repeats: int) -> None:
    """512² camera and astronaut: the presets, tune (default and with patch), end to end."""
    rng = np.random.default_rng(0)
    for name, image, axis in (("camera", data.camera(), None), ("astronaut", data.astronaut(), 2)):
        noisy = np.clip(image + rng.normal(0, 20, image.shape), 0, 255).astype(np.uint8)
        sigma = nlmeans.estimate_sigma(noisy, channel_axis=axis)
        runs = {
            "presets": partial(nlmeans.denoise, noisy, sigma=sigma, channel_axis=axis, tune=False),
            "tune": partial(nlmeans.tune, noisy, sigma, channel_axis=axis),
            "tune +patch": partial(
                nlmeans.tune, noisy, sigma, channel_axis=axis, methods=("pixel", "patch")
            ),
            "denoise σ̂": partial(nlmeans.denoise, noisy, channel_axis=axis, tune=False),
            "denoise σ̂ tune=True": partial(nlmeans.denoise, noisy, channel_axis=axis, tune=True),
        }
        best = best_times(runs, repeats)
        ratios = ", ".join(
            f"{k} {best[k]:.3f} s ({best[k] / best['presets']:.1f}×)"
            for k in ("presets", "tune", "tune +patch")
        )
        end = best["denoise σ̂ tune=True"] / best["denoise σ̂"]
        print(
            f"{name}: {ratios}; end to end: denoise {best['denoise σ̂']:.3f} s, "
            f"tune=True {best['denoise σ̂ tune=True']:.3f} s ({end:.1f}×)"
        )


def volume(repeats: int) -> None:
    """A 64 × 256 × 256 volume and a 32-frame 256² time stack at σ 10 and 30: presets, tune."""
    from scipy import ndimage

    blobs = data.binary_blobs(256, blob_size_fraction=0.1, n_dim=3, rng=1)[:64]
    camera = data.camera().astype(np.float32)
    stacks = {
        "volume 64x256x256": (
            ndimage.gaussian_filter(blobs.astype(np.float32), 1.0) * 200 + 20,
            {},
        ),
        "time stack 32x256x256": (
            np.stack([camera[100 + k // 2 : 356 + k // 2, 150:406] for k in range(32)]),
            {"f": (0, None, None), "r": (2, None, None)},
        ),
    }
    for name, (clean, axes) in stacks.items():
        for sigma in (10, 30):
            noise = np.random.default_rng(sigma).normal(0, sigma, clean.shape)
            noisy = (clean + noise).astype(np.float32)
            estimate = float(nlmeans.estimate_sigma(noisy))
            runs = {
                "presets": partial(nlmeans.denoise, noisy, sigma=estimate, tune=False, **axes),
                "tune": partial(nlmeans.tune, noisy, estimate, **axes),
            }
            best = best_times(runs, repeats)
            print(
                f"{name} σ {sigma} (σ̂ {estimate:.2f}): presets {best['presets']:.3f} s, "
                f"tune {best['tune']:.3f} s ({best['tune'] / best['presets']:.1f}×)"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--volume", action="store_true", help="a volume and a time stack instead")
    args = parser.parse_args()
    (volume if args.volume else images)(args.repeats)


if __name__ == "__main__":
    main()
