"""``nlmeans denoise`` from a video to a video, streamed: memory bounded by the window.

The frames are decoded, denoised and encoded a block at a time
(:func:`nlmeans.io._video_stream.stream_video`) with the temporal search radius
of neighbour frames on each side, so the result equals the whole video
denoised at once while memory does not grow with its length. Unset
parameters are resolved on the first block of frames
(:func:`~nlmeans.io._video_stream.chunk_for`: up to 16 frames, fewer for large
frames; the whole of a shorter video).
"""

from __future__ import annotations

import itertools
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from ._app import note
from ._common import prepare_backend


def wants_streaming(input_path: Path, output: Path, request) -> bool:
    """Return a video in and a video out, with choices that need no look at the whole video.

    Tuning asked for (``--tune``, a combination) and noise models other than
    Gaussian take the whole video in memory instead; a streamed video takes the
    presets where nothing is given (the default tuning needs the whole video).
    """
    from ..io._formats import VIDEO_EXTENSIONS

    videos = all(Path(p).suffix.lower() in VIDEO_EXTENSIONS for p in (input_path, output))
    plain = request.noise == "gaussian" and not request.mapped
    return videos and not request.tune_asked and plain


#: glibc's ``mallopt`` parameter M_MMAP_THRESHOLD, and the size it is fixed at.
_M_MMAP_THRESHOLD, _MMAP_AT = -3, 4 * 2**20


def map_large_blocks() -> bool:
    """Have glibc's malloc map every block of 4 MiB or more on its own; return whether it did.

    A streamed video allocates and frees frames and blocks of 6–100 MB over and
    over. glibc raises its mmap threshold each time such a block is freed (up to
    32 MiB), after which they are carved from the heap, which fragments and
    grows with the video's length. A fixed threshold keeps each of them a
    mapping of its own, given back when freed. Elsewhere (another C library, no
    ``mallopt``) nothing is done.
    """
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError, TypeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return mallopt(_M_MMAP_THRESHOLD, _MMAP_AT) == 1


class FrameProgress:
    """Frames done of the total, frames per second and the time left, on stderr (a terminal)."""

    def __init__(self, label: str):
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        self.progress = Progress(
            TextColumn(label),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} frames"),
            TextColumn("{task.fields[fps]:.2f} frames/s"),
            TextColumn("eta"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self.task = None
        self.start = time.perf_counter()

    def __call__(self, done: int, total: int | None) -> None:
        if self.task is None:
            self.progress.start()
            self.task = self.progress.add_task("frames", total=total, fps=0.0)
        fps = done / max(time.perf_counter() - self.start, 1e-9)
        self.progress.update(self.task, completed=done, fps=fps)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        if self.task is not None:
            self.progress.stop()


def denoise_streamed(
    input_path: Path,
    output: Path,
    request,
    *,
    overwrite: bool,
    codec,
    quiet: bool,
    show_bar: bool,
):
    """Denoise the video ``input_path`` into ``output`` block by block.

    Returns (params, backend, seconds, Picture stand-in for the report, audio note).
    """
    import contextlib

    from .._blocks import block_padding, denoise_frames_block
    from .._resolve import resolve_request
    from ..io import Picture
    from ..io._axes import radii_for_axes
    from ..io._checks import check_fixed_axes
    from ..io._video_stream import chunk_for, iter_frames, probe_video, stream_video

    check_fixed_axes(input_path, request.axes, "TYXC", "video")
    info = probe_video(input_path)
    f, r = radii_for_axes("TYXC", request.f, request.r)
    request = replace(request, f=f, r=r, channel_axis=3, tune=False)  # the presets
    chunk = chunk_for(info.height, info.width)
    first = list(itertools.islice(iter_frames(input_path), chunk))
    if not first:
        from ..io import ImageFileError

        raise ImageFileError(input_path, "has no frames")
    params = resolve_request(np.stack(first), request)
    del first
    chosen = prepare_backend(replace(request, method=params.method), quiet, 3)
    if request.motion:
        from ..backends._motion import check_motion

        context = check_motion(params, 3)[1][0]
    else:
        context = block_padding(params, 3)[0]

    def process(block: np.ndarray) -> np.ndarray:
        return denoise_frames_block(
            block, params, context=context, channel_axis=3, backend=chosen.name,
            motion=request.motion,
        )  # fmt: skip

    map_large_blocks()  # memory bounded whatever the video's length
    start = time.perf_counter()
    bar = FrameProgress(input_path.name) if show_bar else contextlib.nullcontext()
    with bar:
        result = stream_video(
            input_path, output, process, context, codec=codec, replace=overwrite, chunk=chunk,
            progress=bar if show_bar else None, final=True,
        )  # fmt: skip
    elapsed = time.perf_counter() - start
    if result.audio.startswith("dropped") and not quiet:
        note(f"{output}: audio {result.audio}")
    shape = (result.frames, info.height, info.width, 3)
    stand_in = np.broadcast_to(np.zeros((), np.uint8), shape)  # the shape, no frames held
    picture = Picture(stand_in, None, "TYXC", "format", {"fps": info.fps})
    return params, chosen, elapsed, picture, result.audio


def show_progress(quiet: bool, json_output: bool) -> bool:
    """Progress only on a terminal, and not with --quiet or --json."""
    return sys.stderr.isatty() and not (quiet or json_output)
