"""CPU speed of nlmeans against OpenCV and scikit-image, in one process.

    python benchmarks/bench_cpu.py            # the full table (about two minutes)
    python benchmarks/bench_cpu.py --quick    # 3 runs, no 2048² case: a smoke test
    python benchmarks/bench_cpu.py --memory   # peak memory, 4000×3000 RGB uint8
    python benchmarks/bench_cpu.py --startup  # wall time of `nlmeans --help` and `denoise`
    python benchmarks/bench_cpu.py --bayes    # NL-Bayes against the bm3d package, 512²

Every peer denoises the same noisy uint8 image with the same weights
w = exp(−d²/h²) (the formula with σ = 0, which is OpenCV's formula):

- nlmeans: ``nlmeans.denoise(noisy, h, sigma=0, f=f, r=r, backend="cpu")``, uint8
  in and out, so padding and conversions are timed too;
- OpenCV: ``cv2.fastNlMeansDenoising(noisy, None, h, 2f+1, 2r+1)`` (uint8,
  integer arithmetic; a 3-channel image is denoised with the joint distance);
- scikit-image: ``denoise_nl_means(noisy / 255, patch_size=2f+1,
  patch_distance=r, h=h/255, sigma=0, fast_mode=True)``.

Noise: Gaussian, σ = 20 (8-bit units), ``default_rng(0)``, rounded and clipped
to uint8; h = 20. Each case warms every peer up once, then runs the peers
interleaved (one run of each in turn) and reports the median of the runs,
the ratio to nlmeans' median and the PSNR of each result against the clean
image. OpenCV comes from the optional ``bench`` extra
(``pip install ".[bench]"``); without it its rows are left out, with a note.
The machine's CPU and the threads used are printed with the table.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numba
import numpy as np
from skimage import data
from skimage.metrics import peak_signal_noise_ratio
from skimage.restoration import denoise_nl_means

import nlmeans
from nlmeans.backends import cpu

try:
    import cv2
except ImportError:  # the optional "bench" extra
    cv2 = None

NOISE_SIGMA = 20.0
H = 20.0
SEED = 0


def noisy_pair(name: str, size: int):
    """(clean uint8, noisy uint8, channel_axis) for skimage's ``name`` at size × size."""
    clean = getattr(data, name)()
    if size != clean.shape[0]:
        reps = size // clean.shape[0]
        clean = np.tile(clean, (reps, reps) + (1,) * (clean.ndim - 2))
    noise = np.random.default_rng(SEED).normal(0.0, NOISE_SIGMA, clean.shape)
    noisy = np.clip(np.rint(clean + noise), 0, 255).astype(np.uint8)
    return clean, noisy, (None if clean.ndim == 2 else -1)


def peers(noisy, channel_axis, f, r, threads, with_skimage):
    """name -> (threads label, callable returning a uint8-scale result)."""
    n_threads = numba.config.NUMBA_NUM_THREADS if threads is None else threads

    def run_nlmeans():
        cpu.set_threads(n_threads)
        return nlmeans.denoise(
            noisy, h=H, sigma=0.0, f=f, r=r, channel_axis=channel_axis, backend="cpu"
        )

    table = {"nlmeans": (n_threads, run_nlmeans)}
    if cv2 is not None:

        def run_opencv():
            cv2.setNumThreads(n_threads)
            return cv2.fastNlMeansDenoising(noisy, None, H, 2 * f + 1, 2 * r + 1)

        table["OpenCV"] = (n_threads, run_opencv)
    if with_skimage:
        scaled = noisy / 255.0

        def run_skimage():
            out = denoise_nl_means(
                scaled,
                patch_size=2 * f + 1,
                patch_distance=r,
                h=H / 255.0,
                sigma=0.0,
                fast_mode=True,
                channel_axis=channel_axis,
            )
            return out * 255.0

        table["scikit-image"] = (1, run_skimage)
    return table


def time_case(clean, noisy, channel_axis, f, r, runs, threads=None, with_skimage=True):
    """Warm up, then ``runs`` interleaved rounds: name -> (threads, median s, PSNR dB)."""
    table = peers(noisy, channel_axis, f, r, threads, with_skimage)
    results = {name: run() for name, (_, run) in table.items()}  # warm-up (and compile)
    times = {name: [] for name in table}
    for _ in range(runs):
        for name, (_, run) in table.items():
            start = time.perf_counter()
            results[name] = run()
            times[name].append(time.perf_counter() - start)
    return {
        name: (
            n_threads,
            statistics.median(times[name]),
            peak_signal_noise_ratio(clean.astype(np.float64), results[name], data_range=255),
        )
        for name, (n_threads, _) in table.items()
    }


def cpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    return platform.processor() or "unknown CPU"


#: Run in a fresh interpreter by --memory: the peak resident memory (VmHWM,
#: reset through /proc/self/clear_refs once the input exists) of one
#: denoise call on a 4000×3000 RGB uint8 image, against the issue's budget.
MEMORY_PROBE = """
import sys, numpy as np, nlmeans

def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) * 1024

image = np.random.default_rng(0).integers(0, 256, (3000, 4000, 3), dtype=np.uint8)
explicit = dict(h=10.0, sigma=5.0, f=1, r=10) if sys.argv[1] == "given" else {}
nlmeans.denoise(image[:64, :64], channel_axis=-1, **explicit)  # compile / load kernels
base = status("VmRSS:")
open("/proc/self/clear_refs", "w").write("5")
nlmeans.denoise(image, channel_axis=-1, **explicit)
extra = status("VmHWM:") - base
budget = 2 * image.nbytes + 2 * image.size * 4 + 64 * 2**20 - image.nbytes
print(f"{sys.argv[1]:>9} parameters: peak - baseline = {extra / 1e6:.0f} MB "
      f"(budget: output + input and output in float32 + 64 MiB = {budget / 1e6:.0f} MB)")
"""


def memory() -> None:
    """Peak memory of denoising a 4000×3000 RGB uint8 image (Linux /proc)."""
    for mode in ("given", "estimated"):
        subprocess.run([sys.executable, "-c", MEMORY_PROBE, mode], check=True)


def startup(runs: int) -> None:
    """Median wall time of `nlmeans --help` and of denoising the bundled sample."""
    root = Path(__file__).resolve().parent.parent
    sample = root / "samples" / "astronaut_noisy.png"
    with tempfile.TemporaryDirectory() as folder:
        output = Path(folder) / "out.png"
        commands = {
            "nlmeans --help": ["--help"],
            f"nlmeans denoise {sample.relative_to(root)}": [
                "denoise",
                str(sample),
                "-o",
                str(output),
                "--overwrite",
                "--quiet",
            ],
        }
        base = [sys.executable, "-m", "nlmeans"]
        subprocess.run(base + commands[next(reversed(commands))], check=True)  # warm the cache
        for label, arguments in commands.items():
            times = []
            for _ in range(runs):
                start = time.perf_counter()
                subprocess.run(base + arguments, check=True, capture_output=True)
                times.append(time.perf_counter() - start)
            print(f"{label}: median {statistics.median(times):.2f} s wall of {runs} runs")


def bayes_rows(runs: int, images: str = "camera,astronaut") -> None:
    """NL-Bayes (``method="bayes"``, σ given, its presets) against the ``bm3d`` package
    (``bm3d``; colour ``bm3d_rgb``), σ = 20, 512² camera and astronaut, interleaved."""
    import bm3d

    threads = numba.config.NUMBA_NUM_THREADS
    print(f"NL-Bayes against bm3d, σ={NOISE_SIGMA:g} given, {threads} Numba threads, "
          f"median of {runs} interleaved runs")  # fmt: skip
    print("| image | peer | seconds | × nlmeans | PSNR dB |")
    print("| --- | --- | ---: | ---: | ---: |")
    for name in images.split(","):
        clean, noisy, axis = noisy_pair(name, 512)
        unit = noisy / 255.0

        def run_bayes(noisy=noisy, axis=axis):
            return nlmeans.denoise(noisy, sigma=NOISE_SIGMA, method="bayes", channel_axis=axis)

        def run_bm3d(unit=unit, axis=axis):
            denoiser = bm3d.bm3d if axis is None else bm3d.bm3d_rgb
            return np.asarray(denoiser(unit, sigma_psd=NOISE_SIGMA / 255.0)) * 255.0

        table = {"nlmeans bayes": run_bayes, "bm3d": run_bm3d}
        results = {label: run() for label, run in table.items()}  # warm-up (and compile)
        times = {label: [] for label in table}
        for _ in range(runs):
            for label, run in table.items():
                start = time.perf_counter()
                results[label] = run()
                times[label].append(time.perf_counter() - start)
        base = statistics.median(times["nlmeans bayes"])
        for label in table:
            seconds = statistics.median(times[label])
            quality = peak_signal_noise_ratio(clean.astype(np.float64), results[label],
                                              data_range=255)  # fmt: skip
            print(f"| {name} 512² | {label} | {seconds:.2f} | {seconds / base:.2f} | "
                  f"{quality:.2f} |", flush=True)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=7, help="timed rounds per case (median)")
    parser.add_argument("--quick", action="store_true", help="3 runs, no 2048² case")
    parser.add_argument("--memory", action="store_true", help="peak memory, 4000×3000 RGB")
    parser.add_argument("--startup", action="store_true", help="command-line start-up times")
    parser.add_argument("--bayes", action="store_true", help="NL-Bayes against bm3d, 512²")
    parser.add_argument("--bayes-images", default="camera,astronaut", help="with --bayes")
    args = parser.parse_args()
    if args.bayes:
        bayes_rows(args.runs, args.bayes_images)
        return
    if args.memory or args.startup:
        if args.memory:
            memory()
        if args.startup:
            startup(args.runs)
        return
    runs = 3 if args.quick else args.runs
    all_threads = numba.config.NUMBA_NUM_THREADS

    print(
        f"CPU: {cpu_model()}, {all_threads} threads; Python {platform.python_version()}, "
        f"numba {numba.__version__}, OpenCV {cv2.__version__ if cv2 else '-'}, "
        f"noise σ={NOISE_SIGMA:g}, h={H:g}, sigma=0, median of {runs} interleaved runs"
    )
    if cv2 is None:
        print('note: OpenCV is not installed (pip install ".[bench]"); its rows are left out')
    print()
    print("| case | peer | threads | seconds | × nlmeans | PSNR dB |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    summary = {}

    def report(label, rows):
        base = rows["nlmeans"][1]
        for name, (n_threads, seconds, psnr) in rows.items():
            print(
                f"| {label} | {name} | {n_threads} | {seconds:.4f} | "
                f"{seconds / base:.2f} | {psnr:.2f} |",
                flush=True,
            )
        summary[label] = rows

    images = {name: noisy_pair(name, 512) for name in ("camera", "astronaut")}
    for name, (clean, noisy, axis) in images.items():
        kind = "gray" if axis is None else "RGB"
        for r in (5, 10):
            label = f"{name} 512² {kind} f=3 r={r}"
            report(label, time_case(clean, noisy, axis, 3, r, runs))

    clean, noisy, axis = images["camera"]
    for name, (clean_f, noisy_f, axis_f) in images.items():
        kind = "gray" if axis_f is None else "RGB"
        for f in (1, 5):
            label = f"{name} 512² {kind} f={f} r=10"
            report(label, time_case(clean_f, noisy_f, axis_f, f, 10, runs, with_skimage=False))
    for n_threads in (1, all_threads) if all_threads > 1 else (1,):
        label = f"camera 512² gray f=3 r=10, {n_threads} thread(s)"
        rows = time_case(clean, noisy, axis, 3, 10, runs, n_threads, with_skimage=False)
        report(label, rows)
    if not args.quick:
        big_clean, big_noisy, _ = noisy_pair("camera", 2048)
        label = "camera 2048² gray (tiled) f=3 r=10"
        report(label, time_case(big_clean, big_noisy, None, 3, 10, runs, with_skimage=False))

    print("\nTargets, from the medians above:")
    for name in images:
        kind = "gray" if images[name][2] is None else "RGB"
        for r in (5, 10):
            rows = summary[f"{name} 512² {kind} f=3 r={r}"]
            ours = rows["nlmeans"][1]
            parts = [f"{name} r={r}:"]
            if "OpenCV" in rows:
                parts.append(f"nlmeans/OpenCV = {ours / rows['OpenCV'][1]:.2f} (≤ 1.0)")
            parts.append(f"nlmeans/scikit-image = {ours / rows['scikit-image'][1]:.3f} (≤ 0.2)")
            print("  " + " ".join(parts))
    for name, (_, _, axis_f) in images.items():
        kind = "gray" if axis_f is None else "RGB"
        f1 = summary[f"{name} 512² {kind} f=1 r=10"]["nlmeans"][1]
        f5 = summary[f"{name} 512² {kind} f=5 r=10"]["nlmeans"][1]
        print(f"  {name}: f=5 / f=1 at r=10 = {f5 / f1:.2f} (within 20%: 0.83 … 1.20)")
    if all_threads > 1:
        one = summary["camera 512² gray f=3 r=10, 1 thread(s)"]["nlmeans"][1]
        both = summary[f"camera 512² gray f=3 r=10, {all_threads} thread(s)"]["nlmeans"][1]
        print(f"  1 thread / {all_threads} threads = {one / both:.2f}")
    if not args.quick:
        small = summary[f"camera 512² gray f=3 r=10, {all_threads} thread(s)"]["nlmeans"][1]
        big = summary["camera 2048² gray (tiled) f=3 r=10"]["nlmeans"][1]
        print(f"  2048² / 512² = {big / small:.1f} (16 ± 15%: 13.6 … 18.4)")


if __name__ == "__main__":
    main()
