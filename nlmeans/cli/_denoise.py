"""``nlmeans denoise``: one image file in, its denoised copy out."""

from __future__ import annotations

import contextlib
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from ._common import (
    AxesOption,
    BackendOption,
    CodecOption,
    DebugOption,
    FOption,
    GainOption,
    HChromaOption,
    HelpCommand,
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
    app,
    clean_errors,
    noise_options,
    prepare_backend,
    print_json,
)
from ._maps import CoilsOption, MaskOption, SigmaMapOption, read_maps, warm_mapped


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
    noise: NoiseOption = "gaussian",
    gain: GainOption = None,
    read_noise: ReadNoiseOption = None,
    offset: OffsetOption = None,
    method: MethodOption = None,
    patch_kernel: PatchKernelOption = "uniform",
    tune: TuneOption = False,
    h_chroma: HChromaOption = None,
    backend: BackendOption = "auto",
    threads: ThreadsOption = None,
    overwrite: OverwriteOption = False,
    quiet: QuietOption = False,
    json_output: JsonOption = False,
    debug: DebugOption = False,
    chunks: Annotated[
        int,
        typer.Option(
            "--chunks",
            min=1,
            help="Chunked path (.zarr input or output): chunk side, pixels per spatial axis.",
        ),
    ] = 1024,
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
    coils: CoilsOption = 1,
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
    # Deferred, like every heavy import of the commands: `nlmeans --help` stays fast.
    from .._denoise import denoise as run_denoise
    from .._reporting import SlabProgress
    from ..errors import NLMeansError
    from ..io import check_picture_format, read_image, require_finite, write_image
    from ..io._axes import parse_axes, radii_for_axes
    from ..io._video import check_codec
    from ..io._zarr import is_zarr
    from ._streamed import denoise_streamed, show_progress, wants_streaming

    with clean_errors(debug):
        model = noise_options(noise, gain, read_noise, offset)
        output = output if output is not None else default_output(input_path)
        chunked = is_zarr(input_path) or is_zarr(output)
        if chunked and (sigma_map or mask or noise == "rician" or coils != 1):
            raise NLMeansError(
                "--sigma-map, --mask, --noise rician and --coils are not available with .zarr "
                "files; "
                "use nlmeans.dask.denoise from Python"
            )
        if chunked:
            from ..dask import denoise_file
            from ..io._zarr import require_extra

            require_extra("a .zarr input or output")
            if motion:
                raise NLMeansError("--motion takes in-memory stacks and videos, not .zarr arrays")
            from dask.diagnostics import ProgressBar

            chosen = prepare_backend(backend, threads, method, tune, quiet)
            options = dict(h=h, sigma=sigma, f=f, r=r, method=method, tune=tune, **model)
            options.update(patch_kernel=patch_kernel)
            params, elapsed = denoise_file(
                input_path,
                output,
                chunk=chunks,
                channel_axis=channel_axis,
                overwrite=overwrite,
                # Dask's bar redraws with carriage returns: on a terminal only, like the rest.
                progress=ProgressBar(out=sys.stderr) if sys.stderr.isatty() and not quiet else None,
                h_chroma=h_chroma,
                backend=chosen.name,
                **options,
            )
    if chunked:
        _report(input_path, output, params, chosen, elapsed, tune, quiet, json_output)
        return
    with clean_errors(debug):
        axes = parse_axes(axes)
        check_codec(codec)
        check_output(input_path, output, overwrite)
        if wants_streaming(input_path, output, tune, method):
            params, chosen, elapsed, picture, _ = denoise_streamed(
                input_path, output, h=h, sigma=sigma, f=f, r=r, method=method,
                patch_kernel=patch_kernel, h_chroma=h_chroma, backend=backend, threads=threads,
                overwrite=overwrite, codec=codec, motion=motion, quiet=quiet,
                show_bar=show_progress(quiet, json_output), axes=axes,
            )  # fmt: skip
    if wants_streaming(input_path, output, tune, method):
        _report(input_path, output, params, chosen, elapsed, False, quiet, json_output, picture)
        return
    with clean_errors(debug):
        picture = read_image(input_path, axes)
        check_picture_format(output, picture)
        require_finite(input_path, picture.pixels)
        sigma, inside = read_maps(sigma, sigma_map, mask, picture)
        # A time axis compares 2-D patches across 5 frames unless --f/--r say otherwise.
        f, r = radii_for_axes(picture.layout, f, r)
        per_axis = isinstance(f, tuple) or isinstance(r, tuple)
        ndim = 3 if per_axis else len(picture.spatial)  # stacks take the N-D kernels
        chosen = prepare_backend(backend, threads, method, tune, quiet, patch_kernel, ndim)
        if sigma_map or mask or noise != "gaussian" or coils != 1:
            warm_mapped(chosen, ndim)
        show_bar = sys.stderr.isatty() and not (quiet or json_output)
        start = time.perf_counter()
        with SlabProgress(input_path.name) if show_bar else contextlib.nullcontext() as bar:
            result, params = run_denoise(
                picture.pixels,
                h=h,
                sigma=sigma,
                f=f,
                r=r,
                channel_axis=picture.channel_axis,
                backend=chosen.name,
                return_params=True,
                method=method,
                tune=tune,
                h_chroma=h_chroma,
                patch_kernel=patch_kernel,
                progress=bar,
                mask=inside,
                coils=coils,
                **model,
                motion=motion,
            )
        elapsed = time.perf_counter() - start
        # Without --overwrite, an output that appeared meanwhile is not replaced either.
        write_image(
            output,
            picture.with_pixels(result),
            replace=overwrite,
            like=picture,
            codec=codec,
            final=True,
        )
    tuned = tune or method == "combined"
    _report(input_path, output, params, chosen, elapsed, tuned, quiet, json_output, picture)


def _report(
    input_path, output, params, chosen, elapsed, tune, quiet, json_output, picture=None
) -> None:
    from .._reporting import axes_record, params_line, params_record

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
            f"  {params_line(params)}{' (tuned by SURE)' if tune else ''}\n"
            f"  backend={chosen.name} time={elapsed:.3f}s"
        )
