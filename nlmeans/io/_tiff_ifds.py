"""The bounded walk of a TIFF's chain of image file directories (IFDs).

Run before tifffile parses anything (:mod:`nlmeans.io._tiff`): loops, offsets
past the end of the file, more pages than the file has room for and tags
declaring huge values are refused in a few reads.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Most IFDs (pages) walked in a TIFF before it is refused: a stack of a few hundred
#: thousand planes (a long time-lapse) passes; a longer chain is a corrupt file. The
#: walk also stops at one page per :data:`TIFF_MIN_PAGE_BYTES` of the file.
TIFF_MAX_IFDS = 300_000

#: Bytes a real TIFF page takes at least (an IFD of 4 required tags is 54 bytes, plus
#: its pixels): a chain of more pages than the file has room for is corrupt.
TIFF_MIN_PAGE_BYTES = 32

#: Largest value of one TIFF tag (bytes) read: strip/tile tables of huge images stay
#: far below it; a tag declaring more is corrupt (and tifffile would allocate it).
TIFF_MAX_TAG_BYTES = 64 * 1024**2

# TIFF field type -> bytes per value (TIFF 6.0 and BigTIFF types).
_TIFF_TYPE_SIZES = {
    1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8,
    11: 4, 12: 8, 13: 4, 16: 8, 17: 8, 18: 8,
}  # fmt: skip

#: NewSubfileType (tag 254) bits of a page that is not a main image: bit 0 reduced
#: resolution (thumbnail, pyramid level), bit 2 transparency mask.
_NOT_MAIN = 0b101


@dataclass(frozen=True)
class TiffIFD:
    """One image file directory (page) of a TIFF: where it starts and what kind it is."""

    offset: int
    subfiletype: int

    @property
    def main(self) -> bool:
        """A main image, not a reduced-resolution copy or a transparency mask."""
        return not self.subfiletype & _NOT_MAIN


def walk_tiff_ifds(handle, size: int) -> list[TiffIFD]:
    """Walk the chain of IFDs of a TIFF, checked before tifffile parses anything.

    Follows the next-IFD offsets from the header with a set of visited
    offsets and at most :data:`TIFF_MAX_IFDS` steps (and one per
    :data:`TIFF_MIN_PAGE_BYTES` of the file), and checks that every
    directory and every tag value lies inside the file (``size`` bytes) and is
    at most :data:`TIFF_MAX_TAG_BYTES`. So a chain pointing back to an earlier
    IFD, an offset past the end or a tag declaring billions of values is
    refused with :class:`ValueError` in a few reads, never followed.

    Returns the IFDs in file order with their NewSubfileType (tag 254; the
    old SubfileType tag 255 value 2, reduced resolution, maps to bit 0).

    Parameters
    ----------
    handle : binary file
        The TIFF, opened for reading.
    size : int
        The file's size in bytes.
    """
    import struct

    handle.seek(0)
    head = handle.read(16)
    order = {b"II": "<", b"MM": ">"}.get(head[:2])
    if order is None or len(head) < 8:
        raise ValueError("not a TIFF header")
    (version,) = struct.unpack(order + "H", head[2:4])
    if version == 42:
        offset_format, count_format, entry_size, first_at = "I", "H", 12, 4
    elif version == 43 and len(head) >= 16:
        offset_format, count_format, entry_size, first_at = "Q", "Q", 20, 8
    else:
        raise ValueError(f"unknown TIFF version {version}")
    offset_size = struct.calcsize(offset_format)
    count_size = struct.calcsize(count_format)
    (offset,) = struct.unpack_from(order + offset_format, head, first_at)
    ifds: list[TiffIFD] = []
    visited: set[int] = set()
    most = min(TIFF_MAX_IFDS, max(1, size // TIFF_MIN_PAGE_BYTES))
    while offset:
        if offset in visited:
            raise ValueError(f"IFD chain loops back to offset {offset}")
        if len(ifds) >= most:
            room = "" if most == TIFF_MAX_IFDS else f" for a file of {size} bytes"
            raise ValueError(f"more than {most} pages{room} (or a corrupt IFD chain)")
        visited.add(offset)
        if offset + count_size > size:
            raise ValueError(f"IFD offset {offset} is past the end of the file ({size} bytes)")
        handle.seek(offset)
        (count,) = struct.unpack(order + count_format, handle.read(count_size))
        table = count * entry_size
        if count == 0 or offset + count_size + table + offset_size > size:
            raise ValueError(f"IFD at offset {offset} with {count} entries does not fit the file")
        entries = handle.read(table)
        (next_offset,) = struct.unpack(order + offset_format, handle.read(offset_size))
        subfiletype = 0
        for start in range(0, table, entry_size):
            code, kind = struct.unpack_from(order + "HH", entries, start)
            (values,) = struct.unpack_from(order + offset_format, entries, start + 4)
            value_at = start + 4 + offset_size  # the value itself, or where it is
            nbytes = values * _TIFF_TYPE_SIZES.get(kind, 1)
            if nbytes > TIFF_MAX_TAG_BYTES:
                raise ValueError(f"tag {code} declares {values} values")
            if nbytes > offset_size:  # stored elsewhere: the value must lie in the file
                (where,) = struct.unpack_from(order + offset_format, entries, value_at)
                if where + nbytes > size:
                    raise ValueError(f"tag {code} points past the end of the file")
            elif code in (254, 255) and values == 1:
                value_format = {3: "H", 4: "I", 16: "Q"}.get(kind)
                if value_format:
                    (value,) = struct.unpack_from(order + value_format, entries, value_at)
                    subfiletype |= value if code == 254 else (1 if value == 2 else 0)
        ifds.append(TiffIFD(offset, subfiletype))
        offset = next_offset
    if not ifds:
        raise ValueError("no image directory (IFD)")
    return ifds
