"""A small PNG codec for 16-bit images (gray, gray+alpha, RGB, RGBA).

Pillow has no 16-bit color modes: it reads a 16-bit RGB(A) PNG as 8-bit and
cannot write one. This module reads and writes 16-bit PNGs losslessly with
``zlib`` and ``struct`` only, following the PNG specification (ISO/IEC 15948,
W3C PNG 2nd edition): chunks with CRC-32, the five scanline filters, Adam7
interlacing on read. 8-bit and palette PNGs stay with Pillow.
"""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from numba import njit

from .._kernel_cache import ensure_kernel_cache

ensure_kernel_cache(__file__)  # before the first cached kernel is defined

SIGNATURE = b"\x89PNG\r\n\x1a\n"

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


class PNGError(ValueError):
    """A PNG file that is malformed, truncated or of a kind this codec does not read."""


def read_header(data: bytes) -> tuple[int, int, int, int, int]:
    """``(width, height, bit_depth, color_type, interlace)`` from a PNG's IHDR chunk."""
    if data[:8] != SIGNATURE:
        raise PNGError("not a PNG file (bad signature)")
    if len(data) < 33:
        raise PNGError("file is truncated (no complete header)")
    length, kind = struct.unpack(">I4s", data[8:16])
    if kind != b"IHDR" or length != 13:
        raise PNGError("malformed PNG (first chunk is not IHDR)")
    width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", data[16:29])
    if width == 0 or height == 0:
        raise PNGError(f"malformed PNG (declares {width}x{height} pixels)")
    return width, height, depth, color, interlace


#: Largest chunk length the PNG specification allows (2^31 - 1).
MAX_CHUNK_LENGTH = 2**31 - 1

#: Compressed bytes read (and inflated) at a time: memory stays bounded by the
#: declared image size, whatever the chunk lengths say.
READ_BLOCK = 1 << 20

#: Most chunks walked before the image data ends: real files have a few dozen.
MAX_CHUNKS = 10_000

#: Largest eXIf chunk read for the orientation; a longer one is skipped unread.
MAX_EXIF_BYTES = 1 << 20


def chunks(data: bytes):
    """Yield ``(kind, payload)`` for each chunk, checking lengths and CRCs."""
    position = 8
    while True:
        if position + 8 > len(data):
            raise PNGError("file is truncated (no IEND chunk)")
        length, kind = struct.unpack(">I4s", data[position : position + 8])
        end = position + 8 + length
        if end + 4 > len(data):
            raise PNGError(f"file is truncated (inside a {kind.decode('latin-1')} chunk)")
        payload = data[position + 8 : end]
        (crc,) = struct.unpack(">I", data[end : end + 4])
        if zlib.crc32(kind + payload) != crc:
            raise PNGError(f"file is corrupt (CRC mismatch in a {kind.decode('latin-1')} chunk)")
        yield kind, payload
        if kind == b"IEND":
            return
        position = end + 4


def exif_orientation(payload: bytes) -> int:
    """The orientation (1-8, tag 0x0112 of IFD0) of an eXIf chunk's TIFF-structured
    payload; 1 (as stored) when absent or unreadable."""
    if payload.startswith(b"Exif\x00\x00"):
        payload = payload[6:]
    order = {b"II": "<", b"MM": ">"}.get(payload[:2])
    if order is None or len(payload) < 8:
        return 1
    (ifd,) = struct.unpack_from(order + "I", payload, 4)
    if ifd + 2 > len(payload):
        return 1
    (count,) = struct.unpack_from(order + "H", payload, ifd)
    for k in range(count):
        at = ifd + 2 + 12 * k
        if at + 12 > len(payload):
            break
        tag, kind, values = struct.unpack_from(order + "HHI", payload, at)
        if tag == 0x0112 and kind == 3 and values == 1:
            (value,) = struct.unpack_from(order + "H", payload, at + 8)
            return value if 1 <= value <= 8 else 1
    return 1


def orient(image: np.ndarray, orientation: int) -> np.ndarray:
    """``image`` (H, W, ...) as displayed under an EXIF ``orientation`` (1-8).

    The same transposition Pillow's ``ImageOps.exif_transpose`` applies to 8-bit
    images: 2 mirror, 3 half turn, 4 flip, 5 transpose, 6 quarter turn
    clockwise, 7 transverse, 8 quarter turn counter-clockwise.
    """
    if orientation == 2:
        return image[:, ::-1]
    if orientation == 3:
        return image[::-1, ::-1]
    if orientation == 4:
        return image[::-1]
    if orientation == 5:
        return image.swapaxes(0, 1)
    if orientation == 6:
        return np.rot90(image, -1)
    if orientation == 7:
        return np.rot90(image, 2).swapaxes(0, 1)
    if orientation == 8:
        return np.rot90(image, 1)
    return image


def max_compressed(width: int, height: int, depth: int, color: int) -> int:
    """Most IDAT bytes an image of this header can need: its filtered rows (Adam7's
    extra rows included) stored uncompressed, zlib's block overhead and 1 MiB to spare.
    A longer IDAT run is corrupt, and is refused before it is read."""
    samples = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}.get(color, 4)
    raw = (height + 7) * (8 + (width * samples * max(depth, 1) + 7) // 8)
    return raw + raw // 16_000 * 5 + 2**20


class _Reader:
    """Exact reads from a binary file, with a clear error when it ends early."""

    def __init__(self, handle):
        self.handle = handle
        self.chunks = 0
        self.data = 0

    def count_data(self, length: int, limit: int | None) -> None:
        """Add an IDAT chunk's length; PNGError past ``limit`` (before reading it)."""
        self.data += length
        if limit is not None and self.data > limit:
            raise PNGError(
                f"file is corrupt (image data of more than {limit} bytes, "
                "longer than the declared size can need)"
            )

    def chunk_head(self, head: bytes) -> tuple[int, bytes, str]:
        """(length, type, printable type) of a chunk header, checked: the type is four
        ASCII letters (zero padding is not a chunk), the length at most 2^31 - 1, and
        at most :data:`MAX_CHUNKS` chunks are walked."""
        length, kind = struct.unpack(">I4s", head)
        name = kind.decode("latin-1")
        self.chunks += 1
        if not kind.isalpha() or not kind.isascii():
            raise PNGError(f"file is corrupt (not a chunk type: {name!r})")
        if length > MAX_CHUNK_LENGTH:
            raise PNGError(f"file is corrupt (a {name!r} chunk declares {length} bytes)")
        if self.chunks > MAX_CHUNKS:
            raise PNGError(f"file is corrupt (more than {MAX_CHUNKS} chunks)")
        return length, kind, name

    def read(self, size: int, what: str) -> bytes:
        data = self.handle.read(size)
        if len(data) != size:
            raise PNGError(f"file is truncated ({what})")
        return data

    def skip(self, size: int) -> None:
        self.handle.seek(size, 1)


def _read_stream(handle, expected: int, limit: int | None = None) -> tuple[bytearray, int]:
    """Inflate the IDAT stream of an open PNG (after its header) into exactly
    ``expected`` bytes; also returns the EXIF orientation (1 if none).

    Reads chunk by chunk, compressed data in blocks of :data:`READ_BLOCK`,
    checking each chunk's CRC, and stops as soon as all the image data has
    been inflated and its last IDAT chunk checked, whatever follows (IEND or
    not: the rule for every PNG, 8-bit ones through Pillow included, is that a
    file is accepted when all its image data is present and intact). Never
    reads a whole file into memory and never inflates past ``expected``: a
    40x50 image padded with 100 GB reads a few kilobytes.
    """
    reader = _Reader(handle)
    inflater = zlib.decompressobj()
    raw = bytearray(expected)
    produced = 0
    orientation = 1
    seen_data = False
    while produced < expected:
        head = handle.read(8)
        if len(head) < 8:
            what = "image data ends early" if seen_data else "no image data"
            raise PNGError(f"file is truncated ({what})")
        length, kind, name = reader.chunk_head(head)
        if kind == b"IEND":
            raise PNGError("file is truncated (image data ends early)")
        if kind == b"IDAT":
            seen_data = True
            reader.count_data(length, limit)
            crc = zlib.crc32(kind)
            left = length
            broken = None  # a zlib error, reported after the CRC (which says more)
            while left:
                block = reader.read(min(left, READ_BLOCK), f"inside an {name} chunk")
                left -= len(block)
                crc = zlib.crc32(block, crc)
                if produced < expected and not inflater.eof and broken is None:
                    try:
                        # Input held back by the limit stays in unconsumed_tail:
                        # data past the declared size is never inflated.
                        out = inflater.decompress(block, expected - produced)
                    except zlib.error as error:
                        broken = error
                        continue
                    raw[produced : produced + len(out)] = out
                    produced += len(out)
            (stored,) = struct.unpack(">I", reader.read(4, f"inside an {name} chunk"))
            if stored != crc:
                raise PNGError(f"file is corrupt (CRC mismatch in an {name} chunk)")
            if broken is not None:
                raise PNGError(f"file is corrupt (compressed data: {broken})")
            if inflater.eof and produced < expected:
                raise PNGError("file is truncated (image data ends early)")
        elif seen_data:
            raise PNGError("file is truncated (image data ends early)")
        elif kind == b"eXIf" and length <= MAX_EXIF_BYTES:
            payload = reader.read(length, f"inside an {name} chunk")
            (stored,) = struct.unpack(">I", reader.read(4, f"inside an {name} chunk"))
            if stored != zlib.crc32(kind + payload):
                raise PNGError(f"file is corrupt (CRC mismatch in an {name} chunk)")
            orientation = exif_orientation(payload)
        elif kind[0] & 0x20 or kind == b"PLTE":  # ancillary (or a suggested palette)
            reader.skip(length + 4)
        else:
            raise PNGError(f"file is corrupt (unexpected critical chunk {name!r})")
    return raw, orientation


def check_image_chunks(handle, limit: int | None = None) -> None:
    """Check the chunk structure of a PNG of any bit depth, opened at its start.

    Walks the chunks up to the end of the IDAT run (ancillary chunks skipped
    unread) and checks that every IDAT chunk is complete with a matching CRC,
    in bounded reads. Used before Pillow decodes an 8-bit PNG, so that 8- and
    16-bit files follow one rule: accepted when all the image data is present
    and intact, with or without the chunks after it (IEND). ``limit`` bounds the
    IDAT bytes (:func:`max_compressed`). Raises PNGError.
    """
    reader = _Reader(handle)
    handle.seek(33)
    seen_data = False
    while True:
        head = handle.read(8)
        if len(head) < 8:
            if seen_data:
                return
            raise PNGError("file is truncated (no image data)")
        if seen_data and head[4:] != b"IDAT":
            return
        length, kind, name = reader.chunk_head(head)
        if kind != b"IDAT":
            if kind == b"IEND":
                raise PNGError("file is truncated (no image data)")
            reader.skip(length + 4)
            continue
        seen_data = True
        reader.count_data(length, limit)
        crc = zlib.crc32(kind)
        left = length
        while left:
            block = reader.read(min(left, READ_BLOCK), "image data ends early")
            left -= len(block)
            crc = zlib.crc32(block, crc)
        (stored,) = struct.unpack(">I", reader.read(4, "image data ends early"))
        if stored != crc:
            raise PNGError(f"file is corrupt (CRC mismatch in an {name} chunk)")


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
    in bounded blocks, see :func:`_read_stream`). ``max_pixels``, when given,
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
    raw, orientation = _read_stream(handle, expected, max_compressed(width, height, depth, color))
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


def _chunk(kind: bytes, payload: bytes) -> bytes:
    return (
        struct.pack(">I", len(payload))
        + kind
        + payload
        + struct.pack(">I", zlib.crc32(kind + payload))
    )


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
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(rows.tobytes(), 4))
        + _chunk(b"IEND", b"")
    )
