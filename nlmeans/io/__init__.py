"""Reading and writing image files: checked, lossless in bit depth, written atomically.

Reading recognises the format from the file's first bytes (not its name) and
checks the declared size before decoding anything:

- PNG: 8-bit and palette PNGs through Pillow; 16-bit PNGs (gray, gray+alpha,
  RGB, RGBA) through :mod:`nlmeans.io._png16`, since Pillow truncates 16-bit color.
- TIFF: through tifffile (8/16-bit integers, 32/64-bit floats; LZW, Deflate,
  PackBits, JPEG, zstd... compression through imagecodecs), single images and
  stacks (multi-page, ImageJ hyperstacks, OME-TIFF): :mod:`nlmeans.io._tiff`.
- ``.npy`` arrays (:mod:`nlmeans.io._npy`) and videos (mp4, mkv, avi through
  imageio's pyav plugin, the ``video`` extra: :mod:`nlmeans.io._video`).
- JPEG, BMP and other single images Pillow knows: through Pillow, with the EXIF
  orientation applied, palette and CMYK/YCbCr/LAB/HSV converted to RGB (RGBA
  when a palette has transparency), bilevel to 8-bit gray.

Writing encodes the whole file in memory first, then writes it to a hidden
temporary file in the output's folder, flushes it to disk and renames it into
place: an interrupted or failed run leaves either the old file or the complete
new one, never a partial one.

An array read from a file keeps the file's axis order; :class:`Picture`
names its axes (:mod:`nlmeans.io._axes`: T, Z, Y, X spatial, C channels).

The package's modules: :mod:`~nlmeans.io._picture` (the :class:`Picture`
record, :class:`ImageFileError`), :mod:`~nlmeans.io._formats` (what each
output format stores, checked before denoising), :mod:`~nlmeans.io._read`
(format recognition, :func:`read_image`), :mod:`~nlmeans.io._checks` (what
every reader checks), :mod:`~nlmeans.io._images` (PNG, JPEG, BMP),
:mod:`~nlmeans.io._tiff_ifds` (the bounded IFD walk), :mod:`~nlmeans.io._tiff`,
:mod:`~nlmeans.io._npy`, :mod:`~nlmeans.io._video`, :mod:`~nlmeans.io._axes`,
:mod:`~nlmeans.io._same` (is an output one of the inputs) and
:mod:`~nlmeans.io._write` (encoding, atomic no-replace publishing). The names
other modules use are re-exported here.
"""

from __future__ import annotations

from ._checks import check_declared_stack, check_fixed_axes, require_finite, split_alpha
from ._formats import (
    FORMATS,
    IMAGE_EXTENSIONS,
    JPEG_QUALITY,
    PICTURE_EXTENSIONS,
    STACK_EXTENSIONS,
    VIDEO_EXTENSIONS,
    check_extension,
    check_folder_writable,
    check_format,
    check_picture_format,
)
from ._picture import ImageFileError, Picture
from ._read import read_image, resolve_path
from ._same import refuse_input_as_output, same_file
from ._tiff_ifds import (
    TIFF_MAX_IFDS,
    TIFF_MAX_TAG_BYTES,
    TIFF_MIN_PAGE_BYTES,
    TiffIFD,
    walk_tiff_ifds,
)
from ._write import OutputExistsError, encode_image, publish_new, write_image

__all__ = [
    "FORMATS",
    "IMAGE_EXTENSIONS",
    "JPEG_QUALITY",
    "PICTURE_EXTENSIONS",
    "STACK_EXTENSIONS",
    "TIFF_MAX_IFDS",
    "TIFF_MAX_TAG_BYTES",
    "TIFF_MIN_PAGE_BYTES",
    "VIDEO_EXTENSIONS",
    "ImageFileError",
    "OutputExistsError",
    "Picture",
    "TiffIFD",
    "check_declared_stack",
    "check_extension",
    "check_fixed_axes",
    "check_folder_writable",
    "check_format",
    "check_picture_format",
    "encode_image",
    "publish_new",
    "read_image",
    "require_finite",
    "refuse_input_as_output",
    "resolve_path",
    "same_file",
    "split_alpha",
    "walk_tiff_ifds",
    "write_image",
]
