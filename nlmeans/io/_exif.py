"""EXIF orientation: where a stored image's top-left corner is displayed.

Reads tag 0x0112 (Orientation) of IFD0 in a TIFF-structured EXIF payload, and
applies it to an array the way image viewers (and Pillow's
``ImageOps.exif_transpose``) do.
"""

from __future__ import annotations

import struct

import numpy as np


def exif_orientation(payload: bytes) -> int:
    """Read the orientation (1-8, tag 0x0112 of IFD0) of a TIFF-structured eXIf payload.

    1 (as stored) when absent or unreadable.
    """
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
    """Return ``image`` (H, W, ...) as displayed under an EXIF ``orientation`` (1-8).

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
