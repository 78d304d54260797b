"""Numba threads per Dask task: Numba × Dask threads never oversubscribe the cores.

Each task uses ``max(1, cores // dask_threads)`` Numba threads, where
``dask_threads`` is the number of Dask threads running tasks on the same
machine: planned once per compute for the local schedulers, per worker (by
host) for a distributed Client, and looked up in the task (:func:`task_threads`).
"""

from __future__ import annotations

import os

#: Numba threads per task on each distributed worker, by worker address, set by
#: :func:`_remember_threads` (one entry per worker process's own address).
_WORKER_THREADS: dict[str, int] = {}


def planned_threads() -> int | None:
    """Numba threads per task for the scheduler active now (None: decide in the task).

    Threads and processes schedulers: cores // their worker count (Dask's
    ``num_workers`` setting, by default the cores); synchronous: all cores. A
    distributed Client: each worker gets cores of its machine // Dask threads on
    that machine (:func:`plan_worker_threads`), looked up in the task.
    """
    import dask
    import dask.local
    import dask.multiprocessing
    import dask.threaded

    cores = os.cpu_count() or 1
    scheduler = dask.base.get_scheduler()
    client = getattr(scheduler, "__self__", None)
    if client is not None and type(client).__name__ == "Client":
        plan_worker_threads(client)
        return None
    if scheduler is dask.local.get_sync:
        return cores
    if scheduler in (None, dask.threaded.get, dask.multiprocessing.get):
        workers = dask.config.get("num_workers", None) or cores
        return max(1, cores // int(workers))
    return None


def plan_worker_threads(client) -> dict[str, int]:
    """Tell every worker of ``client`` its Numba threads per task: cores // Dask threads per host.

    The Dask threads of all the workers on one machine (their ``nthreads``,
    summed by host) share its cores. Returns {worker address: threads}.
    """
    cores = client.run(os.cpu_count)
    workers = client.scheduler_info(n_workers=-1)["workers"]
    per_host: dict[str, int] = {}
    for worker in workers.values():
        per_host[worker["host"]] = per_host.get(worker["host"], 0) + worker["nthreads"]
    plan = {
        address: max(1, (cores.get(address) or 1) // per_host[worker["host"]])
        for address, worker in workers.items()
    }
    client.run(_remember_threads, plan)
    return plan


def _remember_threads(plan: dict[str, int], dask_worker=None) -> None:
    address = dask_worker.address  # client.run passes the worker
    if address in plan:
        _WORKER_THREADS[address] = plan[address]


def task_threads(planned: int | None = None) -> int:
    """Numba threads for the task running now.

    ``planned`` when given; on a distributed worker the plan of
    :func:`plan_worker_threads`, else cores // the worker's Dask threads; else
    all cores. Never more than Numba's thread limit here.
    """
    cores = os.cpu_count() or 1
    n = planned
    if n is None:
        n = cores
        try:
            from distributed import get_worker

            worker = get_worker()
        except (ImportError, ValueError):
            worker = None
        if worker is not None:
            n = _WORKER_THREADS.get(worker.address) or max(1, cores // worker.state.nthreads)
    import numba

    return max(1, min(int(n), numba.config.NUMBA_NUM_THREADS))
