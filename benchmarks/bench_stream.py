"""Peak memory of a streamed video denoise against the video's length (the video extra).

    python benchmarks/bench_stream.py                          # 640x360, 30 and 120 frames
    python benchmarks/bench_stream.py --size 1920x1080 --frames 12 36

For each length, a synthetic noisy video (a moving gradient plus Gaussian noise
σ = 10, FFV1 in .mkv, written frame by frame) is denoised by the command line,
video in and video out, in a child process:

    nlmeans denoise in.mkv -o out.mkv --h 15 --sigma 10 --f 0,1,1 --r 2,1,1 --quiet

(small radii, so that the run is quick: the memory is that of the frames and
blocks, not of the radii). The table gives the child's peak resident memory
(``ru_maxrss`` from ``os.wait4``) and its wall time; memory bounded by the
window means the same peak for every length.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SEED = 0


def write_video(path: Path, frames: int, height: int, width: int) -> None:
    """A noisy moving gradient, FFV1, one frame in memory at a time."""
    import av

    rng = np.random.default_rng(SEED)
    y, x = np.mgrid[:height, :width]
    with av.open(str(path), "w") as container:
        stream = container.add_stream("ffv1", rate=25)
        stream.width, stream.height, stream.pix_fmt = width, height, "bgr0"
        for t in range(frames):
            base = np.stack([(x + 3 * t) % 256, y * 255 // height, np.full_like(x, 128)], -1)
            frame = np.clip(base + rng.normal(0, 10, base.shape), 0, 255).astype(np.uint8)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())


def measure(source: Path, output: Path) -> tuple[float, float]:
    """(peak RSS MiB, seconds) of the streamed CLI denoise in a child process."""
    command = [
        sys.executable, "-m", "nlmeans", "denoise", str(source), "-o", str(output),
        "--h", "15", "--sigma", "10", "--f", "0,1,1", "--r", "2,1,1", "--quiet", "--overwrite",
    ]  # fmt: skip
    start = time.perf_counter()
    child = subprocess.Popen(command)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"the denoise failed (status {status})")
    return usage.ru_maxrss / 1024, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="640x360", help="WIDTHxHEIGHT of the frames")
    parser.add_argument("--frames", type=int, nargs="+", default=[30, 120], help="lengths")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.lower().split("x"))
    print(f"{width}x{height}, streamed: nlmeans denoise in.mkv -o out.mkv (f=0,1,1 r=2,1,1)")
    print(f"{'frames':>8}{'input MiB (RGB)':>18}{'peak RSS MiB':>15}{'seconds':>10}")
    with tempfile.TemporaryDirectory() as folder:
        for frames in args.frames:
            source = Path(folder) / f"in{frames}.mkv"
            write_video(source, frames, height, width)
            peak, seconds = measure(source, Path(folder) / "out.mkv")
            raw = frames * height * width * 3 / 2**20
            print(f"{frames:>8}{raw:>18.0f}{peak:>15.0f}{seconds:>10.1f}")
            source.unlink()


if __name__ == "__main__":
    main()
