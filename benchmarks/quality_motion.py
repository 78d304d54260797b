"""Motion-compensated search on time stacks: quality against the static window and OpenCV.

Synthetic 8-bit sequences of 7 frames of 160 × 160 (gray):

- *pan*: a crop of ``skimage.data.camera()`` sliding v px/frame (v right and v/2 down);
- *local*: the still camera crop with a 48 × 48 crop of ``skimage.data.astronaut()``
  (gray) moving across it v px/frame;
- *static*: the still camera crop.

White Gaussian noise of σ from ``numpy.random.default_rng(seed)``, rounded and
clipped to uint8. Every method uses OpenCV's window: 5 frames, 7 × 7 patches,
21 × 21 search (nlmeans: f = (0, 3, 3), r = (2, 10, 10), σ given); each at
its best h over a grid (h / σ in ``NLM_RATIOS``, OpenCV's in ``CV_RATIOS``,
chosen with the clean frames). PSNR (data_range = 255) over the middle three
frames, the ones OpenCV's ``fastNlMeansDenoisingMulti`` can centre a 5-frame
window on. Rows: nlmeans without and with ``motion=True``, OpenCV.

``--timing``: on a static 9 × 256 × 256 sequence, σ = 20, h = 0.6σ, the
median of interleaved runs of ``nlmeans.denoise`` with and without
``motion=True`` (CPU backend), and the PSNR of both.

``--true-vectors``: the pan sequences denoised with ``motion=True`` twice, with
the block vectors found by block matching and with the pan's true displacement
in every block (the most that displacing the window can give here).

Run: ``python benchmarks/quality_motion.py [--timing | --true-vectors]``.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from skimage import color, data

import nlmeans

try:
    import cv2
except ImportError:  # the optional "bench" extra
    cv2 = None

NLM_RATIOS = (0.4, 0.6, 0.8, 1.0)
CV_RATIOS = (0.4, 0.6, 0.8, 1.0, 1.3)
SIZE = 160
FRAMES = 7
MIDDLE = slice(2, 5)
F, R = (0, 3, 3), (2, 10, 10)


def sequence(kind: str, speed: int) -> np.ndarray:
    """float64 (FRAMES, SIZE, SIZE) clean frames in [0, 255]."""
    camera = data.camera().astype(np.float64)
    if kind == "pan":
        return np.stack(
            [camera[60 + speed * t // 2 : 60 + speed * t // 2 + SIZE,
                    80 + speed * t : 80 + speed * t + SIZE] for t in range(FRAMES)]
        )  # fmt: skip
    still = camera[60 : 60 + SIZE, 80 : 80 + SIZE]
    if kind == "static":
        return np.stack([still] * FRAMES)
    sprite = 255 * color.rgb2gray(data.astronaut())[100:148, 180:228]
    frames = []
    for t in range(FRAMES):
        frame = still.copy()
        y, x = 40 + speed * t // 2, 20 + speed * t
        frame[y : y + 48, x : x + 48] = sprite
        frames.append(frame)
    return np.stack(frames)


def psnr(clean: np.ndarray, estimate: np.ndarray) -> float:
    error = np.mean((clean[MIDDLE] - estimate[MIDDLE].astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0**2 / error))


def best_nlmeans(clean, noisy, sigma, motion):
    return max(
        psnr(clean, nlmeans.denoise(noisy, k * sigma, sigma, f=F, r=R, motion=motion))
        for k in NLM_RATIOS
    )


def best_opencv(clean, noisy, sigma):
    best = -np.inf
    for k in CV_RATIOS:
        frames = list(noisy)
        out = np.stack(
            [
                cv2.fastNlMeansDenoisingMulti(frames, i, 5, None, k * sigma, 7, 21)
                if MIDDLE.start <= i < MIDDLE.stop
                else noisy[i]
                for i in range(FRAMES)
            ]
        )
        best = max(best, psnr(clean, out))
    return best


def quality() -> None:
    print("best h for each; PSNR dB over the middle 3 of 7 frames, 160x160")
    header = f"{'sequence':<16}{'sigma':>6}{'noisy':>8}{'static':>8}{'motion':>8}{'gain':>7}"
    print(header + (f"{'OpenCV':>8}" if cv2 is not None else ""))
    for kind, speeds in (("pan", (3, 8)), ("local", (3, 8)), ("static", (0,))):
        for speed in speeds:
            clean = sequence(kind, speed)
            for sigma in (10.0, 30.0):
                rng = np.random.default_rng(int(sigma) + speed)
                noisy = np.clip(np.rint(clean + rng.normal(0, sigma, clean.shape)), 0, 255)
                noisy = noisy.astype(np.uint8)
                still = best_nlmeans(clean, noisy, sigma, False)
                moved = best_nlmeans(clean, noisy, sigma, True)
                name = f"{kind} {speed} px/frame" if speed else kind
                line = (
                    f"{name:<16}{sigma:>6.0f}{psnr(clean, noisy):>8.2f}{still:>8.2f}"
                    f"{moved:>8.2f}{moved - still:>+7.2f}"
                )
                if cv2 is not None:
                    line += f"{best_opencv(clean, noisy, sigma):>8.2f}"
                print(line, flush=True)


def pan_vectors(speed: int, moves: np.ndarray) -> np.ndarray:
    """``moves`` with every block's vector set to the pan's true displacement."""
    rt = (moves.shape[1] - 1) // 2

    def offset(t):  # the crop's corner in frame t (frames beyond the ends mirrored)
        t = abs(t) if t < FRAMES else 2 * (FRAMES - 1) - t
        return np.array([speed * t // 2, speed * t])

    true = moves.copy()
    for t in range(moves.shape[0]):
        for k in range(-rt, rt + 1):
            true[t, rt + k] = offset(t) - offset(t + k)
    return true


def true_vectors() -> None:
    """Pan sequences: the estimated block vectors against the pan's true ones."""
    from nlmeans.backends import _motion

    estimated = _motion.displacements
    print("pan, best h for each; PSNR dB over the middle 3 of 7 frames, 160x160")
    print(f"{'sequence':<16}{'sigma':>6}{'static':>8}{'motion':>8}{'true v':>8}")
    for speed in (3, 8):
        clean = sequence("pan", speed)
        for sigma in (10.0, 30.0):
            rng = np.random.default_rng(int(sigma) + speed)  # the noise of quality()
            noisy = np.clip(np.rint(clean + rng.normal(0, sigma, clean.shape)), 0, 255)
            noisy = noisy.astype(np.uint8)
            still = best_nlmeans(clean, noisy, sigma, False)
            moved = best_nlmeans(clean, noisy, sigma, True)
            _motion.displacements = lambda *a, s=speed: pan_vectors(s, estimated(*a))
            try:
                true = best_nlmeans(clean, noisy, sigma, True)
            finally:
                _motion.displacements = estimated
            name = f"pan {speed} px/frame"
            print(f"{name:<16}{sigma:>6.0f}{still:>8.2f}{moved:>8.2f}{true:>8.2f}", flush=True)


def timing(rounds: int) -> None:
    camera = data.camera().astype(np.float64)[100:356, 100:356]
    clean = np.stack([camera] * 9)
    rng = np.random.default_rng(20)
    noisy = np.clip(np.rint(clean + rng.normal(0, 20, clean.shape)), 0, 255).astype(np.uint8)
    runs = {
        "static window": lambda: nlmeans.denoise(noisy, 12.0, 20.0, f=F, r=R, backend="cpu"),
        "motion=True": lambda: nlmeans.denoise(
            noisy, 12.0, 20.0, f=F, r=R, backend="cpu", motion=True
        ),
    }
    results = {name: run() for name, run in runs.items()}  # warm-up
    times = {name: [] for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    print("static 9x256x256, sigma 20, h 12, f=(0,3,3) r=(2,10,10), CPU")
    base = statistics.median(times["static window"])
    for name in runs:
        seconds = statistics.median(times[name])
        error = np.mean((clean - results[name].astype(np.float64)) ** 2)
        print(
            f"{name:<14}{seconds:>8.2f} s{seconds / base:>7.2f}x"
            f"{10 * np.log10(255**2 / error):>8.2f} dB"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timing", action="store_true", help="static: time with and without")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--true-vectors", action="store_true", help="pan: estimated against true vectors"
    )
    args = parser.parse_args()
    if args.timing:
        timing(args.rounds)
    elif args.true_vectors:
        true_vectors()
    else:
        quality()


if __name__ == "__main__":
    main()
