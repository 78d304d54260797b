"""nlmeans on a volume and on video, against scikit-image and OpenCV (CPU backend).

    python benchmarks/bench_volume.py                  # both cases, 5 rounds each
    python benchmarks/bench_volume.py --runs 3         # fewer rounds
    python benchmarks/bench_volume.py --memory         # peak memory, 256³ float32 volume
    python benchmarks/bench_volume.py --memory --size 512

Cases (one process, every peer warmed up once, then the peers run interleaved,
one run of each per round; the table gives medians, the ratio to the peer and
the PSNR of each result against the clean data):

- volume: 64 × 128 × 128 gray float32 in [0, 1] (scikit-image's binary blobs,
  smoothed) plus Gaussian noise σ = 0.1; f = 2, r = 5, h = 0.08, σ = 0.1.
  nlmeans: ``nlmeans.denoise(noisy, h, sigma, f=2, r=5, backend="cpu")``, the
  front door (padding, slabs and the cast included);
  scikit-image: ``denoise_nl_means(noisy, patch_size=5, patch_distance=5,
  h=0.08, sigma=0.1, fast_mode=True)`` (the same weight formula).
  Target: nlmeans ≤ 0.025 × scikit-image's time.
- video: 30 frames of 512 × 512 gray in the uint8 range (the camera image,
  moving one pixel per frame) plus noise σ = 20, h = 20, σ = 0 in the weights;
  nlmeans: ``nlmeans.denoise(frames, h, 0, f=(0, 3, 3), r=(2, 10, 10),
  backend="cpu")`` on all 30 uint8 frames, time / 30; OpenCV:
  ``cv2.fastNlMeansDenoisingMulti(frames, i, 5, None, 20, 7, 21)`` (5 frames,
  7 × 7 patches, 21 × 21 window) for the middle frame i, time per call.
  Target: nlmeans ≤ 0.25 × OpenCV's time per frame. Two more rows on the same
  frames: "nlmeans N-D" runs the N-D kernel (``nlmeans.backends.cpu._ndim``) on
  the stack padded beforehand, the kernel the front door took for time stacks
  before the frame-pair kernel (``nlmeans.backends.cpu._framepair``), which
  ``nlmeans.denoise`` now takes; "nlmeans motion" is ``motion=True`` (block
  matching plus displaced search boxes). ``--frames`` sets the number of frames
  (30 by default; fewer on a loaded machine); ``--no-motion`` drops the motion row.

``--threads N`` runs nlmeans (Numba) and OpenCV on N threads (scikit-image's
fast mode is single-threaded); ``--volume-only`` / ``--video-only`` run one case.

``--memory`` runs ``nlmeans.denoise`` (f = 1, r = 1) on a size³ float32 volume in
a subprocess and reports its peak resident memory against the input
plus the output.
"""

from __future__ import annotations

import argparse
import platform
import resource
import statistics
import subprocess
import sys
import time

import numba
import numpy as np
from scipy import ndimage
from skimage import data
from skimage.metrics import peak_signal_noise_ratio
from skimage.restoration import denoise_nl_means

import nlmeans

try:
    import cv2
except ImportError:  # the optional "bench" extra
    cv2 = None

SEED = 0


def volume_case():
    """(clean, noisy) 64 × 128 × 128 float32, and the peers: name -> callable."""
    rng = np.random.default_rng(SEED)
    blobs = data.binary_blobs(length=128, n_dim=3, volume_fraction=0.3, rng=SEED)[:64]
    clean = ndimage.gaussian_filter(blobs.astype(np.float32), 1.0)
    noisy = (clean + rng.normal(0.0, 0.1, clean.shape)).astype(np.float32)
    f, r, h, sigma = (2, 2, 2), (5, 5, 5), 0.08, 0.1

    def run_nlmeans():
        return nlmeans.denoise(noisy, h, sigma, f=f, r=r, backend="cpu")

    def run_skimage():
        return denoise_nl_means(
            noisy, patch_size=5, patch_distance=5, h=h, sigma=sigma, fast_mode=True
        )

    return clean, noisy, {"nlmeans": run_nlmeans, "scikit-image": run_skimage}, 1.0, 1


def video_case(n_frames: int = 30, motion: bool = True):
    """(clean, noisy) n × 512 × 512 in the uint8 range, and the peers (time per frame)."""
    from nlmeans._arrays import pad_reflect
    from nlmeans.backends.cpu import _ndim as ndim

    rng = np.random.default_rng(SEED)
    camera = data.camera()
    clean = np.stack([np.roll(camera, k, axis=1) for k in range(n_frames)])
    noisy = np.clip(np.rint(clean + rng.normal(0.0, 20.0, clean.shape)), 0, 255).astype(np.uint8)
    f, r, h = (0, 3, 3), (2, 10, 10), 20.0
    middle = n_frames // 2

    def run_nlmeans():
        return nlmeans.denoise(noisy, h, 0.0, f=f, r=r, backend="cpu")[middle]

    padded = pad_reflect(noisy[None], (2, 13, 13))

    def run_ndim():
        out = ndim.pixelwise(padded, f, r, 0.0, [h])[0, 0, middle]
        return np.clip(np.rint(out), 0, 255)

    def run_motion():
        return nlmeans.denoise(noisy, h, 0.0, f=f, r=r, backend="cpu", motion=True)[middle]

    def run_opencv():
        frames = list(noisy)
        return cv2.fastNlMeansDenoisingMulti(frames, middle, 5, None, h, 7, 21)

    peers = {"nlmeans": run_nlmeans, "nlmeans N-D": run_ndim}
    if motion:
        peers["nlmeans motion"] = run_motion
    if cv2 is not None:
        peers["OpenCV"] = run_opencv
    # nlmeans denoises all frames per call, OpenCV one: per-frame divisors.
    divisors = {"nlmeans": n_frames, "nlmeans N-D": n_frames, "nlmeans motion": n_frames}
    return clean[middle], noisy, peers, 255.0, {**divisors, "OpenCV": 1}


def time_case(case, runs: int):
    """Warm up, then ``runs`` interleaved rounds: name -> (median s per frame, PSNR dB)."""
    clean, _, peers, data_range, frames = case
    results = {name: run() for name, run in peers.items()}  # warm-up (compilation)
    times = {name: [] for name in peers}
    for _ in range(runs):
        for name, run in peers.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    table = {}
    for name in peers:
        per_frame = frames[name] if isinstance(frames, dict) else frames
        psnr = peak_signal_noise_ratio(
            clean.astype(np.float64), results[name].astype(np.float64), data_range=data_range
        )
        table[name] = (statistics.median(times[name]) / per_frame, psnr)
    return table


def print_table(title: str, table, target: float) -> None:
    base = table["nlmeans"][0]
    print(f"\n{title}")
    print(f"{'peer':<14}{'median s':>12}{'nlmeans / peer':>16}{'PSNR dB':>10}")
    for name, (seconds, psnr) in table.items():
        ratio = base / seconds
        print(f"{name:<14}{seconds:>12.4f}{ratio:>16.3f}{psnr:>10.2f}")
    peers = [name for name in table if not name.startswith("nlmeans")]
    for name in peers:
        ratio = base / table[name][0]
        verdict = "met" if ratio <= target else "missed"
        print(f"target nlmeans <= {target} x {name}: {ratio:.3f} ({verdict})")
    if not peers:
        print("(OpenCV not installed: pip install '.[bench]')")


def memory_child(size: int) -> None:
    """Run in a subprocess: nlmeans.denoise, f = r = 1, on size³ float32; RSS figures (MiB)."""
    rng = np.random.default_rng(SEED)
    volume = rng.random((size,) * 3, dtype=np.float32)
    nlmeans.denoise(volume[:12, :12, :12], 0.1, 0.0, f=1, r=1)  # compile / load the cache
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    out = nlmeans.denoise(volume, 0.1, 0.0, f=1, r=1, backend="cpu")
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    io = (volume.nbytes + out.nbytes) / 2**20
    print(f"{size}^3 float32, f=1, r=1: {seconds:.2f} s")
    print(f"input + output: {io:.0f} MiB")
    print(f"peak RSS before the call: {before:.0f} MiB (the input held), after: {peak:.0f} MiB")
    grown = peak - before
    print(
        f"growth during the call: {grown:.0f} MiB = output {out.nbytes / 2**20:.0f} MiB "
        f"+ working memory {grown - out.nbytes / 2**20:.0f} MiB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timed rounds per case (median)")
    parser.add_argument("--memory", action="store_true", help="peak RSS of a large volume")
    parser.add_argument("--size", type=int, default=256, help="edge of the --memory volume")
    parser.add_argument("--frames", type=int, default=30, help="frames of the video case")
    parser.add_argument("--video-only", action="store_true", help="skip the volume case")
    parser.add_argument("--volume-only", action="store_true", help="skip the video case")
    parser.add_argument("--no-motion", action="store_true", help="skip the motion=True row")
    parser.add_argument(
        "--threads", type=int, help="threads of nlmeans and OpenCV (default: all of Numba's)"
    )
    parser.add_argument("--memory-child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        memory_child(args.memory_child)
        return
    if args.threads:
        numba.set_num_threads(args.threads)
        if cv2 is not None:
            cv2.setNumThreads(args.threads)
    print(f"{platform.processor() or platform.machine()}, {numba.get_num_threads()} threads")
    if args.memory:
        command = [sys.executable, __file__, "--memory-child", str(args.size)]
        subprocess.run(command, check=True)
        return
    if not args.video_only:
        print_table(
            "volume 64x128x128 gray, f=2, r=5 (s per volume)",
            time_case(volume_case(), args.runs),
            0.025,
        )
    if args.volume_only:
        return
    print_table(
        f"video {args.frames}x512x512 gray, f=(0,3,3), r=(2,10,10) (s per frame)",
        time_case(video_case(args.frames, not args.no_motion), args.runs),
        0.25,
    )


if __name__ == "__main__":
    main()
