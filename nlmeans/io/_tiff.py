"""TIFF files: single images and stacks (multi-page, ImageJ hyperstacks, OME-TIFF).

Reading walks and bounds the IFD chain first (:func:`nlmeans.io.walk_tiff_ifds`:
loops, offsets past the end and huge tags are refused in a few reads), keeps
the main pages only (thumbnails and masks are left out by their subfile
type), takes the axes from the file's metadata through tifffile's series
(ImageJ ``TZCYX``, OME axes, ``S`` samples read as channels ``C``) or from
``--axes``, and checks the declared size against memory before decoding.

Compressed TIFFs (LZW, Deflate, PackBits, JPEG, zstd, LZMA…) are decoded and
encoded by imagecodecs through tifffile. The output keeps the input's
compression where tifffile writes it (:data:`KEPT_COMPRESSIONS`), else Deflate.
"""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path

import numpy as np

from ..errors import NLMeansError
from ._axes import AXES_EXAMPLES, check_axes_count, from_metadata
from ._checks import check_declared, check_declared_stack, split_alpha
from ._formats import JPEG_QUALITY
from ._picture import ImageFileError, Picture, error_reason
from ._tiff_ifds import walk_tiff_ifds

#: Input compression (tifffile's name) -> what the output is written with. JPEG
#: (8-bit only, lossy) is written at quality :data:`nlmeans.io.JPEG_QUALITY`.
KEPT_COMPRESSIONS = {
    "NONE": None,
    "LZW": "lzw",
    "ADOBE_DEFLATE": "zlib",
    "DEFLATE": "zlib",
    "PACKBITS": "packbits",
    "ZSTD": "zstd",
    "LZMA": "lzma",
    "JPEG": "jpeg",
}

#: Compression of outputs whose input had none to keep (a new file, CCITT, old JPEG…).
DEFAULT_COMPRESSION = "zlib"

#: dtypes an ImageJ hyperstack holds; other stacks (float64) are written as OME-TIFF.
IMAGEJ_DTYPES = (np.uint8, np.uint16, np.float32)

_SUPPORTED = (np.uint8, np.uint16, np.float32, np.float64)
_IMAGEJ_KEYS = ("spacing", "unit", "finterval", "fps", "tunit")


@contextlib.contextmanager
def _quiet_tifffile():
    """Keep tifffile's log out of the output: what matters is raised or read.

    The log holds warnings about odd tags, printed on stderr by logging's
    last-resort handler.
    """
    import logging

    logger = logging.getLogger("tifffile")
    level = logger.level
    logger.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        logger.setLevel(level)


def read_tiff(path: Path, axes: str | None = None) -> Picture:
    """Read the main image or stack of a TIFF into a :class:`~nlmeans.io.Picture`.

    ``axes`` (validated, upper case) names the axes of tifffile's series shape
    (length-1 axes left out), overriding the file's metadata.
    """
    import tifffile

    try:
        with open(path, "rb") as handle:
            ifds = walk_tiff_ifds(handle, os.fstat(handle.fileno()).st_size)
    except (ValueError, OSError) as error:
        raise ImageFileError(
            path, f"is truncated or corrupt (TIFF: {error_reason(error)})"
        ) from None
    main = [index for index, ifd in enumerate(ifds) if ifd.main]
    if not main:
        raise ImageFileError(path, "has no main image (only thumbnails or masks)")
    main_offsets = {ifds[index].offset for index in main}
    try:
        with _quiet_tifffile(), tifffile.TiffFile(path) as tiff:
            return _read_main(path, tiff, main, main_offsets, axes)
    except ImageFileError:
        raise
    except NLMeansError as error:
        raise ImageFileError(path, str(error)) from None
    except Exception as error:  # tifffile raises many types for corrupt files
        raise ImageFileError(path, f"is not a readable TIFF ({error_reason(error)})") from None


def _main_series(tiff, main: list[int], main_offsets: set[int]):
    """Find tifffile's first series of main pages only that holds every main page's pixels.

    None if there is none: then the main pages are read as one sequence, or refused.
    """
    pixels = sum(int(np.prod(tiff.pages[index].shape)) for index in main)
    for series in tiff.series:
        pages = series.pages
        if len(pages) == 0 or pages[0] is None or pages[0].offset not in main_offsets:
            continue
        if len(pages) <= 1 or all(p is None or p.offset in main_offsets for p in pages):
            # A series of fewer pages than the file has (pages written one by one,
            # each its own series) would drop the others: never a silent subset.
            return series if int(np.prod(series.shape)) == pixels else None
    return None


def _check_same_pages(path, tiff, main: list[int]) -> None:
    """Refuse main pages that cannot form one stack (different shapes or pixel types).

    The message names the page count: reading the first page alone would drop
    the others.
    """
    kinds = {(tuple(tiff.pages[i].shape), str(tiff.pages[i].dtype)) for i in main}
    if len(kinds) > 1:
        shapes = ", ".join(sorted("x".join(map(str, sh)) + f" {dtype}" for sh, dtype in kinds))
        raise ImageFileError(
            path,
            f"has {len(main)} pages of different shapes or pixel types ({shapes}); nlmeans "
            "reads one image or one stack of like pages — split the file into one per shape",
        )


def _read_main(path, tiff, main, main_offsets, given):
    series = _main_series(tiff, main, main_offsets)
    if series is not None:
        page, shape, letters = series.keyframe, tuple(series.shape), series.axes
        kind = series.kind.lower()
        decode = series.asarray
    else:  # main pages that tifffile's series mix with other pages: take them as a sequence
        page = tiff.pages[main[0]]
        if len(main) == 1:
            shape, letters, decode = tuple(page.shape), page.axes, page.asarray
        else:
            _check_same_pages(path, tiff, main)
            shape, letters = (len(main), *page.shape), "I" + page.axes
            decode = lambda: tiff.asarray(key=main)  # noqa: E731
        kind = "tiff"
    photometric = page.photometric.name
    bilevel = page.bitspersample == 1 and photometric in ("MINISBLACK", "MINISWHITE")
    decoded_rgb = photometric == "YCBCR" and page.compression.name == "JPEG"
    if photometric not in ("MINISBLACK", "RGB") and not (bilevel or decoded_rgb):
        raise ImageFileError(
            path, f"TIFF with {photometric} color is not supported; save it as gray or RGB"
        )
    dtype = np.dtype(np.uint8) if bilevel else np.dtype(series.dtype if series else page.dtype)
    if dtype not in _SUPPORTED:
        raise ImageFileError(
            path, f"unsupported pixel type {dtype}; expected uint8, uint16, float32 or float64"
        )
    if given is not None:
        check_axes_count(given, shape)
        axes, source = given, "--axes"
    else:
        axes = from_metadata(letters)
        if axes is None:
            size = "x".join(map(str, shape))
            pages = f"multi-page TIFF ({len(main)} pages)" if len(main) > 1 else "TIFF"
            raise ImageFileError(
                path,
                f"is a {pages} without usable axes metadata (shape {size}, axes {letters}); "
                f"name its axes with --axes, e.g. {AXES_EXAMPLES}",
            )
        source = "format" if axes in ("YX", "YXC", "CYX") and len(main) == 1 else "metadata"
        if kind == "imagej" or kind == "ome":
            source = "metadata"
    # tifffile decodes into the array, plus one strip or tile at a time.
    block = int(np.prod(page.chunks)) * dtype.itemsize if page.chunks else 0
    planar_rgb = axes == "CYX" and letters.upper().startswith("S")
    if axes in ("YX", "YXC") or planar_rgb:
        height, width = shape[axes.index("Y")], shape[axes.index("X")]
        channels = shape[axes.index("C")] if "C" in axes else 1
        check_declared(path, height, width, channels, dtype.itemsize, extra=block)
    else:
        check_declared_stack(path, shape, axes, dtype.itemsize, extra=block)
    array = np.asarray(decode())
    if array.shape != shape:  # tifffile squeezes the series' length-1 axes the same way
        array = array.reshape(shape)
    if bilevel:  # bilevel -> 8-bit gray, black 0 and white 255 (white-is-zero inverted)
        white = array.astype(bool) != (photometric == "MINISWHITE")
        array = np.where(white, np.uint8(255), np.uint8(0))
    meta = _metadata(tiff, page, kind)
    if planar_rgb:  # planar RGB image -> (H, W, C)
        array, axes = np.moveaxis(array, 0, -1), "YXC"
    if axes in ("YX", "YXC"):
        picture = split_alpha(path, array)
        picture.axes_source, picture.meta = source, meta
        return picture
    return Picture(array, None, axes, source, meta)


def _metadata(tiff, page, kind: str) -> dict:
    """Collect what the writer keeps of a TIFF.

    Its kind, compression, resolution, ImageJ spacing and intervals, OME
    physical sizes.
    """
    meta: dict = {"format": "tiff", "kind": kind, "compression": page.compression.name}
    tags = page.tags
    if "XResolution" in tags and "YResolution" in tags:
        meta["resolution"] = tuple(float(v) for v in page.resolution)
        meta["resolutionunit"] = int(page.resolutionunit)
    if kind == "imagej" and tiff.imagej_metadata:
        meta["imagej"] = {
            key: tiff.imagej_metadata[key] for key in _IMAGEJ_KEYS if key in tiff.imagej_metadata
        }
    if kind == "ome" and tiff.ome_metadata:
        import tifffile

        try:
            image = tifffile.xml2dict(tiff.ome_metadata)["OME"]["Image"]
            pixels = (image[0] if isinstance(image, list) else image)["Pixels"]
            meta["ome"] = {
                key: value
                for key, value in pixels.items()
                if key.startswith("PhysicalSize") or key.startswith("TimeIncrement")
            }
        except (KeyError, TypeError, IndexError, ValueError):
            pass
    return meta


def _compression(meta: dict, dtype) -> tuple[str | None, dict]:
    """(tifffile compression, its arguments) of the output: the input's where kept."""
    name = meta.get("compression")
    chosen = KEPT_COMPRESSIONS.get(name, DEFAULT_COMPRESSION) if name else DEFAULT_COMPRESSION
    if chosen == "jpeg":
        if np.dtype(dtype) != np.uint8:
            return DEFAULT_COMPRESSION, {}
        return "jpeg", {"level": JPEG_QUALITY}
    return chosen, {}


def storage_axes(layout: str, imagej: bool) -> str:
    """Return the axis order a stack is written in.

    ImageJ's TZCYX, or for OME the file's order with the channels moved before
    Y and X (OME keeps Y, X last).
    """
    if imagej:
        return "".join(letter for letter in "TZCYX" if letter in layout)
    return "".join(letter for letter in layout if letter not in "YX") + "YX"


def encode_tiff(array: np.ndarray, like: Picture | None) -> bytes:
    """Encode ``array`` as the bytes of a TIFF (with ``like``'s axes and metadata).

    Single images (``YX``, ``YXC``) as before: gray, RGB, with unassociated
    alpha. Stacks: an ImageJ hyperstack (axes in ImageJ's order, spacing, unit,
    frame interval and resolution kept) unless read as OME-TIFF or float64,
    then OME-TIFF with the physical sizes kept.
    """
    import tifffile

    meta = like.meta if like is not None else {}
    compression, arguments = _compression(meta, array.dtype)
    options: dict = {"compression": compression}
    if arguments:
        options["compressionargs"] = arguments
    if "resolution" in meta:
        options["resolution"] = meta["resolution"]
        if meta.get("kind") != "imagej":
            options["resolutionunit"] = meta.get("resolutionunit")
    buffer = io.BytesIO()
    if like is None or not like.is_stack:
        channels = 1 if array.ndim == 2 else array.shape[-1]
        options["photometric"] = "rgb" if channels >= 3 else "minisblack"
        if channels in (2, 4):
            options.update(planarconfig="contig", extrasamples=["unassalpha"])
        tifffile.imwrite(buffer, array, **options)
        return buffer.getvalue()
    layout = like.layout
    imagej = meta.get("kind") != "ome" and array.dtype in IMAGEJ_DTYPES
    order = storage_axes(layout, imagej)
    stored = np.transpose(array, [layout.index(letter) for letter in order])
    if imagej:
        extra = dict(meta.get("imagej", {}))
        tifffile.imwrite(
            buffer, stored, imagej=True, photometric="minisblack",
            metadata={**extra, "axes": order}, **options,
        )  # fmt: skip
    else:
        tifffile.imwrite(
            buffer, stored, ome=True, photometric="minisblack",
            metadata={**meta.get("ome", {}), "axes": order}, **options,
        )  # fmt: skip
    return buffer.getvalue()
