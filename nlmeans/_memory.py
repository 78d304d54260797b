"""Memory estimates: refuse an image before allocating it when it cannot fit.

Denoising holds, besides the input, the float32 padded planes, the float32
estimate and, while converting back, two float32 temporaries (rounding,
clipping) and the result in the input's dtype. :func:`check_memory` compares
that working set with the memory the system reports as available.
"""

from __future__ import annotations

import contextlib
import contextvars
import os

from .errors import NLMeansError

GIB = 1024**3

#: Bytes other work of this process takes meanwhile, and the checks refused
#: because of them (:func:`beside`).
_BESIDE: contextvars.ContextVar[tuple[int, list]] = contextvars.ContextVar(
    "nlmeans_memory_beside", default=(0, [])
)


#: Where the limits are read (module attributes, so tests can point them elsewhere).
MEMINFO = "/proc/meminfo"
CGROUP_ROOT = "/sys/fs/cgroup"
PROC_CGROUP = "/proc/self/cgroup"

#: cgroup v1 reports "no limit" as a huge number (2^63 rounded down to a page).
_NO_LIMIT = 2**60


def _read_int(path) -> int | None:
    """Read an integer file (cgroup style): None if missing, unreadable or "max"."""
    try:
        with open(path, encoding="ascii") as handle:
            text = handle.read().strip()
    except OSError:
        return None
    try:
        value = int(text)
    except ValueError:
        return None  # "max": no limit
    return value if value < _NO_LIMIT else None


def _reclaimable(stat_path, key: str) -> int:
    """Inactive file cache of a cgroup (memory.stat), which the kernel reclaims first."""
    try:
        with open(stat_path, encoding="ascii") as handle:
            for line in handle:
                name, _, value = line.partition(" ")
                if name == key:
                    return int(value)
    except (OSError, ValueError):
        pass
    return 0


def _cgroup_folders(root: str, proc_cgroup: str) -> list[tuple[str, str]]:
    """(folder, version) candidates holding this process's memory controller files."""
    own_v2, own_v1 = "", ""
    try:
        with open(proc_cgroup, encoding="ascii") as handle:
            for line in handle:
                parts = line.strip().split(":", 2)
                if len(parts) == 3 and parts[0] == "0" and parts[1] == "":
                    own_v2 = parts[2].lstrip("/")
                elif len(parts) == 3 and "memory" in parts[1].split(","):
                    own_v1 = parts[2].lstrip("/")
    except OSError:
        pass
    folders = []
    for own in dict.fromkeys([own_v2, ""]):  # own group first, then the root (containers)
        folders.append((os.path.join(root, own) if own else root, "v2"))
    for own in dict.fromkeys([own_v1, ""]):
        base = os.path.join(root, "memory")
        folders.append((os.path.join(base, own) if own else base, "v1"))
    return folders


def cgroup_available(root: str | None = None, proc_cgroup: str | None = None) -> int | None:
    """Memory left under this process's cgroup limit, or None when there is no limit.

    cgroup v2: ``memory.max`` minus ``memory.current``; v1: ``memory.limit_in_bytes``
    minus ``memory.usage_in_bytes``; in both, the inactive file cache
    (``memory.stat``) counts as free, since the kernel reclaims it before
    killing. A container's limit is invisible in /proc/meminfo, which shows
    the host's memory: without this the process is killed by the
    out-of-memory killer instead of refused.
    """
    root = CGROUP_ROOT if root is None else root
    proc_cgroup = PROC_CGROUP if proc_cgroup is None else proc_cgroup
    left = []
    for folder, version in _cgroup_folders(root, proc_cgroup):
        if version == "v2":
            limit = _read_int(os.path.join(folder, "memory.max"))
            usage = _read_int(os.path.join(folder, "memory.current"))
            cache = _reclaimable(os.path.join(folder, "memory.stat"), "inactive_file")
        else:
            limit = _read_int(os.path.join(folder, "memory.limit_in_bytes"))
            usage = _read_int(os.path.join(folder, "memory.usage_in_bytes"))
            cache = _reclaimable(os.path.join(folder, "memory.stat"), "total_inactive_file")
        if limit is not None and usage is not None:
            left.append(max(limit - max(usage - cache, 0), 0))
    return min(left) if left else None  # the tightest limit (own group or the container's)


def available_bytes() -> int | None:
    """Memory this process can allocate without swapping or being killed, or None if unknown.

    Linux: the smaller of ``MemAvailable`` (/proc/meminfo), what is left
    under a cgroup memory limit (:func:`cgroup_available`) and under the
    process's address-space limit (:func:`address_space_available`); elsewhere
    the free physical pages.
    """
    system = None
    try:
        with open(MEMINFO, encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    system = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError, IndexError):
        pass
    if system is None:
        try:
            system = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (AttributeError, OSError, ValueError):
            system = None
    limited = cgroup_available()
    known = [value for value in (system, limited, address_space_available()) if value is not None]
    return min(known) if known else None


def address_space_available() -> int | None:
    """Return the address space left under this process's RLIMIT_AS, or None without one.

    The limit is ``ulimit -v`` / ``prlimit --as``: its soft limit minus the process's size now
    (``/proc/self/statm``), which an allocation beyond fails with MemoryError.
    """
    try:
        import resource

        limit = resource.getrlimit(resource.RLIMIT_AS)[0]
    except (ImportError, AttributeError, OSError, ValueError):
        return None
    if limit == resource.RLIM_INFINITY or limit < 0:
        return None
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            size = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None
    return max(0, limit - size)


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


#: Bytes per pixel of one plane the noise estimator holds at its peak (float64
#: copies and wavelet bands, one channel at a time), plus 4 per byte of the sample.
SIGMA_BYTES_PER_PIXEL = 24

#: Margin on the estimate for the allocator's own overhead.
SLACK = 1.05

#: Reflection margin r + f assumed before the radii are known: the largest of
#: the presets (f = 3, r = 17) with room to spare.
PRESET_PAD = 24

#: The same for the spatial axes of volumes and 4-D stacks, whose presets are
#: smaller (f = 1, r = 3: 4 for pixelwise, 5 for patchwise), with room to spare.
VOLUME_PAD = 6


def file_bytes(height: int, width: int, channels: int, itemsize: int) -> int:
    """Peak bytes of decoding, checking, denoising and writing one image file.

    An upper bound of what ``nlmeans denoise FILE`` allocates over its start-up
    (measured in tests/test_reliability.py::test_memory_estimate_bounds_the_real_peak),
    with the presets' radii and the noise estimated:

    - decoding: the decoder's copies (the 16-bit PNG decoder's inflated rows,
      unfiltered rows, image and oriented copy; Pillow's 4-byte pixels, a
      transposed copy and the array), ``4 × image + 8 bytes per pixel``;
    - then the image stays while the noise is estimated (one float64 plane at
      a time, :data:`SIGMA_BYTES_PER_PIXEL`) and while it is denoised
      (:func:`denoise_bytes` with :data:`PRESET_PAD`), whichever is larger;
    - then image, result, the result with alpha re-attached and the
      encoder's copies, ``4 × image + 4 bytes per pixel``.

    The three stages do not overlap (each one's temporaries are freed before
    the next), so the peak is the largest.
    """
    pixels = height * width
    image = pixels * channels * itemsize
    decode = 4 * image + 8 * pixels
    sigma = pixels * (SIGMA_BYTES_PER_PIXEL + 4 * itemsize)
    compute = image + max(sigma, denoise_bytes(height, width, channels, itemsize, PRESET_PAD))
    write = 4 * image + 4 * pixels
    return int(max(decode, compute, write) * SLACK)


def stack_file_bytes(spatial, channels: int, itemsize: int, pads) -> int:
    """Peak bytes of decoding, checking, denoising and writing one stack (or array) file.

    :func:`file_bytes` for any number of spatial axes, with the reflection
    margin ``pads`` per axis (what the default radii need):

    - decoding: the decoded stack, a transposed or stacked copy (frames of a
      video, an array read from a memory map), ``2 × stack``;
    - then the stack stays while the noise is estimated (as for an image,
      :data:`SIGMA_BYTES_PER_PIXEL` per voxel at most) or denoised
      (:func:`stack_denoise_bytes`), whichever is larger;
    - then stack, result, a reordered copy for the writer (ImageJ order) and
      the encoded file, ``4 × stack``.
    """
    voxels = 1
    for n in spatial:
        voxels *= n
    stack = voxels * channels * itemsize
    decode = 2 * stack
    sigma = voxels * (SIGMA_BYTES_PER_PIXEL + 4 * itemsize)
    compute = stack + max(sigma, stack_denoise_bytes(spatial, channels, itemsize, pads))
    write = 4 * stack
    return int(max(decode, compute, write) * SLACK)


def default_pads(axes: str) -> list[int]:
    """Return the reflection margin per spatial axis of ``axes`` with the default radii.

    r_t + f_t = 2 on a T axis; :data:`PRESET_PAD` on Y and X when they are the
    only other spatial axes, :data:`VOLUME_PAD` otherwise. ``C`` is skipped.
    """
    letters = axes.replace("C", "")
    others = len(letters.replace("T", ""))
    return [2 if a == "T" else PRESET_PAD if others == 2 else VOLUME_PAD for a in letters]


def processing_bytes(shape: tuple[int, ...], axes: str, itemsize: int) -> int:
    """Return the peak bytes of processing a decoded file beyond its pixels.

    :func:`stack_file_bytes` of an array of ``shape`` with these ``axes`` and
    the default margins, less the array itself: what denoising and writing it
    will still take once it is read.
    """
    spatial = [n for n, letter in zip(shape, axes, strict=True) if letter != "C"]
    channels = shape[axes.index("C")] if "C" in axes else 1
    stack = channels * itemsize
    for n in spatial:
        stack *= n
    return max(stack_file_bytes(spatial, channels, itemsize, default_pads(axes)) - stack, 0)


@contextlib.contextmanager
def beside(nbytes: int):
    """Count ``nbytes`` as taken by other work of this process while the block runs.

    The batch reads the next file while one is denoised: the read's memory
    checks (in this thread or context) then leave room for that denoise.
    Yields a list, which records each check refused only because of
    ``nbytes`` (one that would pass once the other work is done).
    """
    refused: list[str] = []
    token = _BESIDE.set((int(nbytes), refused))
    try:
        yield refused
    finally:
        _BESIDE.reset(token)


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
    if available is None:
        return
    held, refused = _BESIDE.get()
    if needed > available - held:
        if needed <= available:
            refused.append(what)
        kept = f" beside the {describe(held)} kept for the file being denoised" if held else ""
        raise NLMeansError(
            f"{what} needs about {describe(needed)} of memory but only "
            f"{describe(max(available - held, 0))} is available{kept}; use a smaller image "
            "or crop it into tiles"
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
