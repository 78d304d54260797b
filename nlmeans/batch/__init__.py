"""The batch runner: denoise every image of a folder into a mirrored folder.

Library code behind ``nlmeans batch``: it finds the files, skips outputs that
exist (so an interrupted batch resumes), keeps going past files that cannot be
read or written, and reports each file as it finishes. Both runners take the
command's one :class:`~nlmeans.Request`; every image goes through the
core :func:`nlmeans._denoise.denoise_request` (the request fitted to the picture
by :func:`request_for`) and :mod:`nlmeans.io` (atomic writes), with all CPU
threads inside each image while one helper thread reads the next file and
another encodes and writes the previous output.

:func:`run_batch_distributed` runs the same per-file code
(:func:`~nlmeans.batch._process.denoise_picture`, :func:`process_item`) as
one task per file on a Dask cluster (``nlmeans batch --dask``), with the same
resuming, reports and order.

The modules: :mod:`~nlmeans.batch._records` (Item, ItemResult, Summary),
:mod:`~nlmeans.batch._discovery` (finding the files, output paths),
:mod:`~nlmeans.batch._process` (the per-file steps both runners share),
:mod:`~nlmeans.batch._same_params` (which files ``--same-params`` fits),
:mod:`~nlmeans.batch._readahead` (what the read-ahead keeps of an input),
:mod:`~nlmeans.batch._local` (:func:`run_batch`) and
:mod:`~nlmeans.batch._distributed` (:func:`run_batch_distributed`, ``--dask``;
each worker warms the kernels the request needs, a list taken from the backend
registry by :meth:`~nlmeans.Request.kernels_to_warm`).
The names the command line, the reports and the tests use are re-exported here.
"""

from __future__ import annotations

from ._discovery import check_folders, check_inside, discover, wanted
from ._distributed import (
    dask_client,
    parse_dask,
    prepare_worker,
    run_batch_distributed,
)
from ._local import run_batch
from ._process import denoise_picture, process_item, reason_of, request_for
from ._records import DONE, FAILED, SKIPPED, Item, ItemResult, Summary

__all__ = [
    "DONE",
    "FAILED",
    "SKIPPED",
    "Item",
    "ItemResult",
    "Summary",
    "check_folders",
    "check_inside",
    "dask_client",
    "denoise_picture",
    "discover",
    "parse_dask",
    "prepare_worker",
    "process_item",
    "reason_of",
    "request_for",
    "run_batch",
    "run_batch_distributed",
    "wanted",
]
