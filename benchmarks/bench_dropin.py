"""nlmeans.denoise_nl_means against skimage.restoration.denoise_nl_means: time and PSNR.

Same arguments for both, warm (one untimed call each first), same process,
interleaved (skimage, nlmeans, skimage, …), medians over ``--repeat`` runs and
the ratio nlmeans / scikit-image. Cases:

- 2-D 512×512 gray (camera + noise), patch_size 7, patch_distance 11;
- 3-D 64×128×128 (a smooth volume + noise), patch_size 5, patch_distance 5;

each with fast_mode=True on the full size, and fast_mode=False on a crop
(``--slow-crop``; scikit-image's slow mode costs Π(2d+1) · s^D per pixel) where
both are timed on the same crop. Then PSNR at equal parameters in each mode on
camera, astronaut and coins with noise σ = 20 (8-bit scale), parameters
patch_size 5, patch_distance 6, h = 0.8σ (fast) or 0.6σ (slow), sigma = σ.

Usage (from the repository root; PYTHONPATH=. runs this checkout's nlmeans)::

    PYTHONPATH=. python benchmarks/bench_dropin.py [--repeat 5] [--backend auto] [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

SIGMA_8BIT = 20.0


def noisy(clean: np.ndarray, seed: int = 0) -> np.ndarray:
    """clean (float in [0, 1]) plus white Gaussian noise of 20/255."""
    rng = np.random.default_rng(seed)
    return clean + rng.normal(0.0, SIGMA_8BIT / 255, clean.shape)


def volume(shape) -> np.ndarray:
    """A smooth synthetic volume in [0.2, 0.8] (blobs), float64."""
    grids = np.meshgrid(*[np.linspace(0, 1, n) for n in shape], indexing="ij")
    field = np.sin(6 * grids[0]) * np.cos(9 * grids[1]) + np.sin(7 * grids[2] + 3 * grids[0])
    return 0.5 + 0.15 * field


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def race(label: str, image, repeat: int, backend: str, **kwargs) -> dict:
    """Warm both, then ``repeat`` interleaved runs; medians, spread and ratio."""
    from skimage.restoration import denoise_nl_means as theirs

    from nlmeans import denoise_nl_means as ours

    theirs(image, **kwargs)
    ours(image, backend=backend, **kwargs)
    times = {"skimage": [], "nlmeans": []}
    for _ in range(repeat):
        times["skimage"].append(timed(lambda: theirs(image, **kwargs)))
        times["nlmeans"].append(timed(lambda: ours(image, backend=backend, **kwargs)))
    sk, nl = (statistics.median(times[k]) for k in ("skimage", "nlmeans"))
    ratio = nl / sk
    spread = {k: (min(v), max(v)) for k, v in times.items()}
    print(
        f"{label:44s} skimage {sk:8.3f}s [{spread['skimage'][0]:.3f}-{spread['skimage'][1]:.3f}]"
        f"  nlmeans {nl:7.4f}s [{spread['nlmeans'][0]:.4f}-{spread['nlmeans'][1]:.4f}]"
        f"  ratio {ratio:.4f} ({sk / nl:.0f}x)",
        flush=True,
    )
    return {"label": label, "skimage": sk, "nlmeans": nl, "ratio": ratio, "spread": spread}


def psnr(clean, image) -> float:
    return float(10 * np.log10(1.0 / np.mean((clean - image) ** 2)))


def quality(backend: str, quick: bool) -> None:
    from skimage import data, img_as_float
    from skimage.restoration import denoise_nl_means as theirs

    from nlmeans import denoise_nl_means as ours

    sigma = SIGMA_8BIT / 255
    images = {"camera": (data.camera(), None), "astronaut": (data.astronaut(), -1),
              "coins": (data.coins(), None)}  # fmt: skip
    print("\nPSNR (dB) at equal parameters: patch_size 5, patch_distance 6, sigma = 20/255")
    for name, (pixels, axis) in images.items():
        clean = img_as_float(pixels)
        if quick:
            clean = clean[:128, :128]
        image = noisy(clean, seed=1)
        row = f"  {name:10s} noisy {psnr(clean, image):6.2f}"
        for fast_mode, ratio in ((True, 0.8), (False, 0.6)):
            kwargs = dict(patch_size=5, patch_distance=6, h=ratio * sigma, sigma=sigma,
                          fast_mode=fast_mode, channel_axis=axis)  # fmt: skip
            a = psnr(clean, theirs(image, **kwargs))
            b = psnr(clean, ours(image, backend=backend, **kwargs))
            mode = "fast" if fast_mode else "slow"
            row += f" | {mode} h={ratio}σ skimage {a:6.2f} nlmeans {b:6.2f} ({b - a:+.2f})"
        print(row, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--backend", default="auto")
    parser.add_argument("--slow-crop", type=int, default=128, help="2-D slow-mode crop side")
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    parser.add_argument("--skip-quality", action="store_true")
    args = parser.parse_args()

    from skimage import data, img_as_float

    camera = noisy(img_as_float(data.camera()))
    vol = noisy(volume((16, 32, 32) if args.quick else (64, 128, 128)))
    if args.quick:
        camera = camera[:128, :128]
    crop = args.slow_crop if not args.quick else 48
    print(f"backend={args.backend} repeat={args.repeat} (medians [min-max])")
    race(
        f"2-D {camera.shape} p7 d11 fast",
        camera, args.repeat, args.backend, patch_size=7, patch_distance=11, h=0.08, sigma=0.08,
    )  # fmt: skip
    race(
        f"3-D {vol.shape} p5 d5 fast",
        vol, max(1, args.repeat // 2), args.backend, patch_size=5, patch_distance=5, h=0.08,
        sigma=0.08,
    )  # fmt: skip
    race(
        f"2-D crop {camera[:crop, :crop].shape} p7 d11 slow",
        camera[:crop, :crop], max(1, args.repeat // 2), args.backend, patch_size=7,
        patch_distance=11, h=0.06, sigma=0.08, fast_mode=False,
    )  # fmt: skip
    side = 24 if not args.quick else 12
    race(
        f"3-D crop {vol[:side // 2, :side, :side].shape} p5 d5 slow",
        vol[: side // 2, :side, :side], max(1, args.repeat // 2), args.backend, patch_size=5,
        patch_distance=5, h=0.06, sigma=0.08, fast_mode=False,
    )  # fmt: skip
    # nlmeans' slow mode costs the same on the full sizes (for the record; skimage not run).
    from nlmeans import denoise_nl_means as ours

    for label, image, kwargs in (
        (f"2-D {camera.shape} p7 d11 slow", camera, dict(patch_size=7, patch_distance=11)),
        (f"3-D {vol.shape} p5 d5 slow", vol, dict(patch_size=5, patch_distance=5)),
    ):
        ours(image, fast_mode=False, h=0.06, sigma=0.08, backend=args.backend, **kwargs)
        runs = [
            timed(lambda i=image, k=kwargs: ours(
                i, fast_mode=False, h=0.06, sigma=0.08, backend=args.backend, **k))
            for _ in range(max(1, args.repeat // 2))
        ]  # fmt: skip
        print(f"{label:44s} nlmeans only {statistics.median(runs):.4f}s "
              f"[{min(runs):.4f}-{max(runs):.4f}]")  # fmt: skip
    if not args.skip_quality:
        quality(args.backend, args.quick)


if __name__ == "__main__":
    main()
