"""GPU benchmark: the CUDA backend against the CPU backend on the same machine.

Cases: 512×512 gray, 2048×2048 gray, 3840×2160 RGB, f=3, r=10, on
noisy versions of skimage's camera (gray) and astronaut (RGB), tiled to size,
with Gaussian noise σ=20 (8-bit units, numpy.random.default_rng(SEED)).

For each case, after a warm-up run of both backends, the runs are interleaved
(GPU, CPU, GPU, CPU, …) and the median is reported:

- kernel: device time of the CUDA kernels (CUDA events around the launches),
  as the backend runs them (image staged in shared memory when it fits),
- global: the same with the image read from global memory instead,
- gpu e2e: ``nlmeans.denoise(..., backend="cuda")`` wall time, including the
  float conversion, padding, upload and download,
- cpu e2e: the same call with ``backend="cpu"``,
- MP/s: megapixels per second of each, and cpu/gpu: the end-to-end ratio,
- max|gpu-cpu|: the largest difference of the two results (8-bit units).

Usage::

    python benchmarks/bench_cuda.py                 # the three cases, on a GPU
    python benchmarks/bench_cuda.py --scale 0.5     # smaller images
    NUMBA_ENABLE_CUDASIM=1 python benchmarks/bench_cuda.py --quick
        # checks the script's logic in Numba's CUDA simulator (timings meaningless)
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings

import numpy as np
from skimage import data

import nlmeans
from nlmeans.backends import REGISTRY
from nlmeans.backends.cuda import _launcher as nlm_cuda

SEED = 4
SIGMA = 20.0
#: (name, height, width, color)
CASES = [
    ("512x512 gray", 512, 512, False),
    ("2048x2048 gray", 2048, 2048, False),
    ("3840x2160 RGB", 2160, 3840, True),
]


def noisy_image(height: int, width: int, color: bool) -> np.ndarray:
    """camera or astronaut tiled to (height, width), plus N(0, SIGMA²) noise, float32."""
    clean = data.astronaut() if color else data.camera()
    reps = (-(-height // clean.shape[0]), -(-width // clean.shape[1])) + (1,) * (clean.ndim - 2)
    tiled = np.tile(clean, reps)[:height, :width].astype(np.float32)
    noise = np.random.default_rng(SEED).normal(0.0, SIGMA, tiled.shape).astype(np.float32)
    return tiled + noise


def padded_stack(image: np.ndarray, params, color: bool) -> np.ndarray:
    """The front door's float32 reflect-padded (C, H+2(r+f), W+2(r+f)) stack."""
    planes = np.moveaxis(image, -1, 0) if color else image[np.newaxis]
    pad = params.r + params.f
    return np.pad(planes.astype(np.float32), ((0, 0), (pad, pad), (pad, pad)), mode="reflect")


def timed(function) -> tuple[float, np.ndarray]:
    """(wall seconds, result) of ``function()``."""
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="image side scale (default 1)")
    parser.add_argument("--f", type=int, default=3, help="patch radius (default 3)")
    parser.add_argument("--r", type=int, default=10, help="search radius (default 10)")
    parser.add_argument("--repeat", type=int, default=5, help="GPU runs per case (default 5)")
    parser.add_argument(
        "--cpu-repeat", type=int, default=1, help="CPU runs per case (default 1; 0 skips the CPU)"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="tiny images, f=1, r=2, one run: checks the script, e.g. in the simulator",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.scale, args.f, args.r, args.repeat, args.cpu_repeat = 1 / 128, 1, 2, 1, 1

    reason = nlm_cuda.availability()
    if reason is not None:
        print(f"error: the CUDA backend is not available: {reason}", file=sys.stderr)
        return 2
    from numba import cuda

    simulated = bool(os.environ.get("NUMBA_ENABLE_CUDASIM"))
    if simulated:
        warnings.filterwarnings("ignore", "Simulator timings are bogus")
    # The simulator's device has no name.
    name = getattr(cuda.current_context().device, "name", "Numba CUDA simulator")
    device = name.decode() if isinstance(name, bytes) else str(name)
    print(f"device: {device}{' (simulator: timings are meaningless)' if simulated else ''}")
    print(f"nlmeans {nlmeans.__version__}, f={args.f}, r={args.r}, sigma={SIGMA}, seed={SEED}")
    print(f"command: python benchmarks/{os.path.basename(__file__)} {' '.join(sys.argv[1:])}")
    header = (
        f"{'case':>22} {'kernel ms':>10} {'global ms':>10} {'gpu e2e ms':>11} {'gpu MP/s':>9} "
        f"{'kernel MP/s':>11} {'cpu e2e ms':>11} {'cpu MP/s':>9} {'cpu/gpu':>8} "
        f"{'max|gpu-cpu|':>12}"
    )
    print(header)
    REGISTRY["cuda"].warm_up("pixel")
    for label, height, width, color in CASES:
        height = max(1, round(height * args.scale))
        width = max(1, round(width * args.scale))
        image = noisy_image(height, width, color)
        options = dict(
            h=(0.55 if color else 0.4) * SIGMA,
            sigma=SIGMA,
            f=args.f,
            r=args.r,
            channel_axis=-1 if color else None,
        )
        params = nlmeans.resolve_params(image, **options)
        padded = padded_stack(image, params, color)
        megapixels = height * width / 1e6

        def gpu_e2e(image=image, options=options):
            return timed(lambda: nlmeans.denoise(image, backend="cuda", **options))

        def cpu_e2e(image=image, options=options):
            return timed(lambda: nlmeans.denoise(image, backend="cpu", **options))

        def kernel(padded=padded, params=params, stage=None):
            timings = {}
            nlm_cuda.pixelwise(
                padded, params.f, params.r, params.sigma, params.h, stage=stage, timings=timings
            )
            return timings["kernel_s"]

        # Warm-up: compile / load the kernels, allocate the device buffers.
        kernel()
        kernel(stage=False)
        if args.cpu_repeat:
            nlmeans.denoise(image[:16, :16], backend="cpu", **options)
        kernel_s, global_s, gpu_s, cpu_s = [], [], [], []
        for i in range(max(args.repeat, args.cpu_repeat)):
            if i < args.repeat:
                kernel_s.append(kernel())
                global_s.append(kernel(stage=False))
                seconds, gpu_result = gpu_e2e()
                gpu_s.append(seconds)
            if i < args.cpu_repeat:
                seconds, cpu_result = cpu_e2e()
                cpu_s.append(seconds)
        k = statistics.median(kernel_s)
        g = statistics.median(gpu_s)
        row = f"{label + f' ({height}x{width})':>22} "
        row += f"{k * 1e3:10.2f} {statistics.median(global_s) * 1e3:10.2f} "
        row += f"{g * 1e3:11.2f} {megapixels / g:9.2f} "
        row += f"{megapixels / k:11.2f} " if k > 0 else f"{'n/a':>11} "
        if cpu_s:
            c = statistics.median(cpu_s)
            difference = float(np.abs(gpu_result - cpu_result).max())
            row += f"{c * 1e3:11.2f} {megapixels / c:9.2f} {c / g:8.2f} {difference:12.2e}"
        else:
            row += f"{'-':>11} {'-':>9} {'-':>8} {'-':>12}"
        print(row, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
