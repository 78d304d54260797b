"""Videos streamed: decoded, processed and encoded a few frames at a time (the video extra).

:func:`stream_video` reads the frames of a video one by one (PyAV), hands a
caller's function blocks of ``chunk`` frames with ``context`` neighbour frames
on each side (the temporal search radius: what the denoising of those frames
reads), and encodes the frames it gets back as they come. At the ends of the
video the missing neighbours are the mirror reflection of the frames
(``np.pad(mode="reflect")``, as for a whole stack), so the frames come out as
those of the whole video denoised at once. Memory is bounded by the window,
chunk + 2 · context decoded frames and one block of results, whatever the
length of the video.

The output is encoded into a hidden temporary file in the output's folder
and renamed into place when complete: an interruption (Ctrl-C included) or
an error removes it and leaves no partial file. The audio track, if any, is
copied unchanged (packets remuxed, not re-encoded), interleaved with the
video as it goes; where the output container cannot take its codec, it is
dropped and :attr:`StreamResult.audio` says why.
"""

from __future__ import annotations

import contextlib
import math
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from .._interrupts import reraise_interrupt
from ._picture import ImageFileError
from ._picture import error_reason as _reason
from ._video import DEFAULT_FPS, check_frame_count, encoder_for, require_av, the_video_stream

#: Frames handed to the processing function per call at most (plus the context each side).
STREAM_CHUNK = 16
#: ... and fewer for large frames: about this many bytes of float32 RGB frames per block
#: (a 1080p frame is 24.9 MB: 4 frames per block; a streamed 1080p denoise then peaks
#: under 1 GB, with the block's padded copy, its estimate and the decoded frames).
STREAM_BLOCK_BYTES = 96 * 2**20


def chunk_for(height: int, width: int) -> int:
    """Frames per block for frames of ``height`` × ``width``.

    :data:`STREAM_CHUNK` at most, :data:`STREAM_BLOCK_BYTES` of float32 RGB frames, at least 1.
    """
    return int(max(1, min(STREAM_CHUNK, STREAM_BLOCK_BYTES // (12 * height * width))))


@dataclass(frozen=True)
class VideoInfo:
    """What a video's header says: frame size, rate, frame count (None if unknown), audio."""

    width: int
    height: int
    fps: Fraction | None
    frames: int | None
    audio: str | None  # the audio codec's name, or None without audio


@dataclass(frozen=True)
class StreamResult:
    """What :func:`stream_video` did: frames written and what became of the audio."""

    frames: int
    audio: str  # "none", "copied (codec)" or "dropped: reason"


def probe_video(path: Path) -> VideoInfo:
    """Read the header of the video at ``path``; ImageFileError if it is not a readable video."""
    av = require_av(path)
    try:
        with av.open(str(path)) as container:
            stream = the_video_stream(path, container)
            width, height = stream.codec_context.width, stream.codec_context.height
            rate = stream.average_rate or stream.guessed_rate
            frames = stream.frames or None
            if not frames and container.duration and rate:
                frames = math.ceil(container.duration / 1e6 * float(rate))
            audio = (
                container.streams.audio[0].codec_context.name if container.streams.audio else None
            )
    except ImageFileError:
        raise
    except Exception as error:  # av.error.* for corrupt or unknown containers
        raise ImageFileError(path, f"is not a readable video ({_reason(error)})") from None
    if width <= 0 or height <= 0:
        raise ImageFileError(path, "is not a readable video (no frame size)")
    return VideoInfo(width, height, Fraction(rate) if rate else None, frames, audio)


def iter_frames(path: Path) -> Iterator[np.ndarray]:
    """Yield the frames of the video at ``path``, decoded one at a time as uint8 (H, W, 3) RGB."""
    av = require_av(path)
    try:
        with av.open(str(path)) as container:
            for frame in container.decode(video=0):
                yield frame.to_ndarray(format="rgb24")
    except Exception as error:
        raise ImageFileError(path, f"is truncated or corrupt ({_reason(error)})") from None


def _reflect(index: int, total: int) -> int:
    """Frame of a stack of ``total`` frames at ``index`` of its mirror extension."""
    if total == 1:
        return 0
    period = 2 * (total - 1)
    index %= period
    return index if index < total else period - index


def windows(
    frames: Iterator[np.ndarray], context: int, chunk: int
) -> Iterator[tuple[np.ndarray, int]]:
    """Yield (block, n) for consecutive runs of n ≤ ``chunk`` frames.

    ``block`` holds the n frames with ``context`` frames before and after
    (mirror-reflected at the ends).

    At most chunk + 2 · context frames are held at any time (the frames are only
    counted once the iterator ends, so the last blocks are built then).
    """
    held: dict[int, np.ndarray] = {}
    decoded = 0
    start = 0  # first frame of the next block
    for frame in frames:
        held[decoded] = frame
        decoded += 1
        if decoded >= start + chunk + context:
            # Frames up to start + chunk + context − 1 are here (and more than context of
            # them, so the mirror image of a frame before 0, −k, is frame k).
            ids = [abs(i) for i in range(start - context, start + chunk + context)]
            yield np.stack([held[i] for i in ids]), chunk
            start += chunk
            for i in [i for i in held if i < start - context]:
                del held[i]
    total = decoded
    while start < total:
        n = min(chunk, total - start)
        ids = [_reflect(i, total) for i in range(start - context, start + n + context)]
        yield np.stack([held[i] for i in ids]), n
        start += n


def stream_video(
    source: Path,
    output: Path,
    process: Callable[[np.ndarray], np.ndarray],
    context: int,
    *,
    codec: str | None = None,
    replace: bool = False,
    chunk: int = STREAM_CHUNK,
    progress: Callable[[int, int | None], None] | None = None,
    final: bool = False,
) -> StreamResult:
    """Encode ``process`` of every window of the video ``source`` into ``output``.

    Parameters
    ----------
    source, output : Path
        The input video and the video to write (mp4, mkv, avi).
    process : callable
        ``process(block)``: ``block`` is uint8 (n + 2 context, H, W, 3), n ≤ ``chunk``
        frames and their ``context`` neighbours each side; returns the n processed
        frames, uint8 (n, H, W, 3).
    context : int
        Neighbour frames each side that ``process`` reads (the temporal search radius).
    codec : str, optional
        As ``--codec`` (:func:`nlmeans.io._video.encoder_for`).
    replace : bool
        Replace an existing ``output`` (else the rename refuses to, atomically).
    chunk : int
        Frames processed per call.
    progress : callable, optional
        ``progress(frames_done, frames_total_or_None)`` after each block.
    final : bool
        Whether the video is the command's last output: interrupts are held from
        its rename on (:func:`nlmeans.io._write.final_publish`).

    The video is written to a hidden temporary file in the output's folder and
    renamed over ``output`` when complete; it gets the permission bits of any
    file it replaces, else 0o666 minus the umask, as every other output.

    Returns
    -------
    StreamResult
        Frames written and the audio's fate.

    References
    ----------
    FFmpeg / PyAV documentation: demuxing, decoding, encoding and remuxing packets.
    """
    from ._write import OutputExistsError, new_file_mode, publish_file, sync_folder

    av = require_av(source)
    info = probe_video(source)
    encoder, pixel_format, options = encoder_for(output, codec)
    output = Path(output)
    if not output.parent.is_dir():
        raise ImageFileError(output, f"output folder {output.parent} does not exist")
    mode = new_file_mode(output)
    handle, temp_name = tempfile.mkstemp(
        dir=output.parent, prefix=f".{output.stem}.", suffix=f".tmp{output.suffix}"
    )
    os.close(handle)
    written = 0
    try:
        with contextlib.ExitStack() as stack:
            sink = stack.enter_context(av.open(temp_name, "w"))
            video = sink.add_stream(encoder, rate=info.fps or DEFAULT_FPS, options=options)
            video.width, video.height, video.pix_fmt = info.width, info.height, pixel_format
            audio_note, audio_in, audio_out = "none", None, None
            if info.audio is not None:
                audio_in, audio_out, audio_note = _audio_streams(av, stack, source, sink, info)
            packets = _audio_packets(audio_in) if audio_in is not None else iter(())
            pending = None
            for block, n in windows(iter_frames(source), context, chunk):
                result = process(block)
                del block
                for frame in result[:n]:
                    picture = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), "rgb24")
                    sink.mux(video.encode(picture))
                    written += 1
                    # The audio up to this frame's time, interleaved with the video.
                    now = written / float(info.fps or DEFAULT_FPS)
                    pending = _mux_audio_until(sink, audio_out, packets, pending, now)
                if progress is not None:
                    progress(written, info.frames)
            sink.mux(video.encode())
            _mux_audio_until(sink, audio_out, packets, pending, math.inf)
        if written == 0:
            raise ImageFileError(source, "has no frames")
        check_frame_count(source, written, info.frames or 0)  # a cut file: refused, not shortened
        with open(temp_name, "rb+") as done:
            os.fsync(done.fileno())
        publish_file(temp_name, output, mode, replace=replace, final=final)
    except BaseException as error:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        if isinstance(error, FileExistsError):
            raise OutputExistsError(
                output, "already exists (it appeared meanwhile); pass --overwrite to replace it"
            ) from None
        if isinstance(error, av.error.FFmpegError):
            raise ImageFileError(output, f"cannot encode ({_reason(error)})") from None
        raise
    sync_folder(output.parent)  # the rename itself on disk
    return StreamResult(written, audio_note)


def _audio_streams(av, stack, source, sink, info):
    """(input audio stream, output audio stream, note): a template copy, or (None, None, why)."""
    demuxer = stack.enter_context(av.open(str(source)))
    audio_in = demuxer.streams.audio[0]
    try:
        audio_out = sink.add_stream_from_template(audio_in)
    except Exception as error:  # a codec the output container does not take
        reraise_interrupt(error)
        return (
            None,
            None,
            f"dropped: {info.audio} audio does not fit this container ({_reason(error)})",
        )
    return audio_in, audio_out, f"copied ({info.audio})"


def _audio_packets(audio_in):
    """Yield the audio stream's packets with a timestamp, in order."""
    for packet in audio_in.container.demux(audio_in):
        if packet.dts is not None and packet.size:
            yield packet


def _mux_audio_until(sink, audio_out, packets, pending, seconds: float):
    """Mux the audio packets that start before ``seconds``; returns the first later one."""
    if audio_out is None:
        return None
    while True:
        packet = pending if pending is not None else next(packets, None)
        if packet is None:
            return None
        if packet.pts is not None and float(packet.pts * packet.time_base) > seconds:
            return packet
        packet.stream = audio_out
        sink.mux(packet)
        pending = None
