"""``nlmeans batch``: a folder of images into a mirrored folder; resumable."""

from __future__ import annotations

import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from .._request import Request
from ._app import EXIT_FAILED, HelpCommand, app
from ._common import prepare_backend, print_json
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
    PatchKernelOption,
    ReadNoiseOption,
    ROption,
    SigmaOption,
    ThreadsOption,
    TuneOption,
)


@app.command(cls=HelpCommand)
def batch(
    input_dir: Annotated[
        Path, typer.Argument(metavar="INPUT_DIR", help="Folder of images to denoise.")
    ],
    output_dir: Annotated[
        Path,
        typer.Argument(
            metavar="OUTPUT_DIR",
            help="Folder for the results, same relative paths (created if missing).",
        ),
    ],
    pattern: Annotated[
        str | None,
        typer.Option(
            "--pattern",
            help="Glob on file names, e.g. '*.png'. Default: every file with an image, "
            "array or video extension (.png .jpg .jpeg .tif .tiff .bmp .npy, and .mp4 .mkv "
            ".avi with nlmeans[video]; any case).",
        ),
    ] = None,
    recursive: Annotated[
        bool, typer.Option("--recursive", "-R", help="Also denoise images in sub-folders.")
    ] = False,
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
    same_params: Annotated[
        bool,
        typer.Option(
            "--same-params",
            help="Resolve (or tune) unset parameters once, on the first image, and use "
            "them for all with the same spatial axes (others fail by name). "
            "Default: each image gets its own.",
        ),
    ] = False,
    backend: BackendOption = Request.backend,
    threads: ThreadsOption = None,
    overwrite: Annotated[
        bool,
        typer.Option(
            "--overwrite", help="Redo images whose output exists. Default: skip them (resume)."
        ),
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")] = False,
    json_output: JsonOption = False,
    debug: DebugOption = False,
    dask: Annotated[
        str | None,
        typer.Option(
            "--dask",
            metavar="local:N|tcp://HOST:PORT",
            help="Run each file as a task on a Dask cluster: local:N starts N worker processes "
            "here; tcp://host:port uses a running scheduler, whose workers must see INPUT_DIR "
            "and OUTPUT_DIR at the same paths (a shared filesystem). Needs nlmeans[dask].",
        ),
    ] = None,
    axes: AxesOption = None,
    codec: CodecOption = None,
) -> None:
    """Denoise every image of INPUT_DIR into OUTPUT_DIR; resumable, keeps going past bad files.

    Exit code 0 when every file was done or skipped, 1 when some file failed,
    2 for bad usage.
    """
    request = Request.from_options(locals())  # checked: the only copy of the choices
    import contextlib

    from .._reporting import (
        BarProgress,
        PlainProgress,
        item_record,
        summary_record,
        summary_text,
    )
    from ..batch import (
        Summary,
        check_folders,
        dask_client,
        discover,
        parse_dask,
        run_batch,
        run_batch_distributed,
    )
    from ..errors import NLMeansError
    from ..io._axes import parse_axes
    from ..io._video import check_codec

    request = replace(request, axes=parse_axes(axes))
    check_codec(codec)
    check_folders(input_dir, output_dir, recursive)
    items = discover(input_dir, output_dir, pattern, recursive)
    if not items:
        what = f"matching {pattern!r}" if pattern else "with an image extension"
        where = " (sub-folders included)" if recursive else ""
        raise NLMeansError(f"{input_dir}: no files {what}{where}")
    if dask is not None:
        parse_dask(dask)
    chosen = prepare_backend(request, quiet)
    request = replace(request, backend=chosen.name)
    output_dir.mkdir(parents=True, exist_ok=True)

    summary, records = Summary(), []
    if sys.stderr.isatty() and not quiet:
        reporter = BarProgress(len(items))
    else:
        reporter = PlainProgress(len(items), sys.stderr if json_output else sys.stdout, quiet)
    cluster = contextlib.nullcontext() if dask is None else dask_client(dask)
    start = time.perf_counter()
    with reporter, cluster as client:
        reporter.started(str(items[0].relative))
        if client is None:
            results = run_batch(items, request, same_params=same_params, overwrite=overwrite,
                                codec=codec)  # fmt: skip
        else:
            results = run_batch_distributed(
                items, request, client=client, same_params=same_params, overwrite=overwrite,
                codec=codec,
            )  # fmt: skip
        for index, result in enumerate(results):
            summary.add(result)
            summary.seconds = time.perf_counter() - start
            records.append(result)
            reporter.finished(result)
            if index + 1 < len(items):
                reporter.started(str(items[index + 1].relative))

    if json_output:
        print_json(
            {
                "input_dir": str(input_dir),
                "output_dir": str(output_dir),
                "backend": chosen.name,
                "same_params": same_params,
                "files": [item_record(result) for result in records],
                "summary": summary_record(summary),
            }
        )
    elif not quiet:
        typer.echo(summary_text(summary))
        if request.h is None:  # who chose the parameters (h given: the user)
            how = "tuned by SURE" if request.tuned else "from the presets"
            where = "on the first file, for all" if same_params else "per file"
            typer.echo(f"parameters {how} {where}")
    if summary.failed:
        raise typer.Exit(EXIT_FAILED)
