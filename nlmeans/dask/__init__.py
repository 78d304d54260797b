"""Non-local means on Dask arrays: images larger than memory, computed chunk by chunk.

:func:`denoise` mirrors :func:`nlmeans.denoise` on a dask array and returns a
lazy dask array with the input's shape, chunks and dtype. How it stays equal to
the in-memory run:

- everything the whole image decides is decided once, before any chunk is
  denoised: the per-channel [min, max] the result is clipped to (and, for float
  images, the default ``data_range``) in one streaming pass over the array, and
  the parameters (sigma when estimated, the presets, or SURE's choice with
  ``tune``) from a sample of tiles (:func:`sample_tiles`);
- each chunk is denoised with the overlap the method needs on every axis,
  ``padding(method, f, r)`` (r + f pixelwise, r + 2f patchwise), taken from its
  neighbours (:func:`dask.array.map_overlap`, no boundary); at the array's
  true borders the block is extended by ``np.pad(mode="reflect")``, which is the
  front door's padding there: a chunk at a border holds, with its overlap, at
  least ``pad + 1`` pixels from that border (thinner chunks are merged, see
  below) or the whole axis (where NumPy repeats the reflection as the front
  door does). ``dask.array.pad(mode="reflect")`` is not used: it differs from
  NumPy's when an axis is shorter than the margin;
- :func:`nlmeans._blocks.denoise_padded_block` then computes the chunk's
  estimate and rounds, casts and clips it exactly as :func:`nlmeans.denoise`
  finishes a whole image.

Numba threads: each task uses ``max(1, cores // dask_threads)`` Numba threads,
where ``dask_threads`` is the number of Dask threads running tasks on the same
machine (see :func:`task_threads`), so that Numba × Dask never oversubscribe
the cores.

The modules: :mod:`~nlmeans.dask._chunked` (:func:`denoise`, which makes the
:class:`~nlmeans.Request` of its keywords, and ``denoise_request``,
which every chunked path runs), :mod:`~nlmeans.dask._mapped` (σ maps, masks
and the Rician model, chunked with the image), :mod:`~nlmeans.dask._sampling`
(the tiles and points parameters are decided from), :mod:`~nlmeans.dask._threads`
(Numba threads per task) and :mod:`~nlmeans.dask._files` (:func:`denoise_file`,
``.zarr`` and TIFF files, taking a request).

References
----------
Buades, Coll & Morel, "Non-Local Means Denoising", IPOL 2011.
"""

from __future__ import annotations

from ._chunked import denoise
from ._files import denoise_file
from ._sampling import DEFAULT_SAMPLE_CHUNKS, MIN_SAMPLE_TILE, sample_tiles
from ._threads import plan_worker_threads, task_threads

__all__ = [
    "DEFAULT_SAMPLE_CHUNKS",
    "MIN_SAMPLE_TILE",
    "denoise",
    "denoise_file",
    "plan_worker_threads",
    "sample_tiles",
    "task_threads",
]
