"""The batch runner: denoise every image of a folder into a mirrored folder.

Library code behind ``nlmeans batch``: it finds the files, skips outputs that
exist (so an interrupted batch resumes), keeps going past files that cannot be
read or written, and reports each file as it finishes. Every image goes
through the public :func:`nlmeans.denoise` and :mod:`nlmeans.io` (atomic
writes), with all CPU threads inside each image while one helper thread reads
the next file and another encodes and writes the previous output.

:func:`run_batch_distributed` runs the same per-file code
(:func:`denoise_picture`, :func:`process_item`) as one task per file on a Dask
cluster (``nlmeans batch --dask``), with the same resuming, reports and order.
"""

from __future__ import annotations

import contextlib
import errno
import fnmatch
import functools
import logging
import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .backends import Backend, select
from .errors import NLMeansError
from .frontdoor import denoise
from .io import (
    IMAGE_EXTENSIONS,
    VIDEO_EXTENSIONS,
    ImageFileError,
    OutputExistsError,
    check_picture_format,
    read_image,
    require_finite,
    resolve_path,
    write_image,
)
from .io.axes import radii_for_axes
from .io_zarr import require_extra
from .noise import estimate_sigma
from .params import Params

#: Status of one file in a batch.
DONE, SKIPPED, FAILED = "done", "skipped", "failed"


@dataclass(frozen=True)
class Item:
    """One input file and where its output goes."""

    source: Path
    relative: Path
    target: Path
    #: Why this file is not processed (a symbolic link out of INPUT_DIR), else None.
    skip_reason: str | None = None
    #: Why this entry failed before any work (a folder that cannot be listed, a
    #: symbolic link loop or a broken link), else None: reported as a failure.
    error: str | None = None


@dataclass
class ItemResult:
    """What happened to one file: ``status`` is done, skipped or failed."""

    item: Item
    status: str
    reason: str | None = None
    seconds: float | None = None
    params: Params | None = None
    #: The axes of the file as read (e.g. ``YXC``, ``TYX``), when it was read.
    axes: str | None = None


@dataclass
class Summary:
    """Counts and times of a finished (or interrupted) batch."""

    done: int = 0
    skipped: int = 0
    failed: int = 0
    seconds: float = 0.0
    failures: list[ItemResult] = field(default_factory=list)

    def add(self, result: ItemResult) -> None:
        if result.status == DONE:
            self.done += 1
        elif result.status == SKIPPED:
            self.skipped += 1
        else:
            self.failed += 1
            self.failures.append(result)

    @property
    def seconds_per_image(self) -> float | None:
        """Wall time per denoised image (reading, denoising and writing included)."""
        return self.seconds / self.done if self.done else None

    @property
    def images_per_second(self) -> float | None:
        return self.done / self.seconds if self.done and self.seconds > 0 else None


def check_folders(input_dir: Path, output_dir: Path, recursive: bool) -> None:
    """Refuse folder pairs that cannot work or would feed outputs back as inputs.

    Raises NLMeansError when INPUT_DIR is missing or not a folder, when both are
    the same folder, when OUTPUT_DIR is inside INPUT_DIR with ``recursive`` (the
    outputs would be found as inputs by the next run), or when OUTPUT_DIR exists
    and is not a folder.
    """
    if not input_dir.exists():
        raise NLMeansError(f"{input_dir}: no such folder")
    if not input_dir.is_dir():
        raise NLMeansError(f"{input_dir}: is a file, expected a folder of images")
    if output_dir.exists() and not output_dir.is_dir():
        raise NLMeansError(f"{output_dir}: is a file, expected the output folder")
    source, target = input_dir.resolve(), output_dir.resolve()
    if source == target:
        raise NLMeansError(
            f"{output_dir}: OUTPUT_DIR is INPUT_DIR; choose another folder for the outputs"
        )
    if recursive and source in target.parents:
        raise NLMeansError(
            f"{output_dir}: OUTPUT_DIR is inside INPUT_DIR, so with --recursive the outputs "
            "would be read as inputs; choose a folder outside INPUT_DIR"
        )


def wanted(name: str, pattern: str | None) -> bool:
    """True for a file name the batch takes: ``pattern`` (a glob on the name) or an image
    extension nlmeans reads. Hidden files (``.name``, e.g. unfinished temporary
    outputs) never match."""
    if name.startswith("."):
        return False
    if pattern is not None:
        return fnmatch.fnmatch(name, pattern)
    extension = os.path.splitext(name)[1].lower()
    if extension in VIDEO_EXTENSIONS:
        return _video_extra()  # videos are looked for with the video extra only
    return extension in IMAGE_EXTENSIONS


def _video_extra() -> bool:
    """True when PyAV (the video extra) is installed."""
    import importlib.util

    return importlib.util.find_spec("av") is not None


def discover(
    input_dir: Path,
    output_dir: Path,
    pattern: str | None = None,
    recursive: bool = False,
    follow_links: bool = False,
) -> list[Item]:
    """The files to denoise, sorted by relative path, each with its mirrored target.

    Symbolic links to folders are never descended. A symbolic link to a file
    outside INPUT_DIR is listed with a ``skip_reason`` unless ``follow_links``.
    """
    items = []
    root = input_dir.resolve()

    def unreadable(error: OSError) -> None:
        # os.walk skips a folder it cannot list; its files would silently be left out.
        folder = Path(error.filename) if error.filename else input_dir
        relative = folder.relative_to(input_dir) if folder != input_dir else Path(".")
        why = error.strerror or str(error)
        items.append(
            Item(folder, relative, output_dir / relative, error=f"folder cannot be read ({why}); "
                 "its files were left out")
        )  # fmt: skip

    for folder, subfolders, names in os.walk(input_dir, onerror=unreadable):
        subfolders[:] = sorted(d for d in subfolders if not d.startswith(".")) if recursive else []
        for name in names:
            source = Path(folder) / name
            if not wanted(name, pattern):
                continue
            relative = source.relative_to(input_dir)
            if not source.is_file():
                if os.path.islink(source):  # a loop or a broken link: say so
                    problem = _link_problem(source)
                    items.append(Item(source, relative, output_dir / relative, error=problem))
                continue
            try:
                outside = not follow_links and root not in source.resolve().parents
            except (RuntimeError, OSError):  # a link loop created meanwhile
                items.append(Item(source, relative, output_dir / relative, error="symbolic link "
                                  "loop (it never reaches a file)"))  # fmt: skip
                continue
            reason = "symbolic link out of INPUT_DIR, not followed" if outside else None
            items.append(Item(source, relative, output_dir / relative, reason))
    return sorted(items, key=lambda item: item.relative.as_posix())


def _link_problem(link: Path) -> str:
    """Why a symbolic link named like an image is not a file: a loop or a broken link."""
    try:
        os.stat(link)
    except OSError as error:
        if error.errno == errno.ELOOP:
            return "is a symbolic link loop (it never reaches a file)"
        if error.errno == errno.ENOENT:
            return "is a broken symbolic link"
        return f"cannot be read ({error.strerror or error})"
    return "is not a regular file"


def check_inside(item: Item) -> None:
    """Raise ImageFileError when ``item``'s output folder resolves outside OUTPUT_DIR
    (a symbolic link inside OUTPUT_DIR leading elsewhere). Call before creating it."""
    root = item.target.parents[len(item.relative.parts) - 1].resolve()  # OUTPUT_DIR
    folder = item.target.parent.resolve()  # follows links in the parts that exist
    if folder != root and root not in folder.parents:
        raise ImageFileError(
            item.target, f"output folder leads outside OUTPUT_DIR (to {folder}); not written"
        )


def reason_of(error: BaseException) -> str:
    """The one-line reason of a failure, without the path the report already shows."""
    if isinstance(error, ImageFileError):
        return error.problem
    if isinstance(error, OSError):
        return error.strerror or str(error)
    return str(error)


def _options_for(picture, options: dict) -> dict:
    """``options`` for this picture: only 3-channel ones have chrominance (h_chroma); a
    time axis gets its default radii (:func:`nlmeans.io.axes.radii_for_axes`)."""
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
    return {**options, **fixed}


def process_item(
    item: Item,
    options: dict,
    replaces_input: bool,
    overwrite: bool = False,
    axes: str | None = None,
    codec: str | None = None,
) -> ItemResult:
    """Read, denoise and write one file in one go: a task of the distributed batch.

    The same steps as :func:`run_batch` (:func:`denoise_picture`, then the atomic
    :func:`nlmeans.io.write_image`), with the same failure reasons; without
    ``overwrite`` an output that appeared meanwhile is never replaced (skipped).
    """
    start = time.perf_counter()
    try:
        if not overwrite and os.path.lexists(item.target):
            return ItemResult(item, SKIPPED, "output exists")
        picture = read_image(item.source, axes)
        result, params = denoise_picture(item, picture, options, replaces_input)
        write_image(
            item.target, picture.with_pixels(result), replace=overwrite, like=picture, codec=codec
        )
    except OutputExistsError:
        return ItemResult(item, SKIPPED, "output exists", time.perf_counter() - start)
    except (NLMeansError, OSError) as error:
        return ItemResult(item, FAILED, reason_of(error), time.perf_counter() - start)
    return ItemResult(item, DONE, None, time.perf_counter() - start, params, picture.layout)


def run_batch(
    items: list[Item],
    *,
    options: dict,
    same_params: bool = False,
    overwrite: bool = False,
    axes: str | None = None,
    codec: str | None = None,
) -> Iterator[ItemResult]:
    """Denoise ``items`` one after another, yielding each file's result in order.

    Parameters
    ----------
    items : list of Item
        From :func:`discover`.
    options : dict
        Keyword arguments of :func:`nlmeans.denoise` (``h``, ``sigma``, ``f``,
        ``r``, ``method``, ``tune``, ``backend``, ``h_chroma``, the last one
        applied to 3-channel images only). Unset parameters are resolved (or
        tuned) per image.
    same_params : bool
        Use the parameters resolved (or tuned) for the first image denoised
        (raw units of that image) for all the others.
    overwrite : bool
        Redo files whose output exists; otherwise they are skipped, which makes
        a re-run after an interruption finish the rest.
    axes : str, optional
        The axes of every file (``--axes``, :func:`nlmeans.io.read_image`).
    codec : str, optional
        Video outputs' codec (``--codec``).

    Yields
    ------
    ItemResult
        done (with seconds and the parameters used), skipped, or failed (with
        the reason); a failure never stops the batch.
    """
    sources = {item.source.resolve() for item in items if item.error is None}
    resolved_once = False
    todo = [
        item.error is None
        and item.skip_reason is None
        and (overwrite or not os.path.lexists(item.target))
        for item in items
    ]
    next_index = _next_todo(todo, 0)
    read = functools.partial(read_image, axes=axes)
    reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nlmeans-read")
    writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nlmeans-write")
    try:
        pending = (
            reader.submit(read, items[next_index].source) if next_index < len(items) else None
        )
        writing = None  # the output being written: (item, future, start, params)
        for index, item in enumerate(items):
            if item.error is not None:
                yield from _written(writing)
                writing = None
                yield ItemResult(item, FAILED, item.error)
                continue
            if not todo[index]:
                yield from _written(writing)
                writing = None
                yield ItemResult(item, SKIPPED, item.skip_reason or "output exists")
                continue
            start = time.perf_counter()
            current, following = pending, _next_todo(todo, index + 1)
            # Read the next file while this one is denoised (the kernels release the GIL).
            pending = (
                reader.submit(read, items[following].source)
                if following < len(items)
                else None
            )
            try:
                picture = current.result()
                if not overwrite and os.path.lexists(item.target):
                    # Created since the batch started (another process): never replaced.
                    yield from _written(writing)
                    writing = None
                    yield ItemResult(item, SKIPPED, "output exists")
                    continue
                result, params = denoise_picture(
                    item, picture, options, resolve_path(item.target) in sources
                )
                if same_params and not resolved_once:
                    options = fixed_options(options, params)
                    resolved_once = True
            except (NLMeansError, OSError) as error:
                yield from _written(writing)
                writing = None
                yield ItemResult(item, FAILED, reason_of(error), time.perf_counter() - start)
                continue
            # Encode and write this output (atomically) while the next image is denoised.
            yield from _written(writing)
            # Without overwrite the output is published only if it still does not
            # exist at that moment (no check-then-rename race with another process).
            future = writer.submit(
                write_image, item.target, picture.with_pixels(result), replace=overwrite,
                like=picture, codec=codec,
            )  # fmt: skip
            writing = (item, future, start, params, picture.layout)
        yield from _written(writing)
    finally:
        # Also when interrupted (Ctrl-C, SIGTERM) or closed early: never wait for the
        # read of a file that will not be denoised; a write under way finishes (or
        # removes its temporary file) before the batch stops.
        reader.shutdown(wait=False, cancel_futures=True)
        writer.shutdown(wait=True)


def _written(writing) -> Iterator[ItemResult]:
    """Wait for the output being written, then yield its result (nothing if None)."""
    if writing is None:
        return
    item, future, start, params, axes = writing
    try:
        future.result()
    except OutputExistsError:
        yield ItemResult(item, SKIPPED, "output exists", time.perf_counter() - start)
        return
    except (NLMeansError, OSError) as error:
        yield ItemResult(item, FAILED, reason_of(error), time.perf_counter() - start)
        return
    yield ItemResult(item, DONE, None, time.perf_counter() - start, params, axes)


def _next_todo(todo: list[bool], start: int) -> int:
    """Index of the first item to process at or after ``start`` (len(todo) if none)."""
    return next((i for i in range(start, len(todo)) if todo[i]), len(todo))


# ---------------------------------------------------------------- distributed


def parse_dask(spec: str) -> tuple[str, int | str]:
    """``("local", N)`` or ``("tcp", address)`` for a ``--dask`` value, else NLMeansError.

    Also checks that the dask extra (distributed) is installed.
    """
    if spec.startswith("local:"):
        try:
            workers = int(spec[len("local:") :])
        except ValueError:
            workers = 0
        if workers < 1:
            raise NLMeansError(f"--dask {spec!r}: expected local:N with N >= 1 workers")
        result = ("local", workers)
    elif spec.startswith("tcp://"):
        result = ("tcp", spec)
    else:
        raise NLMeansError(f"--dask {spec!r}: expected local:N or tcp://host:port")
    require_extra("--dask", modules=("distributed",))
    return result


@contextlib.contextmanager
def dask_client(spec: str):
    """A distributed Client for ``--dask``: ``local:N`` or the scheduler ``tcp://host:port``.

    ``local:N`` starts a LocalCluster of N worker processes with one thread each
    (closed on exit); ``tcp://…`` connects to a running scheduler, whose workers
    must see INPUT_DIR and OUTPUT_DIR at the same paths. Needs the dask extra.
    """
    kind, value = parse_dask(spec)
    from distributed import Client, LocalCluster

    cluster = None
    if kind == "local":
        cluster = LocalCluster(
            n_workers=value,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
        client = Client(cluster)
    else:
        try:
            client = Client(value, timeout="20s")
        except (OSError, TimeoutError) as error:
            raise NLMeansError(f"--dask {spec}: cannot reach the scheduler ({error})") from None
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def kernels_to_warm(method: str | None, tune: bool, backend: Backend) -> list[tuple[str, int]]:
    """(method, number of h) pairs a worker compiles or loads before its first file."""
    if not tune:
        return [(method or "pixel", 1)]
    methods = list(backend.methods) if method is None else [method]
    return [(m, k) for m in methods for k in (1, 2)]


def plan_threads(client) -> dict[str, int]:
    """{worker address: Numba threads}: each machine's cores // the Dask threads on it."""
    cores = client.run(os.cpu_count)
    workers = client.scheduler_info(n_workers=-1)["workers"]
    per_host: dict[str, int] = {}
    for worker in workers.values():
        per_host[worker["host"]] = per_host.get(worker["host"], 0) + worker["nthreads"]
    return {
        address: max(1, (cores.get(address) or 1) // per_host[worker["host"]])
        for address, worker in workers.items()
    }


#: What this worker process has compiled or loaded: {(backend, method, strengths)}.
_WARMED: set = set()
_WARM_LOCK = threading.Lock()


def prepare_worker(backend: str, warm, plan: dict[str, int], dask_worker=None) -> None:
    """On a worker: compile or load the kernels once per process, and set the task's threads.

    Numba's thread count is per calling thread, so every task calls this; the
    warm-up runs only the first time in each worker process.
    """
    import numba
    from distributed import get_worker

    chosen = select(backend)
    with _WARM_LOCK:
        missing = [(m, k) for m, k in warm if (backend, m, k) not in _WARMED]
        for method, strengths in missing:
            chosen.warm_up(method, strengths)
            _WARMED.add((backend, method, strengths))
        if missing:
            estimate_sigma(np.random.default_rng(0).random((96, 96), dtype=np.float32))
    worker = dask_worker if dask_worker is not None else get_worker()  # client.run: dask_worker
    cores = os.cpu_count() or 1
    threads = plan.get(worker.address) or max(1, cores // worker.state.nthreads)
    if chosen.set_threads is not None:
        chosen.set_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))


def _remote_item(
    item: Item, options: dict, replaces_input, overwrite, setup, axes=None, codec=None
) -> ItemResult:
    prepare_worker(*setup)
    return process_item(item, options, replaces_input, overwrite, axes, codec)


def run_batch_distributed(
    items: list[Item],
    *,
    client,
    options: dict,
    same_params: bool = False,
    overwrite: bool = False,
    warm=(("pixel", 1),),
    axes: str | None = None,
    codec: str | None = None,
) -> Iterator[ItemResult]:
    """:func:`run_batch` on a Dask cluster: each file is one task (:func:`process_item`).

    Same skips (resume), same per-file code, failure reasons and results, yielded
    in the same order. Every worker compiles or loads the ``warm`` kernels once
    (:func:`prepare_worker`) and gives each task cores // (Dask threads on its
    machine) Numba threads. With ``same_params`` the files are tried one at a
    time until one is done; its parameters then serve all the others. A file
    whose worker process dies (three times) is reported as failed.
    """
    from distributed import KilledWorker

    sources = {item.source.resolve() for item in items if item.error is None}
    todo = [
        item.error is None
        and item.skip_reason is None
        and (overwrite or not os.path.lexists(item.target))
        for item in items
    ]
    setup = (options["backend"], list(warm), plan_threads(client))
    client.run(prepare_worker, *setup)

    def submit(index, opts):
        item = items[index]
        try:
            replaces = resolve_path(item.target) in sources
        except NLMeansError as error:  # the output path is a link loop
            return ItemResult(item, FAILED, reason_of(error))
        return client.submit(
            _remote_item, item, opts, replaces, overwrite, setup, axes, codec, pure=False
        )

    def outcome(index, future) -> ItemResult:
        if isinstance(future, ItemResult):
            return future
        try:
            return future.result()
        except KilledWorker:
            return ItemResult(items[index], FAILED, "a worker process died while denoising it")

    waiting = [index for index in range(len(items)) if todo[index]]
    finished: dict[int, ItemResult] = {}
    while same_params and waiting:
        index = waiting.pop(0)
        finished[index] = outcome(index, submit(index, options))
        if finished[index].status == DONE:
            options = fixed_options(options, finished[index].params)
            break
    futures = {index: submit(index, options) for index in waiting}
    try:
        for index, item in enumerate(items):
            if item.error is not None:
                yield ItemResult(item, FAILED, item.error)
            elif not todo[index]:
                yield ItemResult(item, SKIPPED, item.skip_reason or "output exists")
            elif index in finished:
                yield finished[index]
            else:
                yield outcome(index, futures.pop(index))
    finally:
        client.cancel([f for f in futures.values() if not isinstance(f, ItemResult)])
