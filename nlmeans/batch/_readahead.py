"""The local batch's read-ahead: what it keeps of an input while its output is written.

The local runner reads the next file while one is denoised and the previous
output is written. The writer gets the previous input as a pixel-less record
(:func:`without_pixels`), so at most two inputs are held at a time: the one
being denoised and the one being read.
"""

from __future__ import annotations

import dataclasses

import numpy as np


def without_pixels(picture):
    """``picture`` with a placeholder of its pixels' shape and dtype that takes no memory.

    What the writer needs to know of the input (axes, alpha, metadata), without
    holding the input's pixels while its output is written and the next file is
    read: the batch then holds at most two inputs at a time.
    """
    placeholder = np.broadcast_to(np.zeros((), picture.pixels.dtype), picture.pixels.shape)
    return dataclasses.replace(picture, pixels=placeholder)
