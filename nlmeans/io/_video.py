"""Videos (mp4, mkv, avi) as 8-bit RGB time stacks (``TYXC``): the ``video`` extra (PyAV).

Reading decodes the frames through imageio's pyav plugin after probing the
stream (frame count, size, frame rate) and checking frames × size against
memory: the whole stack is held in memory, since every frame is compared
with its neighbours in time. A container that does not say how many frames
it holds (Matroska) is estimated from its duration, and checked again as
decoding passes the estimate.

Writing keeps the frame rate and encodes with PyAV directly (imageio's
writer takes no encoder options such as x264's crf). ``--codec``:

- ``lossless`` (default): FFV1 (RGB, ``bgr0``) in .mkv and .avi, x264's RGB
  encoder (``libx264rgb``, qp 0) in .mp4; the decoded output equals the
  denoised frames exactly;
- ``lossy``: x264 at crf 17 in full-resolution chroma (``yuv444p``), a
  visually lossless, much smaller file (a few levels of difference);
- an encoder name: ``ffv1``, ``libx264rgb`` (lossless) or ``libx264`` (crf 17).
"""

from __future__ import annotations

import io
import math
import warnings
from fractions import Fraction
from pathlib import Path

import numpy as np

from ._checks import check_declared_stack, check_fixed_axes
from ._picture import ImageFileError, Picture
from ._picture import error_reason as _reason

#: What a video path without PyAV says.
VIDEO_EXTRA = 'pip install "nlmeans[video]"'

_MUXERS = {".mp4": "mp4", ".mkv": "matroska", ".avi": "avi"}

#: --codec choices -> (encoder, pixel format, encoder options); "lossless" by container.
_LOSSLESS = {
    ".mkv": ("ffv1", "bgr0", {}),
    ".avi": ("ffv1", "bgr0", {}),
    ".mp4": ("libx264rgb", "rgb24", {"crf": "0", "qp": "0"}),
}
_ENCODERS = {
    "lossy": ("libx264", "yuv444p", {"crf": "17"}),
    "ffv1": ("ffv1", "bgr0", {}),
    "libx264rgb": ("libx264rgb", "rgb24", {"crf": "0", "qp": "0"}),
    "libx264": ("libx264", "yuv444p", {"crf": "17"}),
}

#: The values ``--codec`` takes.
CODECS = ("lossless", *_ENCODERS)

#: Frame rate of an output whose input did not say one.
DEFAULT_FPS = Fraction(25)


def check_codec(codec: str | None) -> str:
    """``codec`` (None: lossless) if it is one of :data:`CODECS`, else NLMeansError."""
    from ..errors import NLMeansError

    codec = "lossless" if codec is None else codec.strip().lower()
    if codec not in CODECS:
        raise NLMeansError(f"--codec {codec!r}: expected one of {', '.join(CODECS)}")
    return codec


def require_av(path):
    """PyAV, or ImageFileError naming the extra that brings it."""
    try:
        import av
    except ImportError:
        raise ImageFileError(path, f"videos need the video extra (PyAV): {VIDEO_EXTRA}") from None
    return av


def check_video_output(path: Path, picture: Picture) -> None:
    """Refuse a video output that cannot hold ``picture`` (8-bit RGB TYXC only)."""
    require_av(path)
    layout = picture.layout
    rgb = layout == "TYXC" and picture.pixels.shape[-1] == 3
    if picture.pixels.dtype != np.uint8 or not rgb:
        shape = "x".join(map(str, picture.pixels.shape))
        raise ImageFileError(
            path,
            f"videos store 8-bit RGB time stacks (axes TYXC); this is {layout} "
            f"{picture.pixels.dtype} (shape {shape}) — write .tif or .npy instead",
        )


def read_video(path: Path, axes: str | None = None) -> Picture:
    """Decode every frame of a video into a ``TYXC`` uint8 :class:`~nlmeans.io.Picture`."""
    av = require_av(path)
    check_fixed_axes(path, axes, "TYXC", "video")
    try:
        with av.open(str(path)) as container:
            stream = the_video_stream(path, container)
            width, height = stream.codec_context.width, stream.codec_context.height
            rate = stream.average_rate or stream.guessed_rate
            frames = stream.frames
            # Frames the container promises: its frame count, else (Matroska) its
            # duration times the frame rate; fewer decoded means a damaged file.
            declared = int(frames or 0)
            if not frames and container.duration and rate:
                declared = round(container.duration / 1e6 * float(rate))
                frames = math.ceil(container.duration / 1e6 * float(rate)) + 1
            codec = stream.codec_context.name
            audio = [a.codec_context.name for a in container.streams.audio]
    except ImageFileError:
        raise
    except Exception as error:  # av.error.* for corrupt or unknown containers
        reason = _reason(error)
        raise ImageFileError(path, f"is not a readable video ({reason})") from None
    if width <= 0 or height <= 0:
        raise ImageFileError(path, "is not a readable video (no frame size)")
    bound = max(int(frames or 0), 1)
    check_declared_stack(path, (bound, height, width, 3), "TYXC", 1)
    decoded = []
    try:
        import imageio.v3 as iio

        for frame in iio.imiter(path, plugin="pyav", format="rgb24"):
            decoded.append(np.asarray(frame))
            if len(decoded) > bound:  # more frames than declared: check again as they come
                bound = 2 * bound
                check_declared_stack(path, (bound, height, width, 3), "TYXC", 1)
    except ImageFileError:
        raise
    except Exception as error:
        reason = _reason(error)
        raise ImageFileError(path, f"is truncated or corrupt ({reason})") from None
    if not decoded:
        raise ImageFileError(path, "has no frames")
    check_frame_count(path, len(decoded), declared)
    if audio:  # a stack of frames has no sound: say so rather than lose it without a word
        warnings.warn(
            f"{path}: its audio ({audio[0]}) is not read, so what is made from these frames "
            "has none (denoising a video into a video without --tune or --method combined "
            "copies it)",
            stacklevel=2,
        )
    array = np.stack(decoded)
    del decoded
    meta = {"format": "video", "fps": Fraction(rate) if rate else None, "codec": codec}
    return Picture(array, None, "TYXC", "format", meta)


def the_video_stream(path, container):
    """Return the one video stream of an open ``container``.

    ImageFileError for none or several (only one would be read: the others are
    never silently dropped).
    """
    if not container.streams.video:
        raise ImageFileError(path, "has no video stream")
    if len(container.streams.video) > 1:
        raise ImageFileError(
            path,
            f"has {len(container.streams.video)} video streams; nlmeans reads a "
            "video of one stream — extract the one to denoise (e.g. ffmpeg -map 0:v:0)",
        )
    # Several audio streams are refused too: at most one is copied (the streamed path),
    # and the others would be dropped without a word.
    audio = [stream.codec_context.name for stream in container.streams.audio]
    if len(audio) > 1:
        raise ImageFileError(
            path,
            f"has {len(audio)} audio streams ({', '.join(audio)}); nlmeans copies at most "
            "one — extract the video with the one to keep (e.g. ffmpeg -map 0:v:0 -map 0:a:0)",
        )
    return container.streams.video[0]


def check_frame_count(path, decoded: int, declared: int) -> None:
    """Refuse a video that decodes to fewer frames than its container declares.

    A cut or damaged file; the message names both counts: frames are never
    silently dropped.

    ``declared`` is 0 when the container says nothing. A duration-derived count
    may be off by rounding: one frame in a hundred (at least one) is tolerated.
    """
    if declared and declared - decoded > max(1, declared // 100):
        raise ImageFileError(
            path,
            f"is truncated or damaged: {decoded} frames decode of the {declared} its "
            "container declares",
        )


def encoder_for(path: Path, codec: str | None) -> tuple[str, str, dict]:
    """Return (encoder, pixel format, options) of ``--codec`` for the container of ``path``."""
    av = require_av(path)
    choice = check_codec(codec)
    suffix = Path(path).suffix.lower()
    encoder, pixel_format, options = (
        _LOSSLESS[suffix] if choice == "lossless" else _ENCODERS[choice]
    )
    if encoder not in av.codecs_available:
        raise ImageFileError(
            path, f"this FFmpeg build has no {encoder} encoder; choose another --codec"
        )
    return encoder, pixel_format, dict(options)


def encode_video(path: Path, array: np.ndarray, like: Picture | None, codec: str | None) -> bytes:
    """Encode the ``TYXC`` uint8 ``array`` as the bytes of a video (frame rate of ``like``)."""
    av = require_av(path)
    encoder, pixel_format, options = encoder_for(path, codec)
    suffix = Path(path).suffix.lower()
    fps = (like.meta.get("fps") if like is not None else None) or DEFAULT_FPS
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=_MUXERS[suffix]) as container:
        stream = container.add_stream(encoder, rate=Fraction(fps), options=dict(options))
        stream.width, stream.height = array.shape[2], array.shape[1]
        stream.pix_fmt = pixel_format
        for frame in array:
            picture = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
            container.mux(stream.encode(picture))
        container.mux(stream.encode())
    return buffer.getvalue()
