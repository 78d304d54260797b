"""Processing one file of a batch: the steps every runner shares.

Check the output's format and the pixels, denoise through the public
:func:`nlmeans.denoise` (per-picture options: time axes, chrominance), and
(:func:`process_item`, a task of the distributed runner) read and write in
one go, with the same failure reasons as the local runner.
"""

from __future__ import annotations

import os
import time

from .._denoise import denoise
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
from ..params import Params
from ._discovery import check_inside
from ._records import DONE, FAILED, SKIPPED, Item, ItemResult
from ._same_params import ParamsSource


def reason_of(error: BaseException) -> str:
    """The one-line reason of a failure, without the path the report already shows."""
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


def _options_for(picture, options: dict) -> dict:
    """``options`` for this picture: only 3-channel ones have chrominance (h_chroma); a
    time axis gets its default radii (:func:`nlmeans.io._axes.radii_for_axes`)."""
    f, r = radii_for_axes(picture.layout, options.get("f"), options.get("r"))
    options = {**options, "f": f, "r": r}
    rgb = picture.channels - (picture.alpha is not None) == 3
    if rgb or options.get("h_chroma") is None:
        return options
    return {**options, "h_chroma": None}


def denoise_picture(item: Item, picture, options: dict, replaces_input: bool):
    """The per-file step every batch path shares: check, denoise, make the output folder.

    Refuses an output that would replace an input (``replaces_input``) or that
    its format cannot store, and non-finite pixels, before computing anything.
    Returns ``(denoised pixels, Params)``; raises NLMeansError or OSError.
    """
    if replaces_input:
        raise ImageFileError(item.target, "output would replace an input file")
    # Refuse what the output format cannot store before computing it.
    check_picture_format(item.target, picture)
    require_finite(item.source, picture.pixels)
    result, params = denoise(
        picture.pixels,
        channel_axis=picture.channel_axis,
        return_params=True,
        **_options_for(picture, options),
    )
    check_inside(item)
    item.target.parent.mkdir(parents=True, exist_ok=True)
    return result, params


def fixed_options(options: dict, params: Params) -> dict:
    """``options`` with the resolved (or tuned) ``params`` fixed, for ``same_params``."""
    fixed = {"h": params.h, "sigma": params.sigma, "f": params.f, "r": params.r}
    fixed.update(h_chroma=params.h_chroma, method=params.method, tune=False)
    model = params.noise_model
    if model is not None:  # the stabilised image's sigma is 1: fix the model instead
        fixed.update(sigma=None, gain=model.gain, read_noise=model.read_noise, offset=model.offset)
    return {**options, **fixed}


def process_item(
    item: Item,
    options: dict,
    replaces_input: bool,
    overwrite: bool = False,
    axes: str | None = None,
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
        picture = read_image(item.source, axes)
        if source is not None:
            source.check(picture)
        result, params = denoise_picture(item, picture, options, replaces_input)
        write_image(
            item.target, picture.with_pixels(result), replace=overwrite, like=picture, codec=codec
        )
    except OutputExistsError:
        return ItemResult(item, SKIPPED, "output exists", time.perf_counter() - start)
    except (NLMeansError, OSError) as error:
        return ItemResult(item, FAILED, reason_of(error), time.perf_counter() - start)
    return ItemResult(item, DONE, None, time.perf_counter() - start, params, picture.layout)
