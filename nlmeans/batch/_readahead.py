"""The local batch's read-ahead: what it keeps of an input while its output is written.

The local runner reads the next file while one is denoised and the previous
output is written. The writer gets the previous input as a pixel-less record
(:func:`without_pixels`), so at most two inputs are held at a time: the one
being denoised and the one being read. The read of the next file leaves room,
in its memory checks, for what the denoise of the current one will still take
(:func:`read_beside`); a file that fits only once that denoise is done is read
then, not refused.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .._interrupts import reraise_interrupt
from .._memory import beside, processing_bytes

#: What :func:`read_beside` returns for a file to read again once the denoise is done.
READ_LATER = object()


def without_pixels(picture):
    """``picture`` with a placeholder of its pixels' shape and dtype that takes no memory.

    What the writer needs to know of the input (axes, alpha, metadata), without
    holding the input's pixels while its output is written and the next file is
    read: the batch then holds at most two inputs at a time.
    """
    placeholder = np.broadcast_to(np.zeros((), picture.pixels.dtype), picture.pixels.shape)
    return dataclasses.replace(picture, pixels=placeholder)


def read_beside(read, path, picture):
    """Read ``path`` with ``read`` while ``picture`` is denoised, leaving room for that.

    The read's memory checks count what processing ``picture`` (None: nothing)
    will still take (:func:`nlmeans._memory.processing_bytes`). Returns the
    read picture, or :data:`READ_LATER` when a check refused it only because
    of that room: read it again once the denoise is done.
    """
    if picture is None:
        return read(path)
    pixels = picture.pixels
    with beside(processing_bytes(pixels.shape, picture.layout, pixels.dtype.itemsize)) as refused:
        try:
            return read(path)
        except Exception as error:
            reraise_interrupt(error)
            if refused:
                return READ_LATER
            raise
