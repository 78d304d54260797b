"""A small PNG codec for 16-bit images (gray, gray+alpha, RGB, RGBA).

Pillow has no 16-bit color modes: it reads a 16-bit RGB(A) PNG as 8-bit and
cannot write one. This module reads and writes 16-bit PNGs losslessly with
``zlib`` and ``struct`` only, following the PNG specification (ISO/IEC 15948,
W3C PNG 2nd edition): the five scanline filters, Adam7 interlacing on read.
The chunk container (CRC-32, bounded reads) is :mod:`nlmeans.io._png_chunks`,
the eXIf orientation :mod:`nlmeans.io._exif`. 8-bit and palette PNGs stay
with Pillow.
"""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from numba import njit

from .._kernel_cache import ensure_kernel_cache
from ._exif import orient
from ._png_chunks import SIGNATURE, PNGError, chunk, max_compressed, read_header, read_stream

ensure_kernel_cache(__file__)  # before the first cached kernel is defined

#: PNG color type -> samples per pixel (0 gray, 2 RGB, 4 gray+alpha, 6 RGBA).
SAMPLES = {0: 1, 2: 3, 4: 2, 6: 4}
COLOR_TYPE = {samples: color for color, samples in SAMPLES.items()}

# Adam7 passes: (first row, first column, row step, column step).
ADAM7 = (
    (0, 0, 8, 8),
    (0, 4, 8, 8),
    (4, 0, 8, 4),
    (0, 2, 4, 4),
    (2, 0, 4, 2),
    (0, 1, 2, 2),
    (1, 0, 2, 1),
)


@njit(cache=True)
def unfilter(filtered, rows, row_bytes, bpp):  # pragma: no cover - compiled
    """Undo the PNG scanline filters in place; returns the raw rows (rows, row_bytes).

    ``filtered`` holds, per row, one filter-type byte then ``row_bytes`` bytes.
    With x the filtered byte, a the reconstructed byte ``bpp`` to the left, b the
    one above and c above-left (0 outside the image), the raw byte is x plus:
    0 None: 0; 1 Sub: a; 2 Up: b; 3 Average: floor((a + b) / 2);
    4 Paeth: whichever of a, b, c is closest to a + b - c (ties a, then b) — mod 256.
    """
    out = np.zeros((rows, row_bytes), np.uint8)
    for y in range(rows):
        base = y * (row_bytes + 1)
        kind = filtered[base]
        if kind > 4:
            return out, y
        for i in range(row_bytes):
            x = np.int32(filtered[base + 1 + i])
            a = np.int32(out[y, i - bpp]) if i >= bpp else 0
            b = np.int32(out[y - 1, i]) if y > 0 else 0
            c = np.int32(out[y - 1, i - bpp]) if (y > 0 and i >= bpp) else 0
            if kind == 1:
                x += a
            elif kind == 2:
                x += b
            elif kind == 3:
                x += (a + b) // 2
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                if pa <= pb and pa <= pc:
                    x += a
                elif pb <= pc:
                    x += b
                else:
                    x += c
            out[y, i] = np.uint8(x & 255)
    return out, -1


def decode(source, max_pixels: int | None = None, *, oriented: bool = False) -> np.ndarray:
    """Decode a 16-bit PNG into a uint16 array (H, W) or (H, W, C).

    ``source`` is the file's bytes or a binary file opened at its start (read
    in bounded blocks, see :func:`~nlmeans.io._png_chunks.read_stream`). ``max_pixels``, when given,
    refuses larger declared sizes before any decompression. ``oriented``
    applies an eXIf chunk's orientation (as Pillow does for 8-bit PNGs).
    Raises :class:`PNGError` for anything malformed or truncated.
    """
    handle = io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else source
    head = handle.read(33)
    width, height, depth, color, interlace = read_header(head)
    if zlib.crc32(head[12:29]) != struct.unpack(">I", head[29:33])[0]:
        raise PNGError("file is corrupt (CRC mismatch in the IHDR chunk)")
    if depth != 16 or color not in SAMPLES:
        raise PNGError(f"not a 16-bit gray/RGB PNG (bit depth {depth}, color type {color})")
    if max_pixels is not None and width * height > max_pixels:
        raise PNGError(f"declares {width}x{height} pixels, more than the limit {max_pixels}")
    samples = SAMPLES[color]
    bpp = 2 * samples
    passes = ADAM7 if interlace == 1 else ((0, 0, 1, 1),)
    sizes = []
    for y0, x0, dy, dx in passes:
        rows, cols = -(-(height - y0) // dy), -(-(width - x0) // dx)
        sizes.append((rows, cols) if rows > 0 and cols > 0 else (0, 0))
    expected = sum(rows * (1 + cols * bpp) for rows, cols in sizes)
    raw, orientation = read_stream(handle, expected, max_compressed(width, height, depth, color))
    filtered = np.frombuffer(raw, np.uint8)
    image = np.empty((height, width, samples), np.uint16)
    offset = 0
    for (y0, x0, dy, dx), (rows, cols) in zip(passes, sizes, strict=True):
        if rows == 0:
            continue
        size = rows * (1 + cols * bpp)
        plane, bad_row = unfilter(filtered[offset : offset + size], rows, cols * bpp, bpp)
        if bad_row >= 0:
            raise PNGError(f"file is corrupt (unknown filter type in row {bad_row})")
        offset += size
        image[y0::dy, x0::dx] = plane.view(">u2").reshape(rows, cols, samples)
    image = image[..., 0] if samples == 1 else image
    return orient(image, orientation) if oriented else image


def encode(image: np.ndarray) -> bytes:
    """Encode a uint16 (H, W) or (H, W, C) array, C in 1..4, as a 16-bit PNG.

    Rows use the Up filter (byte minus the byte above, mod 256), which is a
    single vectorised subtraction and compresses smooth images well.
    """
    if image.dtype != np.uint16:
        raise PNGError(f"expected a uint16 array, got {image.dtype}")
    pixels = image[..., np.newaxis] if image.ndim == 2 else image
    height, width, samples = pixels.shape
    raw = (
        np.ascontiguousarray(pixels, dtype=">u2")
        .view(np.uint8)
        .reshape(height, width * 2 * samples)
    )
    rows = np.empty((height, 1 + raw.shape[1]), np.uint8)
    rows[:, 0] = 2  # Up
    rows[:, 1:] = raw
    rows[1:, 1:] -= raw[:-1]  # uint8 arithmetic wraps mod 256
    header = struct.pack(">IIBBBBB", width, height, 16, COLOR_TYPE[samples], 0, 0, 0)
    return (
        SIGNATURE
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows.tobytes(), 4))
        + chunk(b"IEND", b"")
    )
