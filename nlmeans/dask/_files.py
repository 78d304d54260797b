"""Chunked files: a ``.zarr`` array or a TIFF denoised into a ``.zarr`` array, streaming."""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path

from ..errors import NLMeansError
from ..io import same_file
from ..io._zarr import DEFAULT_CHUNK, is_zarr, open_lazy, write_zarr
from ..params import Params
from ._chunked import denoise


def denoise_file(
    input_path,
    output_path,
    *,
    chunk: int = DEFAULT_CHUNK,
    channel_axis: int | None = None,
    overwrite: bool = False,
    progress=None,
    **options,
) -> tuple[Params, float]:
    """Denoise a ``.zarr`` array or a TIFF into the ``.zarr`` array ``output_path``, streaming.

    The input is read lazily in chunks of ``chunk`` pixels per spatial axis
    (:func:`nlmeans.io._zarr.open_lazy`), denoised by :func:`denoise` with
    ``options`` and written chunk by chunk, atomically
    (:func:`nlmeans.io._zarr.write_zarr`, which stores the parameters in the
    array's attributes under "nlmeans"). Memory holds a few chunks per Dask
    thread, not the image. Returns the parameters and the seconds it took.
    """
    input_path, output_path = Path(input_path), Path(output_path)
    if not is_zarr(output_path):
        raise NLMeansError(
            f"{output_path}: a chunked input is written as .zarr; give -o OUTPUT.zarr"
        )
    if output_path.exists() and not overwrite:
        raise NLMeansError(f"{output_path}: already exists; pass --overwrite to replace it")
    if same_file(output_path, input_path):
        raise NLMeansError(f"{output_path}: output path is the input; choose another -o")
    start = time.perf_counter()
    image = open_lazy(input_path, chunk, channel_axis)
    result, params = denoise(
        image.pixels, channel_axis=image.channel_axis, return_params=True, **options
    )
    attributes = {"nlmeans": asdict(params)}
    write_zarr(
        image.with_pixels(result),
        output_path,
        overwrite=overwrite,
        attributes=attributes,
        progress=progress,
    )
    return params, time.perf_counter() - start
