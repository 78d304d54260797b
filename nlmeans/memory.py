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


def stack_denoise_bytes(spatial, channels: int, itemsize: int, pads=0) -> int:
    """Peak bytes :func:`nlmeans.denoise` allocates for a stack of this size.

    ``spatial`` is the spatial shape, ``pads`` the reflection margin per axis
    (or one for all; 0 gives a lower bound when the radii are not known yet).
    The input array itself is not counted.
    """
    pads = (pads,) * len(spatial) if isinstance(pads, int) else tuple(pads)
    voxels = padded = channels
    for n, p in zip(spatial, pads, strict=True):
        voxels *= n
        padded *= n + 2 * p
    return padded * 4 + voxels * (3 * 4 + itemsize)


def denoise_bytes(height: int, width: int, channels: int, itemsize: int, pad: int = 0) -> int:
    """:func:`stack_denoise_bytes` of a 2-D image with margin ``pad`` on both axes."""
    return stack_denoise_bytes((height, width), channels, itemsize, pad)


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


def check_denoise_memory(planes, pad=0) -> None:
    """Refuse to denoise a (C, *S) stack of ``planes`` that would not fit in memory.

    ``pad`` is the reflection margin per spatial axis (or one for all) once the
    radii are known (0 before: a lower bound).
    """
    channels, spatial = planes.shape[0], planes.shape[1:]
    needed = stack_denoise_bytes(spatial, channels, planes.dtype.itemsize, pad)
    size = "x".join(str(n) for n in reversed(spatial))
    check_memory(needed, f"denoising a {size} image with {channels} channel(s)")
