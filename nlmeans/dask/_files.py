"""Chunked files: a ``.zarr`` array or a TIFF denoised into a ``.zarr`` array, streaming."""

from __future__ import annotations

import time
from dataclasses import asdict, replace
from pathlib import Path

from .._request import Request
from ..errors import NLMeansError
from ..io import same_file
from ..io._zarr import is_zarr, open_lazy, write_zarr
from ..params import Params
from ._chunked import denoise_request
from ._sampling import DEFAULT_SAMPLE_CHUNKS


def denoise_file(
    input_path,
    output_path,
    request: Request | None = None,
    *,
    overwrite: bool = False,
    progress=None,
    final: bool = False,
    **options,
) -> tuple[Params, float]:
    """Denoise a ``.zarr`` array or a TIFF into the ``.zarr`` array ``output_path``, streaming.

    The input is read lazily in chunks of ``request.chunks`` pixels per spatial
    axis (:func:`nlmeans.io._zarr.open_lazy`; its channels where
    ``request.channel_axis`` says, or guessed for "auto"), denoised by
    :func:`denoise` with ``request`` and written chunk by chunk, atomically
    (:func:`nlmeans.io._zarr.write_zarr`, which stores the parameters in the
    array's attributes under "nlmeans"). Memory holds a few chunks per Dask
    thread, not the image. Returns the parameters and the seconds it took.

    Parameters
    ----------
    input_path, output_path : path
        The ``.zarr`` array or TIFF to read, the ``.zarr`` array to write.
    request : Request, optional
        The choices (:class:`nlmeans.Request`); without one, ``options``
        are its fields as keywords (``chunk=`` names ``chunks``).
    overwrite : bool
        Replace an existing output.
    progress : callable, optional
        A Dask callback (e.g. its ``ProgressBar``) while the chunks are written.
    final : bool
        Whether the store is a command's last output: Ctrl-C and SIGTERM are
        then held from its rename to the end of the process (for command-line
        tools; :func:`nlmeans.io.write_image` takes the same flag).
    **options
        The fields of a Request, when ``request`` is not given.

    Returns
    -------
    (Params, float)
        The parameters used and the seconds the run took.
    """
    if request is None:
        if "chunk" in options:
            options["chunks"] = options.pop("chunk")
        request = Request(**options)
    elif options:
        raise NLMeansError(f"give the choices in request= or as keywords, not both ({options})")
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
    axis = None if request.channel_axis == "auto" else request.channel_axis
    image = open_lazy(input_path, request.chunks, axis)
    result, params = denoise_request(
        image.pixels, replace(request, channel_axis=image.channel_axis), return_params=True,
        sample_chunks=DEFAULT_SAMPLE_CHUNKS,
    )  # fmt: skip
    attributes = {"nlmeans": asdict(params)}
    write_zarr(
        image.with_pixels(result),
        output_path,
        overwrite=overwrite,
        attributes=attributes,
        progress=progress,
        final=final,
    )
    return params, time.perf_counter() - start
