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

Compared, each peer at its own radii (dipy's patch_radius is nlmeans' f,
its block_radius the search radius r), h from nlmeans' presets for σ:

- dipy 1.12 ``nlmeans(noisy, sigma, rician=True)``, its default blockwise
  method (patch radius 1, block radius 2), against nlmeans f = 1, r = 2 (its
  radii), f = 1, r = 1 (a smaller search window), and nlmeans with its presets;
- dipy ``method="classic"`` (patch radius 1, block radius 5) against nlmeans
  f = 1, r = 5.

Usage: python benchmarks/bench_rician.py [--repeats 3] [--levels 2 5 10] [--peers blockwise classic]
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


#: peer -> (dipy keywords, the nlmeans runs at the same radii and the presets).
PEERS = {
    "blockwise": ({}, {"f=1 r=2": dict(f=1, r=2), "f=1 r=1": dict(f=1, r=1), "presets": {}}),
    "classic": ({"method": "classic"}, {"f=1 r=5": dict(f=1, r=5)}),
}


def main() -> None:
    from dipy.denoise.nlmeans import nlmeans as dipy_nlmeans

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--levels", type=float, nargs="+", default=[2, 5, 10])
    parser.add_argument("--peers", nargs="+", default=list(PEERS), choices=list(PEERS))
    args = parser.parse_args()
    volumes = (("phantom 40x96x96", phantom()), ("MRI S0_10slices", mri()))
    nlmeans.denoise(volumes[0][1][:6, :12, :12] + 1, sigma=1.0, noise="rician", f=1, r=5)  # warm
    for peer in args.peers:
        keywords, ours = PEERS[peer]
        repeats = 1 if peer == "classic" else args.repeats
        names = " | ".join(f"nlmeans {n}" for n in ours)
        ratios = " | ".join(f"time {n} / dipy" for n in ours)
        print(f"\n### dipy {peer}: PSNR (dB) and time (s)\n")
        print(f"| volume | sigma (% max) | noisy | dipy {peer} | {names} | {ratios} |")
        print("| --- " * (4 + 2 * len(ours)) + "|")
        for name, clean in volumes:
            rng = np.random.default_rng(0)
            for level in args.levels:
                sigma = level / 100 * clean.max()
                noise = rng.normal(0, sigma, (2, *clean.shape))
                noisy = np.hypot(clean + noise[0], noise[1])
                theirs, t_theirs = timed(
                    repeats, dipy_nlmeans, noisy, sigma, rician=True, **keywords
                )
                cells, times = [], []
                for options in ours.values():
                    mine, t_mine = timed(
                        args.repeats, nlmeans.denoise, noisy, sigma=sigma, noise="rician", **options
                    )
                    cells.append(f"{psnr(clean, mine):.2f} ({t_mine:.2f})")
                    times.append(f"{t_mine / t_theirs:.3f}")
                print(
                    f"| {name} | {level:g} | {psnr(clean, noisy):.2f} "
                    f"| {psnr(clean, theirs):.2f} ({t_theirs:.2f}) | {' | '.join(cells)} "
                    f"| {' | '.join(times)} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
