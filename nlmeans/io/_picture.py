"""What a file holds once read, and the error that names a file.

:class:`Picture` is an image, stack or array read from a file (pixels, alpha,
axes, the metadata its writer keeps); :class:`ImageFileError` is raised for a
file that cannot be read or written, its message starting with the path.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import NLMeansError


@dataclass
class Picture:
    """A file's content: the ``pixels`` (color or gray), an optional ``alpha`` and the axes.

    Single images: ``pixels`` is (H, W) for gray or (H, W, C) for color,
    ``alpha`` (H, W) or None, ``axes`` None (read as ``YX`` or ``YXC``).
    Stacks and arrays read from TIFF, ``.npy`` or video files keep the file's
    axis order, named by ``axes`` (:mod:`nlmeans.io._axes`, e.g. ``TYX``,
    ``CZYX``); only a ``YXC`` image has its alpha split off. Both keep the
    file's dtype. ``axes_source`` says where the axes came from ("format",
    "metadata", "--axes" or "guessed"); ``meta`` holds what the writer keeps
    (compression, resolution, spacing, frame rate…).
    """

    pixels: np.ndarray
    alpha: np.ndarray | None = None
    axes: str | None = None
    axes_source: str = "format"
    meta: dict = field(default_factory=dict)

    @property
    def layout(self) -> str:
        """The axes of ``pixels``: ``axes``, or ``YX`` / ``YXC`` for a single image."""
        if self.axes is not None:
            return self.axes
        return "YX" if self.pixels.ndim == 2 else "YXC"

    @property
    def spatial(self) -> str:
        """The spatial axes (T, Z, Y, X) in order."""
        return self.layout.replace("C", "")

    @property
    def is_stack(self) -> bool:
        """More than the two axes of an image (Y, X), or channels not last."""
        return self.layout not in ("YX", "YXC")

    @property
    def channel_axis(self) -> int | None:
        layout = self.layout
        return layout.index("C") if "C" in layout else None

    @property
    def channels(self) -> int:
        """Channels of the full image, alpha included."""
        axis = self.channel_axis
        color = 1 if axis is None else self.pixels.shape[axis]
        return color + (self.alpha is not None)

    def with_pixels(self, pixels: np.ndarray) -> np.ndarray:
        """Return the full array to write: ``pixels`` with this picture's alpha re-attached."""
        if self.alpha is None:
            return pixels
        color = pixels if pixels.ndim == 3 else pixels[..., np.newaxis]
        return np.concatenate([color, self.alpha[..., np.newaxis]], axis=-1)

    def describe_axes(self) -> str:
        """``axes=TYX from the file's metadata``: for the result lines."""
        words = {
            "metadata": "from the file's metadata",
            "--axes": "given by --axes",
            "guessed": "guessed from the shape; set --axes to change",
            "format": "of the format",
        }
        return f"axes={self.layout} {words.get(self.axes_source, self.axes_source)}"


class ImageFileError(NLMeansError):
    """A file that cannot be read or written; the message starts with its path."""

    def __init__(self, path, problem: str):
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


def error_reason(error: Exception) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0]
