"""Noise: the σ estimate on the evaluation set, and the Poisson-Gaussian model.

Part ``sigma``: σ̂/σ − 1 of ``nlmeans.estimate_sigma`` (the patch estimate,
the default), of ``method="wavelet"`` (the previous default) and of
scikit-image's ``estimate_sigma`` (channels averaged) on the quality table's
crops (``benchmarks/quality.py``: textures brick, gravel, grass; smooth moon,
camera, coins; text and page; colour astronaut, coffee, chelsea,
immunohistochemistry), white Gaussian noise of σ ∈ {2, 5, 10, 25} from
``numpy.random.default_rng(σ)``, float, unclipped; and on the two volumes of
``benchmarks/quality_volume.py``. Also the time of each estimate on 512×512
against one default denoise of the same image, same run.

Part ``pg``: clean gray crops (camera, moon, coins, brick) scaled to peaks of
1, 2, 5, 10, 30 and 100 counts, z = Poisson(y) + N(0, s²) with read noise
s ∈ {0, 1, 2} counts (gain 1), seed 0. PSNR on the clean image's scale
(peak → 255) of: ``noise="poisson-gaussian"`` at the presets (``tune=False``)
with the parameters estimated, and given; the same model as the default
runs it (tuned by SURE, parameters estimated); the presets' Gaussian NLM on the
raw counts (σ estimated); and the textbook GAT, 2·sqrt(max(z + 3/8 + s², 0)),
with the algebraic inverse (NLM with the parameters of "given", inverted
algebraically). Also the estimated gain and read noise.

Run ``python benchmarks/bench_noise.py sigma`` or ``... pg`` (or both, the
default); ``... time`` runs only the timing of the sigma part.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

import nlmeans
from nlmeans.evaluate import add_noise, psnr
from nlmeans.noise._anscombe import algebraic_inverse

sys.path.insert(0, str(Path(__file__).parent))
from quality import IMAGES, load  # noqa: E402
from quality_volume import blobs, drift  # noqa: E402

SIGMAS = (2, 5, 10, 25)
PEAKS = (1, 2, 5, 10, 30, 100)
READ_NOISE = (0.0, 1.0, 2.0)
PG_IMAGES = ("camera", "moon", "coins", "brick")


def skimage_sigma(noisy, axis) -> float:
    from skimage.restoration import estimate_sigma

    return float(estimate_sigma(noisy, channel_axis=axis, average_sigmas=True))


def sigma_part() -> None:
    estimators = (
        ("patches (default)", lambda x, a: nlmeans.estimate_sigma(x, channel_axis=a)),
        ("wavelet", lambda x, a: nlmeans.estimate_sigma(x, channel_axis=a, method="wavelet")),
        ("skimage", skimage_sigma),
    )
    errors = {name: {s: [] for s in SIGMAS} for name, _ in estimators}
    print("| image | σ | " + " | ".join(f"{n} σ̂/σ−1" for n, _ in estimators) + " |")
    print("|" + " --- |" * (2 + len(estimators)))
    cases = [(name, *load(name)) for name in IMAGES]
    cases += [("blobs (volume)", blobs(), None), ("drift (stack)", drift(), None)]
    for name, clean, axis in cases:
        for sigma in SIGMAS:
            noisy = add_noise(clean, sigma, seed=sigma)
            cells = []
            for label, estimate in estimators:
                error = estimate(noisy, axis) / sigma - 1
                errors[label][sigma].append(error)
                cells.append(f"{100 * error:+.1f} %")
            print(f"| {name} | {sigma} | " + " | ".join(cells) + " |", flush=True)
    print()
    for label, _ in estimators:
        for sigma in SIGMAS:
            values = np.array(errors[label][sigma])
            worst = values[np.argmax(np.abs(values))]
            print(f"- {label}, σ = {sigma}: median {100 * np.median(values):+.1f} %, worst "
                  f"{100 * worst:+.1f} %, within ±10 %: {np.sum(np.abs(values) <= 0.1)} of "
                  f"{len(values)}, within ±30 %: {np.sum(np.abs(values) <= 0.3)}")  # fmt: skip
    timing()


def best_of(run, repeats=5) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def timing() -> None:
    from skimage import data

    rng = np.random.default_rng(0)
    image = np.clip(data.camera() + rng.normal(0, 10, (512, 512)), 0, 255).astype(np.uint8)
    nlmeans.denoise(image, tune=False)  # compile
    nlmeans.estimate_sigma(image)
    denoise = best_of(lambda: nlmeans.denoise(image, sigma=10.0, tune=False))
    patches = best_of(lambda: nlmeans.estimate_sigma(image))
    wavelet = best_of(lambda: nlmeans.estimate_sigma(image, method="wavelet"))
    print(f"\n512×512 camera, best of 5: one denoise (σ given) {denoise * 1e3:.0f} ms; patch "
          f"estimate {patches * 1e3:.0f} ms ({patches / denoise:.2f}× the denoise); wavelet "
          f"{wavelet * 1e3:.0f} ms ({wavelet / denoise:.2f}×)")  # fmt: skip


def counts(name: str, peak: float, read_noise: float, seed: int = 0):
    clean, _ = load(name)
    if clean.ndim == 3:
        clean = clean.mean(axis=-1)
    clean = clean / 255.0 * peak
    rng = np.random.default_rng(seed)
    return clean, rng.poisson(clean) + rng.normal(0.0, read_noise, clean.shape)


def textbook_gat(z, read_noise: float) -> np.ndarray:
    """The generalized Anscombe transform as published (gain 1, offset 0), clipped at 0."""
    return 2.0 * np.sqrt(np.maximum(z + 0.375 + read_noise**2, 0.0)).astype(np.float32)


def pg_part() -> None:
    header = ["image", "peak", "read noise", "PG estimated", "PG given", "PG default (tuned)",
              "Gaussian σ̂", "GAT + algebraic", "â / a", "σ̂_r"]  # fmt: skip
    print("| " + " | ".join(header) + " |")
    print("|" + " --- |" * len(header))
    margins, gains, reads = [], [], []
    for name in PG_IMAGES:
        for peak in PEAKS:
            for read_noise in READ_NOISE:
                clean, noisy = counts(name, peak, read_noise)

                def score(estimate, peak=peak, clean=clean):
                    return psnr(clean * 255.0 / peak, estimate * 255.0 / peak)

                try:
                    fitted, params = nlmeans.denoise(
                        noisy, noise="poisson-gaussian", return_params=True, tune=False
                    )
                    model = params.noise_model
                    estimated = score(fitted)
                    gain, read = model.gain, model.read_noise
                except nlmeans.NLMeansError:
                    estimated, gain, read = float("nan"), float("nan"), float("nan")
                given, params = nlmeans.denoise(
                    noisy, noise="poisson-gaussian", gain=1.0, read_noise=read_noise,
                    return_params=True, tune=False,
                )  # fmt: skip
                default = nlmeans.denoise(noisy, noise="poisson-gaussian")
                stable = textbook_gat(noisy, read_noise)
                inner = nlmeans.denoise(stable, params=nlmeans.Params(
                    params.f, params.r, params.h, 1.0, method=params.method))  # fmt: skip
                algebraic = algebraic_inverse(inner, 1.0, read_noise, 0.0)
                gaussian = nlmeans.denoise(noisy, tune=False)
                row = [estimated, score(given), score(default), score(gaussian), score(algebraic)]
                margins.append((min(row[:3]) - max(row[3:]), name, peak, read_noise))
                gains.append(gain - 1.0)
                reads.append((read - read_noise, read_noise))
                cells = [name, str(peak), f"{read_noise:g}"] + [f"{v:.2f}" for v in row]
                cells += [f"{gain:.3f}", f"{read:.2f}"]
                print("| " + " | ".join(cells) + " |", flush=True)
    print()
    worst = min(margins)
    below = [m for m in margins if not m[0] > 0]
    print(f"- PG (estimated, given, default) − best baseline: min {worst[0]:+.2f} dB "
          f"({worst[1]} peak {worst[2]} read noise {worst[3]:g}); not above on {len(below)} of "
          f"{len(margins)} rows")  # fmt: skip
    gains = np.array(gains)
    print(
        f"- gain: |â/a − 1| ≤ 10 % on {np.sum(np.abs(gains) <= 0.1)} of {len(gains)} rows, "
        f"median {100 * np.nanmedian(gains):+.1f} %, "
        f"worst {100 * np.nanmax(np.abs(gains)):.0f} %"
    )
    errors = np.array([e / s for e, s in reads if s > 0])
    print(
        f"- read noise (s > 0): |σ̂_r/σ_r − 1| ≤ 10 % on {np.sum(np.abs(errors) <= 0.1)} of "
        f"{len(errors)} rows, median {100 * np.nanmedian(errors):+.1f} %"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "parts", nargs="*", default=["sigma", "pg"], choices=["sigma", "time", "pg"]
    )
    args = parser.parse_args()
    started = time.perf_counter()
    if "sigma" in args.parts:
        sigma_part()
    elif "time" in args.parts:
        timing()
    if "pg" in args.parts:
        print()
        pg_part()
    print(f"\n{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
