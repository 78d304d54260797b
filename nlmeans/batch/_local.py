"""The local batch runner: one image after another, reading and writing overlapped.

All CPU threads work inside each image while one helper thread reads the
next file and another encodes and writes the previous output (atomically,
through :mod:`nlmeans.io`); results are yielded in order as files finish.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

from .._interrupts import reraise_interrupt
from .._request import Request
from ..io import OutputExistsError, read_image, resolve_path, write_image
from ._process import denoise_picture, reason_of
from ._readahead import READ_LATER, read_beside, without_pixels
from ._records import DONE, FAILED, SKIPPED, Item, ItemResult
from ._same_params import ParamsSource


def run_batch(
    items: list[Item],
    request: Request,
    *,
    same_params: bool = False,
    overwrite: bool = False,
    codec: str | None = None,
) -> Iterator[ItemResult]:
    """Denoise ``items`` one after another, yielding each file's result in order.

    Parameters
    ----------
    items : list of Item
        From :func:`discover`.
    request : Request
        The choices (:class:`nlmeans.Request`; ``h_chroma`` applies to
        3-channel images only, ``axes`` to every file as in
        :func:`nlmeans.io.read_image`). Unset parameters are resolved (or tuned)
        per image.
    same_params : bool
        Use the parameters resolved (or tuned) for the first image denoised
        (raw units of that image) for all the others with the same spatial
        axes; a file with other axes fails by name, unprocessed.
    overwrite : bool
        Redo files whose output exists; otherwise they are skipped, which makes
        a re-run after an interruption finish the rest.
    codec : str, optional
        Video outputs' codec (``--codec``).

    Yields
    ------
    ItemResult
        done (with seconds and the parameters used), skipped, or failed (with
        the reason); a failure never stops the batch.
    """
    sources = {item.source.resolve() for item in items if item.error is None}
    shared = None  # with same_params: the file the parameters come from (ParamsSource)
    todo = [
        item.error is None
        and item.skip_reason is None
        and (overwrite or not os.path.lexists(item.target))
        for item in items
    ]
    next_index = _next_todo(todo, 0)
    read = functools.partial(read_image, axes=request.axes)
    reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nlmeans-read")
    writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nlmeans-write")
    try:
        pending = reader.submit(read, items[next_index].source) if next_index < len(items) else None
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
            # At most two inputs are held: this one and the next (the previous output
            # is written with its result and a pixel-less record of its input); the
            # next read's memory checks leave room for this file's denoise.
            picture = None
            try:
                try:
                    picture = current.result()
                    if picture is READ_LATER:  # it fits now that the previous denoise is done
                        picture = read(item.source)
                finally:
                    pending = (
                        reader.submit(read_beside, read, items[following].source, picture)
                        if following < len(items)
                        else None
                    )
                if not overwrite and os.path.lexists(item.target):
                    # Created since the batch started (another process): never replaced.
                    yield from _written(writing)
                    writing = None
                    yield ItemResult(item, SKIPPED, "output exists")
                    continue
                if shared is not None:
                    shared.check(picture)
                result, params = denoise_picture(
                    item, picture, request, resolve_path(item.target) in sources
                )
                if same_params and shared is None:
                    request = request.with_params(params)
                    shared = ParamsSource(str(item.relative), picture.spatial)
            except Exception as error:  # one file's failure, an internal one included
                reraise_interrupt(error)  # Ctrl-C inside compiled code: stop the batch
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
                like=without_pixels(picture), codec=codec,
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
    except Exception as error:  # one file's failure, an internal one included
        yield ItemResult(item, FAILED, reason_of(error), time.perf_counter() - start)
        return
    yield ItemResult(item, DONE, None, time.perf_counter() - start, params, axes)


def _next_todo(todo: list[bool], start: int) -> int:
    """Index of the first item to process at or after ``start`` (len(todo) if none)."""
    return next((i for i in range(start, len(todo)) if todo[i]), len(todo))
