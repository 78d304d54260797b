"""The host side of the CUDA backend's pixelwise kernels (:mod:`._kernels`).

It takes the float32 reflect-padded (C, H+2(r+f), W+2(r+f)) stack from the front door
(:func:`nlmeans.denoise` does parameter resolution, padding and dtypes), uploads it
once, runs every shift of the search window on the device, and downloads the
(C, H, W) estimate once. Images too large for the device's free memory are cut
into tiles with an r+f halo; every output pixel depends only on its own padded
neighbourhood and the kernels sum in a fixed order, so tiled and untiled runs
give identical results. Device buffers are kept for the next image of the same
shape (batch use).

Importing this module does not import numba.cuda: :func:`availability` and the
first denoising call do.
"""

from __future__ import annotations

import ctypes
import math
import sys
import threading
import time
import warnings

import numpy as np

from ..._interrupts import reraise_interrupt
from ...errors import NLMeansError
from .._contract import weight_constants

#: Threads per block, (x, y), tried in this order: one thread per output pixel.
BLOCK_SHAPES = ((16, 16), (8, 8), (4, 4))
#: Dynamic shared memory a block may use without an opt-in (bytes).
SHARED_LIMIT = 48 * 1024
#: Fraction of the device's free memory one tile's buffers may take.
MEMORY_FRACTION = 0.5
#: numba.cuda's warning for grids under 128 blocks (small images, the probe's 1×1 run).
LOW_OCCUPANCY_WARNING = r"Grid size \d+ will likely result in GPU under-utilization"

_probe_result: list[str | None] = []
_probe_lock = threading.Lock()
_device_lock = threading.Lock()
_buffers: dict[tuple, tuple] = {}
_buffers_key: list[tuple] = []


def availability() -> str | None:
    """None when a usable CUDA device (or Numba's CUDA simulator) is present, else why not.

    The probe imports numba.cuda, initialises the driver and, when a device
    is found, compiles (or loads from Numba's cache) and runs both kernels on a
    tiny image, so that a toolkit or driver too old for the kernels counts as
    unusable. It runs once; the answer is cached for the life of the process.
    """
    with _probe_lock:
        if not _probe_result:
            _probe_result.append(_probe())
        return _probe_result[0]


def _probe() -> str | None:
    if not _driver_library_loads():
        # What numba.cuda would report, without importing it (about 45 ms of every CPU run).
        return "no usable CUDA driver: CUDA driver library cannot be found."
    try:
        from numba import cuda
    except ImportError:
        return 'numba.cuda is missing; install the CUDA target with pip install "nlmeans[cuda]"'
    if cuda.is_available():
        # Under NUMBA_ENABLE_CUDASIM=1 the simulator is the device.
        try:
            if len(cuda.gpus) == 0:
                return "no CUDA device found (the driver reports none)"
        except Exception as exc:  # the driver loaded but listing devices failed
            reraise_interrupt(exc)
            return f"no usable CUDA device: {_first_line(exc)}"
        try:
            _run_tiny()
        except Exception as exc:  # compiler, toolkit or driver errors of any kind
            reraise_interrupt(exc)
            return f"the CUDA kernels cannot be compiled or run here: {_first_line(exc)}"
        return None
    try:
        from numba.cuda.cudadrv import nvvm
        from numba.cuda.cudadrv.driver import driver

        count = driver.get_device_count()
    except Exception as exc:  # CudaSupportError and friends: no driver, disabled, ...
        reraise_interrupt(exc)
        return f"no usable CUDA driver: {_first_line(exc)}"
    if count == 0:
        return "no CUDA device found (the driver reports none)"
    if not nvvm.is_available():
        return 'the CUDA toolkit (NVVM) is missing; install it with pip install "nlmeans[cuda]"'
    return "numba.cuda reports no usable device"


def _driver_library_loads() -> bool:
    """Whether the CUDA driver library loads, looked up as numba.cuda looks it up on Linux.

    True where numba.cuda should decide: its simulator, a driver path in
    ``NUMBA_CUDA_DRIVER``, other systems.
    """
    from numba.core import config

    simulator, driver = getattr(config, "ENABLE_CUDASIM", 0), getattr(config, "CUDA_DRIVER", "")
    if simulator or driver or not sys.platform.startswith("linux"):
        return True
    for name in ("libcuda.so", "libcuda.so.1", "/usr/lib/libcuda.so", "/usr/lib/libcuda.so.1",
                 "/usr/lib64/libcuda.so", "/usr/lib64/libcuda.so.1"):  # fmt: skip
        try:
            ctypes.CDLL(name)
        except OSError:
            continue
        return True
    return False


def _first_line(exc: BaseException) -> str:
    """Return the first informative line of a numba.cuda error message."""
    lines = [line.strip(" :") for line in str(exc).splitlines()]
    lines = [line for line in lines if line and line != "Error at driver init"]
    return lines[0] if lines else type(exc).__name__


def launch_plan(
    n_channels: int,
    f: int,
    r: int,
    stage: bool | None = None,
    block: tuple[int, int] | None = None,
):
    """(block shape (x, y), staged, dynamic shared bytes) for one kernel launch.

    The largest block of :data:`BLOCK_SHAPES` whose shared buffers fit in
    :data:`SHARED_LIMIT`, with the image tile staged when that fits too;
    ``stage`` and ``block`` force the choice (tests).
    """
    for staged in (True, False) if stage is None else (stage,):
        for bw, bh in BLOCK_SHAPES if block is None else (block,):
            d_width = bw + 2 * f
            floats = (bh + 2 * f) * d_width + bh * d_width
            if staged:
                floats += n_channels * (bh + 2 * (r + f)) * (bw + 2 * (r + f))
            if 4 * floats <= SHARED_LIMIT:
                return (bw, bh), staged, 4 * floats
    raise NLMeansError(
        f"f={f}, r={r} with {n_channels} channels need more shared memory than a CUDA block has"
    )


def _auto_tile(n_channels: int, height: int, width: int, pad: int) -> tuple[int, int]:
    """Output tile (rows, cols) whose device buffers fit in the free device memory."""
    from numba import cuda

    free = cuda.current_context().get_memory_info()[0]
    budget = MEMORY_FRACTION * free
    rows, cols = height, width
    while 4 * n_channels * ((rows + 2 * pad) * (cols + 2 * pad) + rows * cols) > budget:
        if rows == 1 and cols == 1:
            raise NLMeansError("not enough free CUDA device memory for even one pixel")
        if rows >= cols:
            rows = (rows + 1) // 2
        else:
            cols = (cols + 1) // 2
    return rows, cols


def _device_buffers(shape: tuple[int, int, int], out_shape: tuple[int, int, int]):
    """Device (flat input, output) buffers for one tile shape, kept for reuse."""
    from numba import cuda

    key = (shape, out_shape)
    if key not in _buffers:
        _buffers[key] = (
            cuda.device_array(int(np.prod(shape)), dtype=np.float32),
            cuda.device_array(out_shape, dtype=np.float32),
        )
    return _buffers[key]


def pixelwise(
    padded: np.ndarray,
    f: int,
    r: int,
    sigma: float,
    h: float,
    *,
    tile: tuple[int, int] | None = None,
    stage: bool | None = None,
    block: tuple[int, int] | None = None,
    timings: dict | None = None,
) -> np.ndarray:
    """Pixelwise NLM of a float32 (C, H+2(r+f), W+2(r+f)) stack on the GPU, one strength ``h``.

    The estimate of :func:`nlmeans.backends.reference.pixelwise` (Buades,
    Coll & Morel, "Non-Local Means Denoising", IPOL 2011).

    Parameters
    ----------
    padded : ndarray
        float32 (C, H + 2(r+f), W + 2(r+f)), reflect-padded.
    f, r : int
        Patch and search radius (the same on both axes).
    sigma, h : float
        Noise standard deviation and filtering strength, raw units.
    tile : (int, int), optional
        Output rows and columns processed per upload; default: the whole image
        when it fits in half the free device memory, else smaller tiles.
    stage : bool, optional
        Force staging the image in shared memory (True) or reading it from
        global memory (False); default: stage when it fits.
    block : (int, int), optional
        Threads per block (x, y); default: the largest of :data:`BLOCK_SHAPES` that fits.
    timings : dict, optional
        Filled with "kernel_s" (device time of the kernels, CUDA events) and
        "total_s" (wall time including transfers).

    Returns
    -------
    ndarray
        float32 (C, H, W).
    """
    reason = availability()
    if reason is not None:
        raise NLMeansError(f"backend='cuda' is not available: {reason}")
    return _launch(padded, f, r, sigma, h, tile, stage, block, timings)


def _launch(padded, f, r, sigma, h, tile, stage, block, timings) -> np.ndarray:
    """Upload, run the kernels over every tile, download: :func:`pixelwise`'s work."""
    from numba import cuda

    from . import _kernels as kernels

    start = time.perf_counter()
    n_channels, p_height, p_width = padded.shape
    pad = r + f
    height, width = p_height - 2 * pad, p_width - 2 * pad
    scales, offsets = weight_constants([h], sigma, (f, f), n_channels)
    scale, offset = scales[0], offsets[0]
    (bw, bh), staged, shared = launch_plan(n_channels, f, r, stage, block)
    kernel = kernels.staged_kernel if staged else kernels.global_kernel
    out = np.empty((n_channels, height, width), dtype=np.float32)
    kernel_s = 0.0
    with _device_lock:
        rows, cols = tile if tile is not None else _auto_tile(n_channels, height, width, pad)
        image_key = (padded.shape, rows, cols)
        if _buffers_key != [image_key]:
            # A new image shape: drop the previous shape's buffers.
            _buffers.clear()
            _buffers_key[:] = [image_key]
        for y0 in range(0, height, rows):
            for x0 in range(0, width, cols):
                th, tw = min(rows, height - y0), min(cols, width - x0)
                piece = padded[:, y0 : y0 + th + 2 * pad, x0 : x0 + tw + 2 * pad]
                d_in, d_out = _device_buffers(piece.shape, (n_channels, th, tw))
                d_in.copy_to_device(np.ascontiguousarray(piece).reshape(-1))
                grid = (math.ceil(tw / bw), math.ceil(th / bh))
                if timings is not None:
                    begin, end = cuda.event(), cuda.event()
                    begin.record()
                launch = configure(kernel, grid, (bw, bh), shared)
                for c0 in range(0, n_channels, kernels.GROUP):
                    ng = min(kernels.GROUP, n_channels - c0)
                    launch(
                        d_in, piece.shape[1], piece.shape[2], n_channels, c0, ng, f, r,
                        scale, offset, d_out,
                    )  # fmt: skip
                if timings is not None:
                    end.record()
                    end.synchronize()
                    kernel_s += begin.elapsed_time(end) / 1e3
                if th == height and tw == width:
                    d_out.copy_to_host(out)
                else:
                    out[:, y0 : y0 + th, x0 : x0 + tw] = d_out.copy_to_host()
    if timings is not None:
        timings["kernel_s"] = kernel_s
        timings["total_s"] = time.perf_counter() - start
    return out


def configure(kernel, grid, block, shared: int):
    """``kernel[grid, block, 0, shared]`` without numba.cuda's low-occupancy warning.

    A small image needs few blocks, and the warning would reach every CLI user
    whose image is under about 180×180 pixels (and every process, from the
    probe's 1×1 run); the grid already has one thread per output pixel.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=LOW_OCCUPANCY_WARNING)
        return kernel[grid, block, 0, shared]


def _run_tiny() -> None:
    """Compile (or load from Numba's cache) and run both kernels on a 1×1 image."""
    tiny = np.zeros((1, 3, 3), dtype=np.float32)
    for staged in (True, False):
        _launch(tiny, 1, 0, 0.0, 1.0, None, staged, (4, 4), None)
