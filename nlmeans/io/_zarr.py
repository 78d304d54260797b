"""Chunked files: zarr arrays and large TIFFs read lazily, zarr written atomically.

The optional ``dask`` extra (``pip install "nlmeans[dask]"``: dask[array],
distributed, zarr) is needed here; without it :func:`require_extra` raises one
NLMeansError line naming the extra.

- :func:`open_lazy`: a ``.zarr`` array, or a TIFF through tifffile's zarr store
  (``tifffile.imread(path, aszarr=True)``), as a lazy dask array: nothing is
  read until a chunk is computed. A TIFF streams when it is tiled or stored in
  strips; one compressed strip holding the whole image is decoded whole by every
  chunk that reads it.
- :func:`write_zarr`: stores a dask array chunk by chunk into a hidden
  temporary zarr store beside the output, then renames it into place, so an
  interrupted or failed run never leaves an output that looks complete.
"""

from __future__ import annotations

import contextlib
import errno
import importlib
import math
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .._arrays import check_channel_axis
from .._request import DEFAULT_CHUNK
from ..errors import NLMeansError
from ._noreplace import rename_folder_no_replace
from ._write import final_publish, new_file_mode

#: How to install what chunked files and clusters need.
EXTRA_HINT = 'pip install "nlmeans[dask]"'

#: Suffix of the chunked file format.
ZARR_SUFFIX = ".zarr"


def require_extra(what: str, modules=("dask.array", "zarr")) -> None:
    """Raise NLMeansError, one line naming the extra, unless ``modules`` import."""
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError:
            raise NLMeansError(
                f"{what} needs the optional dask extra ({name} is not installed): {EXTRA_HINT}"
            ) from None


def is_zarr(path) -> bool:
    """Tell whether a path has the ``.zarr`` suffix (any case)."""
    return Path(path).suffix.lower() == ZARR_SUFFIX


@dataclass
class LazyImage:
    """A chunked image: the lazy ``pixels``, their channel axis and an alpha channel.

    ``alpha`` (a lazy array, or None) is a TIFF's extra sample (gray+alpha,
    RGBA) along ``alpha_axis``, kept apart like :class:`nlmeans.io.Picture`
    keeps it and put back unchanged by :meth:`with_pixels`.
    """

    pixels: object
    channel_axis: int | None
    alpha: object | None = None
    alpha_axis: int | None = None

    def with_pixels(self, pixels):
        """Return the full lazy array to write: ``pixels`` with the alpha channel re-attached."""
        if self.alpha is None:
            return pixels
        import dask.array as da

        if self.channel_axis is None:  # gray + alpha
            return da.stack([pixels, self.alpha], axis=self.alpha_axis)
        alpha = da.expand_dims(self.alpha, self.alpha_axis)
        return da.concatenate([pixels, alpha], axis=self.alpha_axis)


def _chunks_for(shape, channel_axis: int | None, chunk: int) -> tuple:
    """``chunk`` pixels per spatial axis, the whole channel axis in one chunk."""
    return tuple(n if axis == channel_axis else min(n, chunk) for axis, n in enumerate(shape))


def open_lazy(path, chunk: int = DEFAULT_CHUNK, channel_axis: int | None = None) -> LazyImage:
    """Open a ``.zarr`` array or a TIFF as a lazy dask array of ``chunk`` pixels per spatial axis.

    Parameters
    ----------
    path : path
        A zarr array (or a group holding one array, or a multiscale group whose
        level "0" is taken), or a TIFF file.
    chunk : int
        Chunk side per spatial axis (the channel axis is one chunk).
    channel_axis : int, optional
        Zarr: the axis of the channels; default none for 2-D arrays and the last
        axis for 3-D arrays whose last axis has at most 4 entries. TIFF: from the
        file's sample axis (an extra sample, gray+alpha or RGBA, becomes alpha).

    Returns
    -------
    LazyImage
    """
    require_extra("reading chunked images")
    import dask.array as da
    import zarr

    path = Path(path)
    _refuse_broken_link(path)
    if not path.exists():
        raise NLMeansError(f"{path}: no such file or folder")
    if chunk < 1:
        raise NLMeansError(f"chunks={chunk} is out of range; expected an integer >= 1")
    alpha_axis = None
    if is_zarr(path):
        try:
            node = zarr.open(str(path), mode="r")
        except Exception as error:
            raise NLMeansError(f"{path}: is not a readable zarr store ({error})") from None
        array = _single_array(path, node)
        if channel_axis is None and array.ndim == 3 and array.shape[-1] <= 4:
            channel_axis = -1
    else:
        import tifffile

        try:
            with tifffile.TiffFile(path) as tiff:
                axes, series = tiff.series[0].axes, len(tiff.series)
            if series > 1:  # pages written one by one are series of their own
                raise NLMeansError(
                    f"{path}: holds {series} image series (e.g. {series} pages written one "
                    "by one); the chunked path reads one — give a .tif output to read the "
                    "pages as a stack"
                )
            store = tifffile.imread(path, aszarr=True)
            array = _single_array(path, zarr.open(store, mode="r"))
        except NLMeansError:
            raise
        except Exception as error:
            raise NLMeansError(f"{path}: is not a readable TIFF ({error})") from None
        if len(axes) != array.ndim:
            raise NLMeansError(f"{path}: TIFF axes {axes} do not match its shape {array.shape}")
        channel_axis = axes.index("S") if "S" in axes else None
        if channel_axis is not None and array.shape[channel_axis] in (2, 4):
            alpha_axis = channel_axis
    channel_axis = check_channel_axis(channel_axis, array.ndim)
    chunks = _chunks_for(array.shape, channel_axis, chunk)
    _check_chunking(path, array, chunks)
    pixels = da.from_array(_CheckedChunks(path, array), chunks=chunks, asarray=True)
    alpha = None
    if alpha_axis is not None:
        last = array.shape[alpha_axis] - 1
        alpha = da.take(pixels, last, axis=alpha_axis)
        pixels = da.take(pixels, list(range(last)), axis=alpha_axis)
        if last == 1:  # gray + alpha: the gray plane alone
            pixels = da.take(pixels, 0, axis=alpha_axis)
            channel_axis = None
    return LazyImage(pixels, channel_axis, alpha, alpha_axis)


#: Most chunks a chunked run holds in its task graph (each task takes memory, about a
#: kilobyte, before any pixel is read): 1e6 chunks of 1024² pixels are 1e12 pixels.
MAX_CHUNKS = 1_000_000


def _refuse_broken_link(path: Path) -> None:
    """NLMeansError for a symbolic link loop or a link to nothing at ``path``."""
    if os.path.islink(path) and not path.exists():
        try:
            os.stat(path)
        except OSError as error:
            if error.errno == errno.ELOOP:
                raise NLMeansError(
                    f"{path}: is a symbolic link loop (it never reaches a file)"
                ) from None
        raise NLMeansError(f"{path}: is a broken symbolic link")


def _check_chunking(path, array, chunks) -> None:
    """Refuse, before any allocation, a zarr array whose chunking cannot be read.

    That is, whose stored chunks are empty or that would make more than
    :data:`MAX_CHUNKS` chunks (the task graph alone would not fit).
    """
    stored = getattr(array, "chunks", None)
    if stored is not None and any(int(side) < 1 for side in stored):
        raise NLMeansError(
            f"{path}: its chunk shape {list(stored)} has an empty side; the store is corrupt"
        )
    if not array.shape or any(int(n) < 1 for n in array.shape):
        raise NLMeansError(f"{path}: its shape {list(array.shape)} holds no pixels")
    sides = zip(array.shape, chunks, strict=True)
    count = math.prod(-(-int(n) // max(int(c), 1)) for n, c in sides)
    if count > MAX_CHUNKS:
        shape = "x".join(map(str, array.shape))
        raise NLMeansError(
            f"{path}: shape {shape} makes {count:.3g} chunks of side {max(chunks)}, more than "
            f"the {MAX_CHUNKS:.0e} whose task graph fits in memory; give larger --chunks"
        )


class _CheckedChunks:
    """A zarr array read chunk by chunk, with one clear error for a broken chunk.

    A chunk that cannot be decoded is raised as one NLMeansError naming the
    file (a corrupt or truncated chunk), not a codec's error.
    """

    def __init__(self, path, array):
        self.path, self.array = path, array
        self.shape, self.dtype, self.ndim = array.shape, array.dtype, array.ndim

    def __getitem__(self, key):
        try:
            return self.array[key]
        except Exception as error:
            detail = " ".join(str(error).split())
            raise NLMeansError(
                f"{self.path}: a chunk cannot be read; the store is corrupt or truncated "
                f"({type(error).__name__}: {detail})"
            ) from None


def _single_array(path, node):
    """Return the array of a zarr node: itself, a group's only array, or a multiscale level "0"."""
    import zarr

    if isinstance(node, zarr.Array):
        return node
    arrays = dict(node.arrays())
    if "0" in arrays:
        return arrays["0"]
    if len(arrays) == 1:
        return next(iter(arrays.values()))
    raise NLMeansError(
        f"{path}: is a zarr group with {len(arrays)} arrays; give the path of one array"
    )


def write_zarr(
    array, path, *, overwrite: bool = False, attributes=None, progress=None, final: bool = False
) -> None:
    """Store the dask ``array`` as the zarr array ``path``, chunk by chunk, atomically.

    The chunks are written into a hidden temporary store beside ``path``
    (``.<name>.tmp-*``), which is renamed to ``path`` only once every chunk is
    written; on any failure or interruption it is removed and ``path`` is left
    as it was. With ``overwrite`` an existing ``path`` is replaced (moved aside,
    then removed, after the new store is in place). The store gets the
    permission bits of the one it replaces, else 0o777 minus the umask (not the
    temporary folder's private 0o700). ``progress`` is a context manager shown
    while the chunks are computed (e.g. dask's ProgressBar). ``final``: the
    command's last output; interrupts are held from its rename on
    (:func:`nlmeans.io._write.final_publish`).
    """
    require_extra("writing .zarr")
    import dask.array as da
    import zarr

    path = Path(path)
    _refuse_broken_link(path)
    if not path.parent.is_dir():
        raise NLMeansError(f"{path}: output folder {path.parent} does not exist")
    if path.exists() and not overwrite:
        raise NLMeansError(f"{path}: already exists; pass --overwrite to replace it")
    # One zarr chunk per dask chunk: regular chunks (the last may be smaller).
    regular = tuple(max(sizes) for sizes in array.chunks)
    array = array.rechunk(regular)
    mode = new_file_mode(path, folder=True)
    temp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.tmp-"))
    try:
        target = zarr.create_array(
            store=str(temp),
            shape=array.shape,
            chunks=regular,
            dtype=array.dtype,
            attributes=dict(attributes or {}),
            overwrite=True,
        )
        with progress if progress is not None else contextlib.nullcontext():
            da.store(array, target, lock=False)
        os.chmod(temp, mode)
        with final_publish(final):
            if overwrite and os.path.lexists(path):
                # The complete new store replaces the old one: moved aside, then removed.
                aside = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.old-"))
                os.replace(path, aside / path.name)
                os.replace(temp, path)
                shutil.rmtree(aside, ignore_errors=True)
            else:
                # A store another process created meanwhile is kept (no-replace rename).
                rename_folder_no_replace(temp, path)
    except FileExistsError:
        shutil.rmtree(temp, ignore_errors=True)
        raise NLMeansError(
            f"{path}: already exists (it appeared meanwhile); pass --overwrite to replace it"
        ) from None
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
