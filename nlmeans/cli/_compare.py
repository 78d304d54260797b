"""``nlmeans compare``: nlmeans against scikit-image and OpenCV on PSNR, SSIM and time.

A thin command over :func:`nlmeans.evaluate.compare_image`.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from .._request import Request
from ._app import HelpCommand, app, fail
from ._common import prepare_backend, print_json, write_text
from ._options import (
    BackendOption,
    CompareTuneOption,
    DebugOption,
    FOption,
    HChromaOption,
    HOption,
    JsonOption,
    MethodOption,
    PatchKernelOption,
    ROption,
    ThreadsOption,
)

#: Largest --sigma of added noise, 8-bit units: beyond it the noise hides the image.
MAX_NOISE_SIGMA = 4 * 255.0


@app.command(cls=HelpCommand)
def compare(
    clean: Annotated[
        Path,
        typer.Argument(
            metavar="CLEAN",
            help="Clean reference image, or a folder of them (one row each, then the mean).",
        ),
    ],
    noisy: Annotated[
        Path | None,
        typer.Option(
            "--noisy",
            help="Noisy version of CLEAN (same size; a folder with the same file names "
            "when CLEAN is a folder).",
        ),
    ] = None,
    noise_sigma: Annotated[
        float | None,
        typer.Option(
            "--sigma",
            help="Instead of --noisy: add Gaussian noise of this standard deviation, "
            "8-bit units (0-255), float and unclipped.",
        ),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Seed of the added noise.")] = 0,
    known_sigma: Annotated[
        bool,
        typer.Option(
            "--known-sigma",
            help="Give the denoisers the added noise's sigma. Default: estimated from "
            "the noisy image, as for a real photo.",
        ),
    ] = False,
    h: HOption = None,
    r: ROption = None,
    f: FOption = None,
    method: MethodOption = None,
    patch_kernel: PatchKernelOption = Request.patch_kernel,
    tune: CompareTuneOption = False,
    h_chroma: HChromaOption = None,
    backend: BackendOption = Request.backend,
    threads: ThreadsOption = None,
    repeat: Annotated[
        int,
        typer.Option("--repeat", min=1, help="Timed runs per method after the warm-up; best kept."),
    ] = 1,
    opencv: Annotated[
        bool,
        typer.Option("--opencv/--no-opencv", help="Include OpenCV when cv2 is importable."),
    ] = True,
    montage_path: Annotated[
        Path | None,
        typer.Option(
            "--montage",
            help="Write noisy | nlmeans | scikit-image | clean side by side, labelled with "
            "PSNR, to this image file (one per image, <stem>_<image>, for a folder).",
        ),
    ] = None,
    csv_path: Annotated[
        Path | None, typer.Option("--csv", help="Also write the numbers to this CSV file.")
    ] = None,
    json_output: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """Compare nlmeans with scikit-image (and OpenCV) on PSNR, SSIM and warm time.

    All methods get the same noisy input and equivalent parameters; each is
    warmed up on a small crop, then timed in this process.
    """
    request = Request.from_options(locals())  # checked: the only copy of the choices
    # Deferred, like every heavy import of the commands: `nlmeans --help` stays fast.
    from .._reporting import comparison_record, comparison_text, comparisons_csv, rows_table
    from ..evaluate import compare_image, mean_rows, montage, opencv_available, to_8bit_scale
    from ..io import (
        check_extension,
        check_folder_writable,
        read_image,
        refuse_input_as_output,
        write_image,
    )

    if (noisy is None) == (noise_sigma is None):
        raise fail("give exactly one of --noisy NOISY or --sigma S")
    if noise_sigma is not None and not (0 <= noise_sigma <= MAX_NOISE_SIGMA):
        raise fail(
            f"--sigma {noise_sigma} is out of range; expected a value from 0 to "
            f"{MAX_NOISE_SIGMA:g} (8-bit units: 4 times the 0-255 range)"
        )
    if known_sigma and noise_sigma is None:
        raise fail("--known-sigma needs --sigma (the noise of a --noisy file is unknown)")
    pairs = _compare_pairs(clean, noisy)
    # Refuse report files that cannot be written, or would replace an input,
    # before computing anything.
    if montage_path is not None:
        check_extension(montage_path)
    inputs = [clean, noisy, *(path for pair in pairs for path in pair)]
    for report, what in ((montage_path, "--montage"), (csv_path, "--csv")):
        if report is not None:
            check_folder_writable(report)
            targets = [report] if report is not montage_path else _montages(report, pairs)
            for target in targets:
                refuse_input_as_output(target, inputs, what)
    if request.patch_kernel != "uniform":
        raise fail(
            f"--patch-kernel {patch_kernel} is not available in compare yet (its "
            "comparison runs the uniform patch distance); use denoise or batch"
        )
    chosen = prepare_backend(request, json_output)
    request = replace(request, backend=chosen.name)
    use_opencv = opencv and opencv_available()
    if use_opencv and threads is not None:
        import cv2

        cv2.setNumThreads(threads)

    comparisons = []
    for clean_path, noisy_path in pairs:
        clean8 = to_8bit_scale(_single_image(read_image(clean_path), clean_path))
        noisy8 = None
        if noisy_path is None:
            noise = f"Gaussian noise sigma={noise_sigma:g} seed={seed} (float, unclipped)"
        else:
            noisy8 = to_8bit_scale(_single_image(read_image(noisy_path), noisy_path))
            noise = f"noisy file {noisy_path}"
            if noisy8.shape != clean8.shape:
                raise fail(
                    f"{noisy_path}: shape {noisy8.shape} differs from {clean_path}'s {clean8.shape}"
                )
        comparison = compare_image(
            clean8,
            noisy8,
            noise_sigma=noise_sigma if noisy8 is None else None,
            seed=seed,
            known_sigma=known_sigma,
            request=request,
            opencv=use_opencv,
            repeat=repeat,
            name=clean_path.name,
        )
        comparisons.append(comparison)
        if not json_output:
            typer.echo(comparison_text(comparison, noise) + "\n")
        if montage_path is not None:
            target = _montages(montage_path, pairs)[len(comparisons) - 1]
            last = csv_path is None and len(comparisons) == len(pairs)
            write_image(target, montage(comparison, clean8), final=last)
            if not json_output:
                typer.echo(f"montage: {target}\n")
    means = mean_rows(comparisons) if len(comparisons) > 1 else None
    if means is not None and not json_output:
        typer.echo(f"mean over {len(comparisons)} images\n{rows_table(means)}")
    if csv_path is not None:
        write_text(csv_path, comparisons_csv(comparisons, means), final=True)

    if json_output:
        print_json(
            {
                "noise": (
                    {"sigma": noise_sigma, "seed": seed, "known_sigma": known_sigma}
                    if noise_sigma is not None
                    else {"noisy": str(noisy)}
                ),
                "backend": chosen.name,
                "images": [comparison_record(c) for c in comparisons],
                "mean": None if means is None else [vars(row) for row in means],
            }
        )


def _single_image(picture, path):
    """Return the pixels of a single image; a stack (volume, time series, video) refused."""
    from ..errors import NLMeansError

    if picture.is_stack:
        raise NLMeansError(
            f"{path}: is a {picture.layout} stack (shape "
            f"{'x'.join(map(str, picture.pixels.shape))}); compare takes single 2-D images "
            "(gray or color) — use denoise for stacks"
        )
    return picture.pixels


def _montages(montage_path: Path, pairs) -> list[Path]:
    """Return the montage file of each pair.

    ``montage_path`` itself for one image, else one ``<stem>_<image><ext>`` per image.
    """
    if len(pairs) == 1:
        return [montage_path]
    return [
        montage_path.with_name(f"{montage_path.stem}_{clean.stem}{montage_path.suffix}")
        for clean, _ in pairs
    ]


def _compare_pairs(clean: Path, noisy: Path | None) -> list[tuple[Path, Path | None]]:
    """(clean file, noisy file or None) for CLEAN a file or a folder."""
    from ..batch import wanted
    from ..io import ImageFileError

    if not clean.is_dir():
        return [(clean, noisy)]
    files = sorted(p for p in clean.iterdir() if p.is_file() and wanted(p.name, None))
    if not files:
        raise ImageFileError(clean, "folder has no image files")
    if noisy is not None and not noisy.is_dir():
        raise ImageFileError(noisy, "CLEAN is a folder, so --noisy must be a folder too")
    return [(p, None if noisy is None else noisy / p.name) for p in files]
