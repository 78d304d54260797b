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

The package's modules:

- :mod:`._picture`: the :class:`Picture` record and :class:`ImageFileError`;
- :mod:`._read`: format recognition and :func:`read_image`;
- :mod:`._checks`: what every reader checks (declared sizes, fixed axes,
  pixel types, finite values);
- :mod:`._images`: PNG, JPEG, BMP and the other single images Pillow reads;
- :mod:`._png16`: the 16-bit PNG codec (filters, Adam7), with
  :mod:`._png_chunks` (the chunk container, read in bounded blocks) and
  :mod:`._exif` (the EXIF orientation);
- :mod:`._tiff` and :mod:`._tiff_ifds`: TIFF images and stacks, and the
  bounded IFD walk made before tifffile parses anything;
- :mod:`._npy`: ``.npy`` arrays;
- :mod:`._video` and :mod:`._video_stream`: videos, whole or streamed;
- :mod:`._zarr`: chunked files (zarr, large TIFFs) read lazily, zarr written;
- :mod:`._axes`: axes strings (T, Z, Y, X spatial, C channels);
- :mod:`._formats`: what each output format stores, checked before denoising;
- :mod:`._same`: whether an output is one of the inputs;
- :mod:`._write` and :mod:`._noreplace`: encoding, and atomic no-replace
  publishing.

The names other packages use are re-exported here.
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
