"""``nlmeans denoise``: one image file in, its denoised copy out."""

from __future__ import annotations

import contextlib
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from .._request import DEFAULT_CHUNK, Request
from ._app import HelpCommand, app
from ._common import prepare_backend, print_json
from ._maps import CoilsOption, MaskOption, SigmaMapOption, read_maps, warm_mapped
from ._options import (
    AxesOption,
    BackendOption,
    CodecOption,
    DebugOption,
    FOption,
    GainOption,
    HChromaOption,
    HOption,
    JsonOption,
    MethodOption,
    NoiseOption,
    OffsetOption,
    OverwriteOption,
    PatchKernelOption,
    QuietOption,
    ReadNoiseOption,
    ROption,
    SigmaOption,
    ThreadsOption,
    TuneOption,
)


def default_output(input_path: Path) -> Path:
    """``<stem>_denoised<ext>`` beside the input."""
    return input_path.with_name(f"{input_path.stem}_denoised{input_path.suffix}")


def check_output(input_path: Path, output: Path, overwrite: bool) -> None:
    """Refuse, before any computation, an output that would lose data or cannot be written."""
    from ..io import ImageFileError, check_extension, check_folder_writable, resolve_path

    check_extension(output)
    same = resolve_path(output) == resolve_path(input_path) or (
        output.exists() and input_path.exists() and output.samefile(input_path)
    )
    if same:
        raise ImageFileError(output, "output path is the input file; choose another -o")
    if output.is_dir():
        raise ImageFileError(output, "is a directory; give an output file name")
    check_folder_writable(output)
    if output.exists() and not overwrite:
        raise ImageFileError(output, "already exists; pass --overwrite to replace it")


@app.command(cls=HelpCommand)
def denoise(
    input_path: Annotated[
        Path,
        typer.Argument(
            metavar="INPUT",
            help="Image, stack (TIFF, .npy), video (mp4/mkv/avi, nlmeans[video]) or .zarr array.",
        ),
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--output",
            help="Output file. Default: <stem>_denoised<ext> beside INPUT. A .zarr output "
            "(or input) is computed chunk by chunk with bounded memory (needs nlmeans[dask]).",
        ),
    ] = None,
    h: HOption = None,
    r: ROption = None,
    f: FOption = None,
    sigma: SigmaOption = None,
    noise: NoiseOption = Request.noise,
    gain: GainOption = None,
    read_noise: ReadNoiseOption = None,
    offset: OffsetOption = None,
    method: MethodOption = None,
    patch_kernel: PatchKernelOption = Request.patch_kernel,
    tune: TuneOption = None,
    h_chroma: HChromaOption = None,
    backend: BackendOption = Request.backend,
    threads: ThreadsOption = None,
    overwrite: OverwriteOption = False,
    quiet: QuietOption = False,
    json_output: JsonOption = False,
    debug: DebugOption = False,
    chunks: Annotated[
        int | None,
        typer.Option(
            "--chunks",
            min=1,
            help="Chunked path (.zarr input or output): chunk side, pixels per spatial axis. "
            f"Default: {DEFAULT_CHUNK}.",
        ),
    ] = None,
    channel_axis: Annotated[
        int | None,
        typer.Option(
            "--channel-axis",
            help=".zarr input: the channels' axis. Default: none for 2-D arrays, the last "
            "axis for 3-D arrays whose last axis has at most 4 entries.",
        ),
    ] = None,
    axes: AxesOption = None,
    codec: CodecOption = None,
    sigma_map: SigmaMapOption = None,
    mask: MaskOption = None,
    coils: CoilsOption = Request.coils,
    motion: Annotated[
        bool,
        typer.Option(
            "--motion",
            help="Time stacks and videos: centre each pixel's search box in the neighbour "
            "frames on its block's displacement (block matching); for panning or moving scenes.",
        ),
    ] = False,
) -> None:
    """Denoise one image, stack or video file; the input is never modified."""
    request = Request.from_options(locals())  # checked: the only copy of the choices
    # Deferred, like every heavy import of the commands: `nlmeans --help` stays fast.
    from .._denoise import denoise_request, tunes
    from .._reporting import SlabProgress
    from ..errors import NLMeansError
    from ..io import check_picture_format, read_image, require_finite, write_image
    from ..io._axes import parse_axes, radii_for_axes
    from ..io._video import check_codec
    from ..io._zarr import is_zarr
    from ._streamed import denoise_streamed, show_progress, wants_streaming

    output = output if output is not None else default_output(input_path)
    if is_zarr(input_path) or is_zarr(output):
        if sigma_map or mask or request.mapped:
            raise NLMeansError(
                "--sigma-map, --mask, --noise rician and --coils are not available with .zarr "
                "files; use nlmeans.dask.denoise from Python"
            )
        if request.motion:
            raise NLMeansError("--motion takes in-memory stacks and videos, not .zarr arrays")
        if axes is not None:
            raise NLMeansError(
                "--axes applies to image files; a .zarr array's channels are given by "
                "--channel-axis"
            )
        from ..dask import denoise_file
        from ..io._zarr import require_extra

        require_extra("a .zarr input or output")
        from dask.diagnostics import ProgressBar

        chosen = prepare_backend(request, quiet)
        # Dask's bar redraws with carriage returns: on a terminal only, like the rest.
        bar = ProgressBar(out=sys.stderr) if sys.stderr.isatty() and not quiet else None
        request = replace(request, backend=chosen.name)
        params, elapsed = denoise_file(
            input_path, output, request, overwrite=overwrite, progress=bar, final=True
        )
        how = chosen_by(request, request.tuned)
        _report(input_path, output, params, chosen, elapsed, how, quiet, json_output)
        return
    for option, value in (("--chunks", chunks), ("--channel-axis", channel_axis)):
        if value is not None:
            raise NLMeansError(
                f"{option} applies to .zarr inputs and outputs; an image file's axes are read "
                "from it, or given by --axes"
            )
    request = replace(request, axes=parse_axes(axes))
    check_codec(codec)
    check_output(input_path, output, overwrite)
    if wants_streaming(input_path, output, request) and not (sigma_map or mask):
        params, chosen, elapsed, picture, _ = denoise_streamed(
            input_path, output, request, overwrite=overwrite, codec=codec, quiet=quiet,
            show_bar=show_progress(quiet, json_output),
        )  # fmt: skip
        how = chosen_by(request, False)
        _report(input_path, output, params, chosen, elapsed, how, quiet, json_output, picture)
        return
    picture = read_image(input_path, request.axes)
    check_picture_format(output, picture)
    require_finite(input_path, picture.pixels)
    sigma, inside = read_maps(request.sigma, sigma_map, mask, picture)
    # A time axis compares 2-D patches across 5 frames unless --f/--r say otherwise.
    f, r = radii_for_axes(picture.layout, request.f, request.r)
    request = replace(request, sigma=sigma, f=f, r=r, channel_axis=picture.channel_axis)
    per_axis = isinstance(f, tuple) or isinstance(r, tuple)
    ndim = 3 if per_axis else len(picture.spatial)  # stacks take the N-D kernels
    chosen = prepare_backend(request, quiet, ndim)
    if inside is not None or request.mapped:
        warm_mapped(chosen, ndim)
    request = replace(request, backend=chosen.name)
    show_bar = sys.stderr.isatty() and not (quiet or json_output)
    start = time.perf_counter()
    with SlabProgress(input_path.name) if show_bar else contextlib.nullcontext() as bar:
        result, params = denoise_request(
            picture.pixels, request, mask=inside, progress=bar, return_params=True
        )
    elapsed = time.perf_counter() - start
    # Without --overwrite, an output that appeared meanwhile is not replaced either.
    write_image(
        output, picture.with_pixels(result), replace=overwrite, like=picture, codec=codec,
        final=True,
    )  # fmt: skip
    how = chosen_by(request, tunes(request, picture.pixels, inside))
    _report(input_path, output, params, chosen, elapsed, how, quiet, json_output, picture)


def chosen_by(request, tuned: bool) -> str:
    """Return who chose the parameters, for the report: SURE, the presets or the user (empty)."""
    if tuned:
        return "tuned by SURE"
    return "presets" if request.h is None else ""


def _report(
    input_path, output, params, chosen, elapsed, how, quiet, json_output, picture=None
) -> None:
    """Print what was written and with which parameters; ``how`` says who chose them."""
    from .._reporting import axes_record, params_line, params_record

    label = f" ({how})" if how else ""

    if json_output:
        print_json(
            {
                "input": str(input_path),
                "output": str(output),
                "params": params_record(params),
                "backend": chosen.name,
                "seconds": elapsed,
                **axes_record(picture),
            }
        )
    elif not quiet:
        # The axes are worth a word for stacks and where they were guessed or given.
        plain = picture is None or (not picture.is_stack and picture.axes_source == "format")
        shape = "" if plain else f" ({picture.describe_axes()})"
        typer.echo(
            f"{input_path} -> {output}{shape}\n"
            f"  {params_line(params)}{label}\n"
            f"  backend={chosen.name} time={elapsed:.3f}s"
        )
