"""The PNG container: signature, header, and the chunk walk with its limits.

A PNG is an 8-byte signature then chunks (length, four-letter type, payload,
CRC-32 of type and payload), IHDR first and IEND last (ISO/IEC 15948, W3C PNG
2nd edition). This module reads the header, walks the chunks of an open file
in bounded reads (checking types, lengths and CRCs, stopping at the end of the
image data) and writes chunks; :mod:`nlmeans.io._png16` decodes the pixels.
"""

from __future__ import annotations

import struct
import zlib

from ._exif import exif_orientation

SIGNATURE = b"\x89PNG\r\n\x1a\n"


class PNGError(ValueError):
    """A PNG file that is malformed, truncated or of a kind this codec does not read."""


def read_header(data: bytes) -> tuple[int, int, int, int, int]:
    """Read ``(width, height, bit_depth, color_type, interlace)`` from a PNG's IHDR chunk."""
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


def max_compressed(width: int, height: int, depth: int, color: int) -> int:
    """Return the most IDAT bytes an image of this header can need.

    Its filtered rows (Adam7's extra rows included) stored uncompressed, zlib's block
    overhead and 1 MiB to spare. A longer IDAT run is corrupt, and is refused before it
    is read.
    """
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
        """Return (length, type, printable type) of a chunk header, checked.

        The type is four ASCII letters (zero padding is not a chunk), the length at
        most 2^31 - 1, and at most :data:`MAX_CHUNKS` chunks are walked.
        """
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


def read_stream(handle, expected: int, limit: int | None = None) -> tuple[bytearray, int]:
    """Inflate the IDAT stream of an open PNG (after its header) into ``expected`` bytes.

    Also returns the EXIF orientation (1 if none).

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


def chunk(kind: bytes, payload: bytes) -> bytes:
    """One chunk: length, ``kind``, ``payload`` and the CRC-32 of kind and payload."""
    return (
        struct.pack(">I", len(payload))
        + kind
        + payload
        + struct.pack(">I", zlib.crc32(kind + payload))
    )
