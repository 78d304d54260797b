"""Processing one file of a batch: the steps every runner shares.

Check the output's format and the pixels, denoise through the core
:func:`nlmeans._denoise.denoise_request` (the request per picture: time axes, chrominance), and
(:func:`process_item`, a task of the distributed runner) read and write in
one go, with the same failure reasons as the local runner.
"""

from __future__ import annotations

import os
import time
from dataclasses import replace

from .._denoise import denoise_request
from .._request import Request
from ..errors import NLMeansError
from ..io import (
    ImageFileError,
    OutputExistsError,
    check_picture_format,
    read_image,
    require_finite,
    write_image,
)
from ..io._axes import radii_for_axes
from ._discovery import check_inside
from ._records import DONE, FAILED, SKIPPED, Item, ItemResult
from ._same_params import ParamsSource


def reason_of(error: BaseException) -> str:
    """Return the one-line reason of a failure, without the path the report already shows."""
    if isinstance(error, ImageFileError):
        return error.problem
    if isinstance(error, OSError):
        return error.strerror or str(error)
    if isinstance(error, MemoryError):
        return "out of memory (MemoryError): the file needs more memory than this process may use"
    if not isinstance(error, NLMeansError):  # not anticipated: named as such, the batch goes on
        detail = " ".join(str(error).split()) or "no message"
        return f"internal error: {type(error).__name__}: {detail}"
    return str(error)


def request_for(picture, request: Request) -> Request:
    """Return ``request`` for this picture, with its channel axis.

    Only 3-channel pictures have chrominance (h_chroma); a time axis gets its
    default radii (:func:`nlmeans.io._axes.radii_for_axes`).
    """
    f, r = radii_for_axes(picture.layout, request.f, request.r)
    rgb = picture.channels - (picture.alpha is not None) == 3
    h_chroma = request.h_chroma if rgb else None
    return replace(request, f=f, r=r, h_chroma=h_chroma, channel_axis=picture.channel_axis)


def denoise_picture(item: Item, picture, request: Request, replaces_input: bool):
    """Return the per-file step every batch path shares: check, denoise, make the output folder.

    Refuses an output that would replace an input (``replaces_input``) or that
    its format cannot store, and non-finite pixels, before computing anything.
    Returns ``(denoised pixels, Params)``; raises NLMeansError or OSError.
    """
    if replaces_input:
        raise ImageFileError(item.target, "output would replace an input file")
    # Refuse what the output format cannot store before computing it.
    check_picture_format(item.target, picture)
    require_finite(item.source, picture.pixels)
    result, params = denoise_request(
        picture.pixels, request_for(picture, request), return_params=True
    )
    check_inside(item)
    item.target.parent.mkdir(parents=True, exist_ok=True)
    return result, params


def process_item(
    item: Item,
    request: Request,
    replaces_input: bool,
    overwrite: bool = False,
    codec: str | None = None,
    source: ParamsSource | None = None,
) -> ItemResult:
    """Read, denoise and write one file in one go: a task of the distributed batch.

    The same steps as :func:`run_batch` (:func:`denoise_picture`, then the atomic
    :func:`nlmeans.io.write_image`), with the same failure reasons; without
    ``overwrite`` an output that appeared meanwhile is never replaced (skipped).
    With ``source`` (``--same-params``) a file of other spatial axes fails before any
    denoising (:class:`~nlmeans.batch._same_params.ParamsSource`).
    """
    start = time.perf_counter()
    try:
        if not overwrite and os.path.lexists(item.target):
            return ItemResult(item, SKIPPED, "output exists")
        picture = read_image(item.source, request.axes)
        if source is not None:
            source.check(picture)
        result, params = denoise_picture(item, picture, request, replaces_input)
        write_image(
            item.target, picture.with_pixels(result), replace=overwrite, like=picture, codec=codec
        )
    except OutputExistsError:
        return ItemResult(item, SKIPPED, "output exists", time.perf_counter() - start)
    except (NLMeansError, OSError) as error:
        return ItemResult(item, FAILED, reason_of(error), time.perf_counter() - start)
    return ItemResult(item, DONE, None, time.perf_counter() - start, params, picture.layout)
