"""Tuning quality on whole images: presets, ``tune`` and the candidate oracle, σ estimated.

Whole ``skimage.data`` images (camera, brick, astronaut 512²; page 191 × 384),
Gaussian noise from ``numpy.random.default_rng(σ)`` added in float without
clipping, σ estimated once (``nlmeans.estimate_sigma``) and given to every
column; PSNR on the 8-bit scale. Columns:

- presets: ``nlmeans.denoise(noisy, sigma=σ̂, tune=False)``, the IPOL tables;
- tune: ``nlmeans.denoise(noisy, params=nlmeans.tune(noisy, σ̂))``, with its choice;
- oracle: the best PSNR over the pixelwise candidates of the 2-D search
  (f ∈ {1, 2, 3}, r = 8, h = 0.5 … 3.5 times the search's centre in steps of
  15 %; colour: the best luminance and chrominance h of each f), σ̂ as the
  offset, which needs the clean image;
- tune / presets: the two times in this process (warm; a loaded machine makes
  them noisy, :mod:`tune_cost` measures the ratio with repeats).

    python benchmarks/tune_quality.py [--images camera,brick] [--sigmas 5,15,30]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from quality import candidate_oracle
from skimage import data

import nlmeans
from nlmeans.evaluate import add_noise, psnr
from nlmeans.sure import SEARCH_RADII


def oracle(clean, noisy, sigma, axis) -> tuple[float, str]:
    """Best PSNR over the pixelwise (f, h) candidates (colour: h per luminance and chrominance)."""
    best = candidate_oracle(
        clean, noisy, sigma, axis, methods=("pixel",), steps=15, radii=SEARCH_RADII
    )
    return best["psnr"], best["choice"]


def label(params) -> str:
    chroma = "" if params.h_chroma is None else f" hc={params.h_chroma:.3g}"
    terms = f" ({len(params.components)} terms)" if params.components else ""
    return f"{params.method} f={params.f} h={params.h:.3g}{chroma}{terms}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", default="camera,brick,astronaut,page")
    parser.add_argument("--sigmas", default="5,15,30")
    parser.add_argument("--no-oracle", action="store_true", help="skip the oracle column")
    args = parser.parse_args()
    nlmeans.tune(data.camera()[:200, :200].astype(np.float64), 10.0, data_range=255.0)  # warm
    print("| image | σ | σ̂ | presets | tune | oracle | tune / presets | tune's choice |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for name in args.images.split(","):
        clean = getattr(data, name)().astype(np.float64)
        axis = 2 if clean.ndim == 3 else None
        for sigma in (int(s) for s in args.sigmas.split(",")):
            noisy = add_noise(clean, sigma, seed=sigma)
            kwargs = {"channel_axis": axis, "data_range": 255.0}
            estimate = nlmeans.estimate_sigma(noisy, channel_axis=axis)
            start = time.perf_counter()
            presets = nlmeans.denoise(noisy, sigma=estimate, tune=False, **kwargs)
            t_presets = time.perf_counter() - start
            start = time.perf_counter()
            params = nlmeans.tune(noisy, estimate, **kwargs)
            t_tune = time.perf_counter() - start
            tuned = nlmeans.denoise(noisy, channel_axis=axis, params=params)
            best, choice = (
                (float("nan"), "") if args.no_oracle else oracle(clean, noisy, estimate, axis)
            )
            print(
                f"| {name} | {sigma} | {estimate:.2f} | {psnr(clean, presets):.2f} "
                f"| {psnr(clean, tuned):.2f} | {best:.2f} ({choice}) "
                f"| {t_tune / t_presets:.1f}× | {label(params)} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
