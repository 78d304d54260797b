"""Memory estimates: refuse an image before allocating it when it cannot fit.

Denoising holds, besides the input, the float32 padded planes, the float32
estimate and, while converting back, two float32 temporaries (rounding,
clipping) and the result in the input's dtype. :func:`check_memory` compares
that working set with the memory the system reports as available.
"""

from __future__ import annotations

import os

from .errors import NLMeansError

GIB = 1024**3


def available_bytes() -> int | None:
    """Memory the system can give this process without swapping, or None if unknown.

    Linux: ``MemAvailable`` from /proc/meminfo; elsewhere the free physical pages.
    """
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, OSError, ValueError):
        return None


def denoise_bytes(height: int, width: int, channels: int, itemsize: int, pad: int = 0) -> int:
    """Peak bytes :func:`nlmeans.denoise` allocates for an image of this size.

    ``pad = r + f`` is the reflection margin; pad = 0 gives a lower bound when
    the radii are not known yet. The input array itself is not counted.
    """
    plane = height * width * channels
    padded = channels * (height + 2 * pad) * (width + 2 * pad) * 4
    return padded + plane * (3 * 4 + itemsize)


def describe(size: int) -> str:
    """``size`` bytes in GiB (or MiB below one GiB), for messages."""
    if size >= GIB:
        return f"{size / GIB:.1f} GiB"
    return f"{size / 1024**2:.0f} MiB"


def check_memory(needed: int, what: str) -> None:
    """Raise NLMeansError when ``needed`` bytes exceed the available memory.

    ``what`` names the work in the message, e.g. "denoising a 100000x100000 image".
    Does nothing when the available memory cannot be determined.
    """
    available = available_bytes()
    if available is not None and needed > available:
        raise NLMeansError(
            f"{what} needs about {describe(needed)} of memory but only "
            f"{describe(available)} is available; use a smaller image or crop it into tiles"
        )


def check_denoise_memory(planes, pad: int = 0) -> None:
    """Refuse to denoise a (C, H, W) stack of ``planes`` that would not fit in memory.

    ``pad`` is the reflection margin once the radii are known (0 before: a lower bound).
    """
    channels, height, width = planes.shape
    needed = denoise_bytes(height, width, channels, planes.dtype.itemsize, pad)
    check_memory(needed, f"denoising a {width}x{height} image with {channels} channel(s)")
