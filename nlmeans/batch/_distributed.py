"""The distributed batch runner: one Dask task per file (``nlmeans batch --dask``).

Parses ``--dask`` and opens the client, plans each worker's Numba threads,
warms the kernels once per worker process, and runs :func:`process_item` as
one task per file, with the local runner's resuming, reports and order.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import warnings
from collections.abc import Iterator

import numpy as np

from .._request import Request
from ..backends import select
from ..dask._threads import plan_worker_threads
from ..errors import NLMeansError
from ..io import resolve_path
from ..io._zarr import require_extra
from ..noise import estimate_sigma
from ._process import process_item, reason_of
from ._records import DONE, FAILED, SKIPPED, Item, ItemResult
from ._same_params import ParamsSource


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
        most = local_worker_limit()
        if workers > most:
            warnings.warn(
                f"--dask local:{workers} is more workers than this machine holds "
                f"(its cores and memory); using {most}",
                stacklevel=2,
            )
            workers = most
        result = ("local", workers)
    elif spec.startswith("tcp://"):
        result = ("tcp", spec)
    else:
        raise NLMeansError(f"--dask {spec!r}: expected local:N or tcp://host:port")
    require_extra("--dask", modules=("distributed",))
    return result


#: Memory a local worker process takes before any image (Python, NumPy, Numba, Dask).
LOCAL_WORKER_BYTES = 512 * 2**20


def local_worker_limit() -> int:
    """Return the most ``--dask local:N`` workers here.

    One per core, and no more than the available memory holds at
    :data:`LOCAL_WORKER_BYTES` each.
    """
    from .._memory import available_bytes

    most = os.cpu_count() or 1
    free = available_bytes()
    if free is not None:
        most = min(most, max(1, free // LOCAL_WORKER_BYTES))
    return int(most)


@contextlib.contextmanager
def dask_client(spec: str):
    """Return a distributed Client for ``--dask``: ``local:N`` or the scheduler ``tcp://host:port``.

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
    item: Item, request, replaces_input, overwrite, setup, codec=None, source=None
) -> ItemResult:
    prepare_worker(*setup)
    return process_item(item, request, replaces_input, overwrite, codec, source)


def run_batch_distributed(
    items: list[Item],
    request: Request,
    *,
    client,
    same_params: bool = False,
    overwrite: bool = False,
    codec: str | None = None,
) -> Iterator[ItemResult]:
    """:func:`run_batch` on a Dask cluster: each file is one task (:func:`process_item`).

    Same skips (resume), same per-file code, failure reasons and results, yielded
    in the same order. Every worker compiles or loads the kernels ``request``
    needs (:meth:`~nlmeans.Request.kernels_to_warm`) once
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
    warm = request.kernels_to_warm(select(request.backend))
    setup = (request.backend, warm, plan_worker_threads(client))
    client.run(prepare_worker, *setup)

    source = None  # with same_params: the file the parameters come from

    def submit(index, chosen: Request):
        item = items[index]
        try:
            replaces = resolve_path(item.target) in sources
        except NLMeansError as error:  # the output path is a link loop
            return ItemResult(item, FAILED, reason_of(error))
        return client.submit(
            _remote_item, item, chosen, replaces, overwrite, setup, codec, source, pure=False
        )

    def outcome(index, future) -> ItemResult:
        if isinstance(future, ItemResult):
            return future
        try:
            return future.result()
        except KilledWorker:
            return ItemResult(items[index], FAILED, "a worker process died while denoising it")
        except Exception as error:  # one file's failure, an internal one included
            return ItemResult(items[index], FAILED, reason_of(error))

    waiting = [index for index in range(len(items)) if todo[index]]
    finished: dict[int, ItemResult] = {}
    while same_params and waiting:
        index = waiting.pop(0)
        finished[index] = outcome(index, submit(index, request))
        if finished[index].status == DONE:
            request = request.with_params(finished[index].params)
            spatial = (finished[index].axes or "").replace("C", "")
            source = ParamsSource(str(items[index].relative), spatial)
            break
    futures = {index: submit(index, request) for index in waiting}
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
