"""The ``nlmeans`` command line (Typer).

Heavy modules (Numba, scikit-image) are imported inside the commands, so that
``nlmeans --help`` starts quickly.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Non-local means image denoising: fast, exact, on the CPU (Numba) or an NVIDIA GPU.",
    pretty_exceptions_enable=False,
)

#: Exit codes, documented in the README.
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

#: Show the compile notice when warming the kernels takes longer than this
#: (loading them from Numba's cache takes about 0.5 s, compiling them 10 s).
COMPILE_NOTICE_AFTER_S = 2.0


def fail(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    """Print ``error: message`` on stderr and return the Exit to raise."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


@contextlib.contextmanager
def clean_errors(debug: bool):
    """Turn NLMeansError and OS errors into one line on stderr and exit code 2.

    Ctrl-C and SIGTERM (``kill``) raise KeyboardInterrupt inside the block, so
    that pending writes remove their temporary files, then exit with code 130.
    """
    from .params import NLMeansError

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, interrupt) if main_thread else None
    try:
        yield
    except (NLMeansError, OSError) as error:
        if debug:
            raise
        raise fail(str(error)) from None
    except KeyboardInterrupt:
        if debug:
            raise
        raise fail("interrupted", code=130) from None
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)


def prepare_backend(backend: str, threads: int | None, method, tune: bool, quiet: bool):
    """The backend's module, with ``--threads`` applied and every kernel the run
    needs (the method's, and SURE's for ``--tune``) compiled or loaded.

    Announces a compile if warming up takes a while. Also makes the noise
    estimator's first call, so that the times the commands report are those of
    the work itself.
    """
    import numpy as np

    from .denoise import backend_module, kernel
    from .params import estimate_sigma

    module = backend_module(backend)
    apply_threads(module, threads)
    to_warm = [module]
    if method == "patch" or tune:
        to_warm.append(kernel(backend, "patch")[0])
    if tune:
        from . import sure

        to_warm.append(sure)
    notice = threading.Timer(
        COMPILE_NOTICE_AFTER_S,
        lambda: quiet or typer.echo("compiling kernels, first run only…", err=True),
    )
    notice.start()
    try:
        for warm in to_warm:
            if hasattr(warm, "warm_up"):
                warm.warm_up()
        # Large enough for nlmeans' own estimator, so skimage's fallback is not imported.
        estimate_sigma(np.random.default_rng(0).random((96, 96), dtype=np.float32))
    finally:
        notice.cancel()
    return module


def default_output(input_path: Path) -> Path:
    return input_path.with_name(f"{input_path.stem}_denoised{input_path.suffix}")


def check_output(input_path: Path, output: Path, overwrite: bool) -> None:
    """Refuse, before any computation, an output that would lose data or cannot be written."""
    from .io import ImageFileError, check_extension, check_folder_writable

    check_extension(output)
    same = output.resolve() == input_path.resolve() or (
        output.exists() and input_path.exists() and output.samefile(input_path)
    )
    if same:
        raise ImageFileError(output, "output path is the input file; choose another -o")
    if output.is_dir():
        raise ImageFileError(output, "is a directory; give an output file name")
    check_folder_writable(output)
    if output.exists() and not overwrite:
        raise ImageFileError(output, "already exists; pass --overwrite to replace it")


@app.callback()
def root() -> None:
    """Non-local means image denoising: fast, exact, on the CPU (Numba) or an NVIDIA GPU."""


# Options shared by the commands that denoise (Annotated aliases, Typer's style).
HOption = Annotated[
    float | None,
    typer.Option(
        "--h", help="Filtering strength h, raw intensity units (0-255 for 8-bit). Default: preset."
    ),
]
SigmaOption = Annotated[
    float | None,
    typer.Option(
        "--sigma", help="Noise standard deviation, raw intensity units. Default: estimated."
    ),
]
ROption = Annotated[
    int | None, typer.Option("--r", help="Search radius: window (2r+1)². Default: preset.")
]
FOption = Annotated[
    int | None, typer.Option("--f", help="Patch radius: patch (2f+1)². Default: preset.")
]
MethodOption = Annotated[
    str | None,
    typer.Option(
        "--method",
        help="pixel (the exact pixelwise formula) or patch (patchwise aggregation, IPOL 2011). "
        "Default: pixel, or chosen by --tune.",
    ),
]
TuneOption = Annotated[
    bool,
    typer.Option(
        "--tune",
        help="Choose the unset h, f and method (and, for color, h-chroma) by minimising SURE "
        "on the noisy image (a few times the cost of one denoise).",
    ),
]
HChromaOption = Annotated[
    float | None,
    typer.Option(
        "--h-chroma",
        help="Color images: filter in luminance-chrominance planes, luminance with h and "
        "chrominance with this h, raw intensity units. Default: one h for RGB, or --tune's.",
    ),
]
BackendOption = Annotated[str, typer.Option("--backend", help="auto, cpu, cuda or reference.")]
ThreadsOption = Annotated[
    int | None, typer.Option("--threads", min=1, help="CPU threads. Default: all cores.")
]
OverwriteOption = Annotated[bool, typer.Option("--overwrite", help="Replace existing outputs.")]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing on success.")]
DebugOption = Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")]
JsonOption = Annotated[
    bool,
    typer.Option(
        "--json", help="Print one JSON document on stdout instead of text; notes go to stderr."
    ),
]


@app.command()
def denoise(
    input_path: Annotated[Path, typer.Argument(metavar="INPUT", help="Image file to denoise.")],
    output: Annotated[
        Path | None,
        typer.Option(
            "-o", "--output", help="Output file. Default: <stem>_denoised<ext> beside INPUT."
        ),
    ] = None,
    h: HOption = None,
    r: ROption = None,
    f: FOption = None,
    sigma: SigmaOption = None,
    method: MethodOption = None,
    tune: TuneOption = False,
    h_chroma: HChromaOption = None,
    backend: BackendOption = "auto",
    threads: ThreadsOption = None,
    overwrite: OverwriteOption = False,
    quiet: QuietOption = False,
    json_output: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """Denoise one image file; the input is never modified."""
    from .denoise import denoise as run_denoise
    from .io import check_format, read_image, require_finite, write_image

    with clean_errors(debug):
        output = output if output is not None else default_output(input_path)
        check_output(input_path, output, overwrite)
        picture = read_image(input_path)
        check_format(output, picture.pixels.dtype, picture.channels)
        require_finite(input_path, picture.pixels)
        module = prepare_backend(backend, threads, method, tune, quiet)
        start = time.perf_counter()
        result, params = run_denoise(
            picture.pixels,
            h=h,
            sigma=sigma,
            f=f,
            r=r,
            channel_axis=picture.channel_axis,
            backend=backend,
            return_params=True,
            method=method,
            tune=tune,
            h_chroma=h_chroma,
        )
        elapsed = time.perf_counter() - start
        write_image(output, picture.with_pixels(result))
    from .reporting import params_line, params_record

    if json_output:
        print_json(
            {
                "input": str(input_path),
                "output": str(output),
                "params": params_record(params),
                "backend": module.__name__.rsplit(".", 1)[-1],
                "seconds": elapsed,
            }
        )
    elif not quiet:
        typer.echo(
            f"{input_path} -> {output}\n"
            f"  {params_line(params)}{' (tuned by SURE)' if tune else ''}\n"
            f"  backend={module.__name__.rsplit('.', 1)[-1]} time={elapsed:.3f}s"
        )


def apply_threads(module, threads: int | None) -> None:
    """Limit the backend's CPU threads (``--threads``) when it has any to limit."""
    if threads is not None and hasattr(module, "set_threads"):
        module.set_threads(threads)


def print_json(document: dict) -> None:
    """The one JSON document a ``--json`` command prints on stdout."""
    import json

    typer.echo(json.dumps(document, indent=2, ensure_ascii=False))


@app.command()
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
            help="Glob on file names, e.g. '*.png'. Default: every file with an image "
            "extension (.png .jpg .jpeg .tif .tiff .bmp, any case).",
        ),
    ] = None,
    recursive: Annotated[
        bool, typer.Option("--recursive", "-R", help="Also denoise images in sub-folders.")
    ] = False,
    h: HOption = None,
    r: ROption = None,
    f: FOption = None,
    sigma: SigmaOption = None,
    method: MethodOption = None,
    tune: TuneOption = False,
    h_chroma: HChromaOption = None,
    same_params: Annotated[
        bool,
        typer.Option(
            "--same-params",
            help="Resolve (or --tune) unset parameters once, on the first image, and use "
            "them for all. Default: each image gets its own.",
        ),
    ] = False,
    backend: BackendOption = "auto",
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
) -> None:
    """Denoise every image of INPUT_DIR into OUTPUT_DIR; resumable, keeps going past bad files.

    Exit code 0 when every file was done or skipped, 1 when some file failed,
    2 for bad usage.
    """
    from .batch import Summary, check_folders, discover, run_batch
    from .params import resolve
    from .reporting import (
        BarProgress,
        PlainProgress,
        item_record,
        summary_record,
        summary_text,
    )

    with clean_errors(debug):
        check_folders(input_dir, output_dir, recursive)
        items = discover(input_dir, output_dir, pattern, recursive)
        if not items:
            what = f"matching {pattern!r}" if pattern else "with an image extension"
            where = " (sub-folders included)" if recursive else ""
            raise fail(f"{input_dir}: no files {what}{where}")
        # Refuse bad parameter values before touching any file (as for an RGB image:
        # gray images of the folder ignore --h-chroma).
        resolve(
            3,
            h=h,
            sigma=sigma,
            f=f,
            r=r,
            data_range=255.0,
            estimate=lambda: 0.0,
            method=method or "pixel",
            h_chroma=h_chroma,
        )
        module = prepare_backend(backend, threads, method, tune, quiet)
        output_dir.mkdir(parents=True, exist_ok=True)

        summary, records = Summary(), []
        options = {"h": h, "sigma": sigma, "f": f, "r": r, "backend": backend}
        options.update(method=method, tune=tune, h_chroma=h_chroma)
        if sys.stderr.isatty() and not quiet:
            reporter = BarProgress(len(items))
        else:
            reporter = PlainProgress(len(items), sys.stderr if json_output else sys.stdout, quiet)
        start = time.perf_counter()
        with reporter:
            reporter.started(str(items[0].relative))
            results = run_batch(
                items, options=options, same_params=same_params, overwrite=overwrite
            )
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
                "backend": module.__name__.rsplit(".", 1)[-1],
                "same_params": same_params,
                "files": [item_record(result) for result in records],
                "summary": summary_record(summary),
            }
        )
    elif not quiet:
        typer.echo(summary_text(summary))
    if summary.failed:
        raise typer.Exit(EXIT_FAILED)


@app.command()
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
    seed: Annotated[int, typer.Option("--seed", help="Seed of the added noise.")] = 0,
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
    tune: TuneOption = False,
    h_chroma: HChromaOption = None,
    backend: BackendOption = "auto",
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
    from .denoise import resolve_params
    from .evaluate import (
        add_noise,
        mean_rows,
        methods_for,
        montage,
        opencv_available,
        to_8bit_scale,
    )
    from .evaluate import (
        compare as run_compare,
    )
    from .io import check_extension, check_folder_writable, read_image, write_image
    from .reporting import (
        comparison_record,
        comparison_text,
        comparisons_csv,
        rows_table,
    )
    from .sure import tune as tune_params

    with clean_errors(debug):
        if (noisy is None) == (noise_sigma is None):
            raise fail("give exactly one of --noisy NOISY or --sigma S")
        if noise_sigma is not None and not (noise_sigma >= 0 and noise_sigma < float("inf")):
            raise fail(f"--sigma {noise_sigma} is out of range; expected a finite value >= 0")
        if known_sigma and noise_sigma is None:
            raise fail("--known-sigma needs --sigma (the noise of a --noisy file is unknown)")
        pairs = _compare_pairs(clean, noisy)
        # Refuse report files that cannot be written before computing anything.
        if montage_path is not None:
            check_extension(montage_path)
        for report in (montage_path, csv_path):
            if report is not None:
                check_folder_writable(report)
        module = prepare_backend(backend, threads, method, tune, json_output)
        use_opencv = opencv and opencv_available()
        if use_opencv and threads is not None:
            import cv2

            cv2.setNumThreads(threads)

        comparisons = []
        for clean_path, noisy_path in pairs:
            clean8 = to_8bit_scale(read_image(clean_path).pixels)
            if noisy_path is None:
                noisy8 = add_noise(clean8, noise_sigma, seed)
                noise = f"Gaussian noise sigma={noise_sigma:g} seed={seed} (float, unclipped)"
            else:
                noisy8 = to_8bit_scale(read_image(noisy_path).pixels)
                noise = f"noisy file {noisy_path}"
                if noisy8.shape != clean8.shape:
                    raise fail(
                        f"{noisy_path}: shape {noisy8.shape} differs from {clean_path}'s "
                        f"{clean8.shape}"
                    )
            given = {
                "h": h,
                "sigma": noise_sigma if known_sigma else None,
                "f": f,
                "r": r,
                "channel_axis": None if noisy8.ndim == 2 else -1,
                "data_range": 255.0,
                "h_chroma": h_chroma,
            }
            tuning_seconds = None
            if tune:
                start = time.perf_counter()
                params = tune_params(noisy8, method=method, **given)
                tuning_seconds = time.perf_counter() - start
            else:
                params = resolve_params(noisy8, method=method or "pixel", **given)
            methods = methods_for(params, backend, opencv=use_opencv)
            comparison = run_compare(clean_path.name, clean8, noisy8, params, methods, repeat)
            comparison.tuning_seconds = tuning_seconds
            comparisons.append(comparison)
            if not json_output:
                typer.echo(comparison_text(comparison, noise) + "\n")
            if montage_path is not None:
                target = montage_path
                if len(pairs) > 1:
                    target = montage_path.with_name(
                        f"{montage_path.stem}_{clean_path.stem}{montage_path.suffix}"
                    )
                write_image(target, montage(comparison, clean8))
                if not json_output:
                    typer.echo(f"montage: {target}\n")
        means = mean_rows(comparisons) if len(comparisons) > 1 else None
        if means is not None and not json_output:
            typer.echo(f"mean over {len(comparisons)} images\n{rows_table(means)}")
        if csv_path is not None:
            _write_text(csv_path, comparisons_csv(comparisons, means))

    if json_output:
        print_json(
            {
                "noise": (
                    {"sigma": noise_sigma, "seed": seed, "known_sigma": known_sigma}
                    if noise_sigma is not None
                    else {"noisy": str(noisy)}
                ),
                "backend": module.__name__.rsplit(".", 1)[-1],
                "images": [comparison_record(c) for c in comparisons],
                "mean": None if means is None else [vars(row) for row in means],
            }
        )


def _compare_pairs(clean: Path, noisy: Path | None) -> list[tuple[Path, Path | None]]:
    """(clean file, noisy file or None) for CLEAN a file or a folder."""
    from .batch import wanted
    from .io import ImageFileError

    if not clean.is_dir():
        return [(clean, noisy)]
    files = sorted(p for p in clean.iterdir() if p.is_file() and wanted(p.name, None))
    if not files:
        raise ImageFileError(clean, "folder has no image files")
    if noisy is not None and not noisy.is_dir():
        raise ImageFileError(noisy, "CLEAN is a folder, so --noisy must be a folder too")
    return [(p, None if noisy is None else noisy / p.name) for p in files]


def _write_text(path: Path, text: str) -> None:
    """Write a report file atomically (temporary file in the same folder, then rename)."""
    import tempfile

    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temp, 0o666 & ~umask)  # mkstemp makes it private; a report is not
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


@app.command()
def info(json_output: JsonOption = False) -> None:
    """Versions, CPU threads, kernel cache location and which backends can run here."""
    import platform
    from importlib.metadata import PackageNotFoundError, version

    from . import __version__
    from .denoise import BACKENDS, backend_availability

    versions = {"nlmeans": __version__, "python": platform.python_version()}
    for name in ("numpy", "numba", "scikit-image", "opencv-python-headless", "opencv-python"):
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            continue
    import numba

    backends = {}
    for name in BACKENDS:
        try:
            reason = backend_availability(name)
        except Exception as error:  # a backend that cannot even be imported
            reason = f"cannot be loaded: {error}"
        backends[name] = {"available": reason is None, "detail": reason or _backend_detail(name)}
    document = {
        "versions": versions,
        "cpu_threads": numba.get_num_threads(),
        "cpu_cores": os.cpu_count(),
        "kernel_cache": _kernel_cache(),
        "backends": backends,
    }
    if json_output:
        print_json(document)
        return
    typer.echo("  ".join(f"{k} {v}" for k, v in versions.items()))
    typer.echo(
        f"CPU threads: {document['cpu_threads']} of {document['cpu_cores']} cores "
        "(--threads N or NUMBA_NUM_THREADS to change)"
    )
    typer.echo(f"kernel cache: {document['kernel_cache']}")
    typer.echo("backends:")
    for name, state in backends.items():
        status = "available" if state["available"] else "not available"
        detail = f": {state['detail']}" if state["detail"] else ""
        typer.echo(f"  {name:<10} {status}{detail}")


def _backend_detail(name: str) -> str | None:
    """What a usable backend runs on: the GPU's name for cuda."""
    if name == "reference":
        return "NumPy oracle, slow; for tests and small images"
    if name == "cpu":
        return "Numba, parallel"
    if name == "cuda":
        import numba

        if numba.config.ENABLE_CUDASIM:
            return "Numba's CUDA simulator (NUMBA_ENABLE_CUDASIM=1), no GPU"
        try:
            from numba import cuda

            device_name = cuda.get_current_device().name
            return device_name.decode() if isinstance(device_name, bytes) else str(device_name)
        except Exception as error:  # a description, never a failure
            return f"device name unavailable ({error})"
    return None


def _kernel_cache() -> str:
    """Where Numba keeps the compiled CPU kernels of this installation."""
    from . import cpu

    # Numba's dispatcher knows the folder it picked (beside the module, or a
    # user cache folder when that one is not writable); older versions may not say.
    cache = getattr(getattr(cpu, "_pixelwise_kernel", None), "_cache", None)
    if getattr(cache, "_cache_path", None):
        return str(cache._cache_path)
    import numba

    return numba.config.CACHE_DIR or str(Path(cpu.__file__).parent / "__pycache__")


def main() -> None:
    """Console entry point."""
    app(prog_name="nlmeans")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
