"""nlmeans.io and nlmeans.io._png16: reading, writing and refusing image files."""

import contextlib
import io
import os
import signal
import struct
import time
import warnings
import zlib

import numpy as np
import pytest
import tifffile
from PIL import Image

from nlmeans import _memory as memory
from nlmeans.io import (
    ImageFileError,
    check_format,
    read_image,
    require_finite,
    resolve_path,
    write_image,
)
from nlmeans.io import _png16 as png16


def full(picture):
    return picture.with_pixels(picture.pixels)


def random_image(rng, shape, dtype):
    if np.dtype(dtype).kind == "f":
        return rng.random(shape).astype(dtype)
    return rng.integers(0, np.iinfo(dtype).max, shape, endpoint=True).astype(dtype)


# ------------------------------------------------------------ lossless round trips

LOSSLESS = [
    (ext, dtype, channels)
    for ext, dtypes, counts in (
        (".png", (np.uint8, np.uint16), (1, 2, 3, 4)),
        (".tif", (np.uint8, np.uint16, np.float32, np.float64), (1, 2, 3, 4)),
        (".bmp", (np.uint8,), (1, 3)),
    )
    for dtype in dtypes
    for channels in counts
]


@pytest.mark.parametrize(("ext", "dtype", "channels"), LOSSLESS)
def test_lossless_round_trip_keeps_dtype_channels_and_values(tmp_path, rng, ext, dtype, channels):
    shape = (7, 9) if channels == 1 else (7, 9, channels)
    image = random_image(rng, shape, dtype)
    target = tmp_path / f"x{ext}"
    write_image(target, image)
    picture = read_image(target)
    assert (picture.alpha is not None) == (channels in (2, 4))
    back = full(picture)
    assert back.dtype == image.dtype
    np.testing.assert_array_equal(back, image)


@pytest.mark.parametrize("channels", [1, 3])
def test_jpeg_round_trip_is_close_and_8_bit(tmp_path, channels):
    y, x = np.mgrid[:32, :40]
    gray = (3 * x + 2 * y).astype(np.uint8)
    image = gray if channels == 1 else np.stack([gray, gray[::-1], 255 - gray], -1)
    write_image(tmp_path / "x.jpg", image)
    back = read_image(tmp_path / "x.jpg").pixels
    assert back.shape == image.shape and back.dtype == np.uint8
    assert np.abs(back.astype(int) - image).mean() < 2  # quality 95


# ------------------------------------------------------------------ the 16-bit PNG codec


def test_pillow_misreads_16_bit_rgb_png_so_we_decode_it_ourselves(tmp_path, rng):
    image = random_image(rng, (5, 6, 3), np.uint16)
    path = tmp_path / "deep.png"
    path.write_bytes(png16.encode(image))
    # Pillow, an independent decoder, sees the file as valid 8-bit: the high bytes.
    np.testing.assert_array_equal(np.asarray(Image.open(path)), (image >> 8).astype(np.uint8))
    picture = read_image(path)
    assert picture.pixels.dtype == np.uint16
    np.testing.assert_array_equal(picture.pixels, image)


def test_16_bit_gray_png_agrees_with_pillow(tmp_path, rng):
    image = random_image(rng, (11, 4), np.uint16)
    ours = tmp_path / "ours.png"
    ours.write_bytes(png16.encode(image))
    np.testing.assert_array_equal(np.asarray(Image.open(ours)), image)
    pillows = tmp_path / "pillow.png"
    Image.fromarray(image).save(pillows)
    np.testing.assert_array_equal(read_image(pillows).pixels, image)


def spec_filter(raw_rows, bpp, kinds):
    """PNG scanline filters written straight from the specification (per byte)."""
    out = []
    previous = [0] * len(raw_rows[0])
    for row, kind in zip(raw_rows, kinds, strict=True):
        line = [kind]
        for i, x in enumerate(row):
            a = row[i - bpp] if i >= bpp else 0
            b = previous[i]
            c = previous[i - bpp] if i >= bpp else 0
            if kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if (pa <= pb and pa <= pc) else (b if pb <= pc else c)
            else:
                pred = (0, a, b, (a + b) // 2)[kind]
            line.append((x - pred) % 256)
        out.append(bytes(line))
        previous = row
    return b"".join(out)


def make_png(image, interlace=False):
    """A 16-bit PNG built by hand, cycling through the five filter types."""
    height, width = image.shape[:2]
    samples = 1 if image.ndim == 2 else image.shape[2]
    color = {1: 0, 2: 4, 3: 2, 4: 6}[samples]
    bpp = 2 * samples
    passes = png16.ADAM7 if interlace else ((0, 0, 1, 1),)
    stream = b""
    for y0, x0, dy, dx in passes:
        sub = image[y0::dy, x0::dx]
        if sub.size == 0:
            continue
        rows = [list(r.astype(">u2").tobytes()) for r in sub.reshape(sub.shape[0], -1)]
        stream += spec_filter(rows, bpp, [k % 5 for k in range(len(rows))])

    def chunk(kind, payload):
        crc = struct.pack(">I", zlib.crc32(kind + payload))
        return struct.pack(">I", len(payload)) + kind + payload + crc

    header = struct.pack(">IIBBBBB", width, height, 16, color, 0, 0, int(interlace))
    return (
        png16.SIGNATURE
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(stream))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize("interlace", [False, True])
@pytest.mark.parametrize("shape", [(9, 11, 3), (10, 7, 4), (5, 6, 2), (13, 3), (1, 1, 3)])
def test_decoder_handles_every_filter_and_adam7(shape, interlace, rng):
    image = random_image(rng, shape, np.uint16)
    image[: shape[0] // 2] //= 7  # some smooth-ish rows so Paeth/Average take all branches
    np.testing.assert_array_equal(png16.decode(make_png(image, interlace)), image)


def test_16_bit_png_agrees_with_opencv_when_installed(tmp_path, rng):
    cv2 = pytest.importorskip("cv2")  # an optional cross-check (the bench extra installs it)
    image = random_image(rng, (17, 23, 4), np.uint16)
    cv2.imwrite(str(tmp_path / "cv.png"), image[..., [2, 1, 0, 3]])
    np.testing.assert_array_equal(full(read_image(tmp_path / "cv.png")), image)
    (tmp_path / "ours.png").write_bytes(png16.encode(image))
    back = cv2.imread(str(tmp_path / "ours.png"), cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(back[..., [2, 1, 0, 3]], image)


# ----------------------------------------------------------------- unreadable files


def test_missing_directory_and_empty_files(tmp_path):
    with pytest.raises(ImageFileError, match="no such file"):
        read_image(tmp_path / "nope.png")
    with pytest.raises(ImageFileError, match="is a directory"):
        read_image(tmp_path)
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(ImageFileError, match=r"empty \(0 bytes\)"):
        read_image(tmp_path / "empty.png")


@pytest.mark.parametrize(
    "content", [b"hello, this is text\n", bytes(np.random.default_rng(3).integers(0, 256, 999))]
)
def test_not_an_image(tmp_path, content):
    path = tmp_path / "fake.png"
    path.write_bytes(content)
    with pytest.raises(ImageFileError, match=r"fake.png: is not an image") as error:
        read_image(path)
    assert error.value.path == path


def encoded(image, fmt):
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format=fmt)
    return buffer.getvalue()


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "PNG16"])
@pytest.mark.parametrize("keep", [0.05, 0.5, 0.95])
def test_truncated_files_are_refused(tmp_path, rng, fmt, keep):
    if fmt == "PNG16":
        data = png16.encode(random_image(rng, (40, 40, 3), np.uint16))
    else:
        data = encoded(random_image(rng, (40, 40, 3), np.uint8), fmt)
    path = tmp_path / "cut.img"
    path.write_bytes(data[: max(9, int(len(data) * keep))])
    with pytest.raises(ImageFileError, match=r"cut.img: .*(truncated|corrupt)"):
        read_image(path)


def test_corrupt_png_crc_is_refused(tmp_path, rng):
    data = bytearray(png16.encode(random_image(rng, (8, 8, 3), np.uint16)))
    data[45] ^= 0xFF  # inside the IDAT payload (33 header bytes, then length and type)
    (tmp_path / "bad.png").write_bytes(bytes(data))
    with pytest.raises(ImageFileError, match="CRC mismatch"):
        read_image(tmp_path / "bad.png")


# ---------------------------------------------------------------- modes and frames


def test_palette_png_becomes_rgb_and_rgba_with_transparency(tmp_path, rng):
    rgb = random_image(rng, (12, 10, 3), np.uint8)
    indexed = Image.fromarray(rgb).quantize(16)
    indexed.save(tmp_path / "p.png")
    expected = np.asarray(indexed.convert("RGB"))
    picture = read_image(tmp_path / "p.png")
    assert picture.alpha is None
    np.testing.assert_array_equal(picture.pixels, expected)
    indexed.save(tmp_path / "pt.png", transparency=0)
    picture = read_image(tmp_path / "pt.png")
    np.testing.assert_array_equal(picture.alpha, np.where(np.asarray(indexed) == 0, 0, 255))


def test_cmyk_jpeg_becomes_rgb(tmp_path, rng):
    rgb = np.full((16, 16, 3), (200, 40, 90), np.uint8)
    Image.fromarray(rgb).convert("CMYK").save(tmp_path / "cmyk.jpg", quality=95)
    assert Image.open(tmp_path / "cmyk.jpg").mode == "CMYK"
    picture = read_image(tmp_path / "cmyk.jpg")
    assert picture.pixels.shape == (16, 16, 3) and picture.alpha is None
    assert np.abs(picture.pixels.astype(int) - rgb).max() <= 3


def test_bilevel_becomes_8_bit_gray(tmp_path):
    bits = np.arange(48).reshape(6, 8) % 3 == 0
    Image.fromarray(bits).save(tmp_path / "b.png")
    picture = read_image(tmp_path / "b.png")
    np.testing.assert_array_equal(picture.pixels, np.where(bits, 255, 0))


def test_animated_gif_and_png_and_axes_less_multipage_tiff_are_refused(tmp_path, rng):
    frames = [Image.fromarray(random_image(rng, (8, 8, 3), np.uint8)) for _ in range(3)]
    frames[0].save(tmp_path / "a.gif", save_all=True, append_images=frames[1:])
    frames[0].save(tmp_path / "a.png", save_all=True, append_images=frames[1:])
    tifffile.imwrite(
        tmp_path / "s.tif", random_image(rng, (3, 8, 8), np.uint16), photometric="minisblack"
    )
    with pytest.raises(ImageFileError, match=r"a.gif: is an animated/multi-frame GIF \(3 frames\)"):
        read_image(tmp_path / "a.gif")
    with pytest.raises(ImageFileError, match=r"a.png: is an animated/multi-frame PNG \(3 frames\)"):
        read_image(tmp_path / "a.png")
    with pytest.raises(
        ImageFileError, match=r"s.tif: is a multi-page TIFF \(3 pages\) without usable axes.*--axes"
    ):
        read_image(tmp_path / "s.tif")
    frames[0].save(tmp_path / "one.gif")  # a single-frame GIF is just a palette image
    assert read_image(tmp_path / "one.gif").pixels.shape == (8, 8, 3)


def test_planar_rgb_tiff_is_read_as_height_width_channels(tmp_path, rng):
    image = random_image(rng, (6, 5, 3), np.uint16)
    tifffile.imwrite(
        tmp_path / "planar.tif",
        np.moveaxis(image, -1, 0),
        photometric="rgb",
        planarconfig="separate",
    )
    np.testing.assert_array_equal(read_image(tmp_path / "planar.tif").pixels, image)


@pytest.mark.parametrize(("orientation", "turn"), [(1, 0), (3, 2), (6, -1), (8, 1)])
def test_exif_orientation_is_applied(tmp_path, rng, orientation, turn):
    image = random_image(rng, (6, 10, 3), np.uint8)
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(image).save(tmp_path / "o.png", exif=exif)
    np.testing.assert_array_equal(read_image(tmp_path / "o.png").pixels, np.rot90(image, turn))
    y, x = np.mgrid[:48, :64]
    smooth = np.stack([x * 3, y * 4, x + y], -1).astype(np.uint8)
    Image.fromarray(smooth).save(tmp_path / "o.jpg", exif=exif, quality=95)
    read = read_image(tmp_path / "o.jpg").pixels.astype(int)
    assert np.abs(read - np.rot90(smooth, turn)).mean() < 2


def test_unsupported_pixel_types_are_named(tmp_path):
    tifffile.imwrite(tmp_path / "i16.tif", np.zeros((4, 4), np.int16))
    with pytest.raises(ImageFileError, match="unsupported pixel type int16"):
        read_image(tmp_path / "i16.tif")


# ------------------------------------------------------------ size and memory limits


def png_header_only(width, height, depth, color):
    """A tiny PNG declaring a huge size (a decompression bomb's header)."""
    header = struct.pack(">IIBBBBB", width, height, depth, color, 0, 0, 0)
    ihdr = b"IHDR" + header
    return (
        png16.SIGNATURE
        + struct.pack(">I", 13)
        + ihdr
        + struct.pack(">I", zlib.crc32(ihdr))
        + b"\0" * 64
    )


@pytest.mark.parametrize(("depth", "color"), [(8, 2), (16, 6), (8, 3)])
def test_huge_declared_png_is_refused_before_decoding(tmp_path, depth, color):
    path = tmp_path / "bomb.png"
    path.write_bytes(png_header_only(100_000, 100_000, depth, color))
    with pytest.raises(ImageFileError) as error:
        read_image(path)
    message = str(error.value)
    assert message.startswith(f"{path}: declares 100000x100000 pixels")
    assert "GiB of memory but only" in message


def test_huge_declared_tiff_is_refused_before_decoding(tmp_path, monkeypatch):
    path = tmp_path / "big.tif"
    tifffile.imwrite(path, np.zeros((64, 64, 3), np.uint16), photometric="rgb")
    monkeypatch.setattr(memory, "available_bytes", lambda: 64 * 64 * 3 * 2)  # decode only
    with pytest.raises(ImageFileError, match=r"big.tif: declares 64x64 pixels \(3 channels\)"):
        read_image(path)


def test_huge_declared_bmp_hits_pillows_bomb_limit(tmp_path):
    # BITMAPFILEHEADER + BITMAPINFOHEADER for 30000 x 30000 24-bit, no pixel data.
    info = struct.pack("<IiiHHIIiiII", 40, 30000, 30000, 1, 24, 0, 0, 2835, 2835, 0, 0)
    (tmp_path / "bomb.bmp").write_bytes(b"BM" + struct.pack("<IHHI", 54, 0, 0, 54) + info)
    with pytest.raises(ImageFileError, match=r"bomb.bmp: .*(decompression bomb|GiB of memory)"):
        read_image(tmp_path / "bomb.bmp")


# ------------------------------------------------------------------------- writing


def test_check_format_names_what_fits(tmp_path):
    with pytest.raises(
        ImageFileError, match=r"PNG stores 8- or 16-bit.*float32 — write it as .tif"
    ):
        check_format(tmp_path / "x.png", np.float32, 1)
    with pytest.raises(ImageFileError, match=r"JPEG .* without alpha; this image is RGBA uint8"):
        check_format(tmp_path / "x.jpg", np.uint8, 4)
    with pytest.raises(ImageFileError, match=r"cannot write extension '.gif'"):
        check_format(tmp_path / "x.gif", np.uint8, 3)
    check_format(tmp_path / "x.TIFF", np.float64, 4)


def test_write_failure_leaves_old_file_and_no_temp(tmp_path, monkeypatch, rng):
    target = tmp_path / "out.png"
    target.write_bytes(b"previous result")

    def interrupted(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_image(target, random_image(rng, (8, 8), np.uint8))
    assert target.read_bytes() == b"previous result"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.png"]


def test_encoding_failure_creates_no_file(tmp_path, monkeypatch, rng):
    def broken(array):
        raise RuntimeError("encoder exploded")

    monkeypatch.setattr(png16, "encode", broken)
    with pytest.raises(ImageFileError, match="cannot encode"):
        write_image(tmp_path / "out.png", random_image(rng, (8, 8), np.uint16))
    assert list(tmp_path.iterdir()) == []


def test_written_file_permissions(tmp_path, rng):
    image = random_image(rng, (4, 4), np.uint8)
    write_image(tmp_path / "new.png", image)
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "new.png").stat().st_mode & 0o777 == 0o666 & ~umask
    (tmp_path / "old.png").write_bytes(b"x")
    os.chmod(tmp_path / "old.png", 0o640)
    write_image(tmp_path / "old.png", image)
    assert (tmp_path / "old.png").stat().st_mode & 0o777 == 0o640


def test_require_finite_counts_bad_values():
    values = np.zeros((4, 5), np.float32)
    values[0, :3] = np.nan
    values[1, 1] = -np.inf
    with pytest.raises(
        ImageFileError, match=r"x.tif: has 4 non-finite \(NaN or Inf\) values out of 20"
    ):
        require_finite("x.tif", values)
    require_finite("x.png", np.zeros((2, 2), np.uint8))


def test_size_between_pillows_warning_and_error_limits_is_checked_without_warning(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(memory, "available_bytes", lambda: 64 * 1024**3)  # any CI machine
    # 10000 x 9000 = 90 M pixels: over Pillow's warning limit (89.5 M), under its error limit.
    info = struct.pack("<IiiHHIIiiII", 40, 10000, 9000, 1, 24, 0, 0, 2835, 2835, 0, 0)
    (tmp_path / "big.bmp").write_bytes(b"BM" + struct.pack("<IHHI", 54, 0, 0, 54) + info)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ImageFileError, match=r"big.bmp: is truncated") as error:
            read_image(tmp_path / "big.bmp")
    assert "bomb" not in str(error.value)  # decoding was attempted: the size fits in memory


# ------------------------------------------------------- hostile TIFF structure


@contextlib.contextmanager
def time_limit(seconds):
    """Fail (instead of hanging the suite) when the block runs longer than ``seconds``."""

    def expired(signum, frame):
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def tiff_with_next_ifd(tmp_path, pages, point_to):
    """A TIFF of ``pages`` pages whose last next-IFD offset is replaced by
    ``point_to(offsets, size)`` (a loop back, a far offset...)."""
    path = tmp_path / "hostile.tif"
    tifffile.imwrite(path, np.zeros((pages, 8, 9), np.uint8), photometric="minisblack")
    data = bytearray(path.read_bytes())
    with tifffile.TiffFile(path) as tiff:
        offsets = [page.offset for page in tiff.pages]
    (entries,) = struct.unpack_from("<H", data, offsets[-1])
    struct.pack_into("<I", data, offsets[-1] + 2 + 12 * entries, point_to(offsets, len(data)))
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize(
    ("pages", "point_to", "words"),
    [
        (1, lambda offsets, size: offsets[0], "loops back"),  # points at itself
        (3, lambda offsets, size: offsets[0], "loops back"),  # back to the first page
        (2, lambda offsets, size: offsets[1], "loops back"),
        (1, lambda offsets, size: size + 10**6, "past the end"),
        (1, lambda offsets, size: 2**32 - 2, "past the end"),
    ],
)
def test_tiff_ifd_chain_loops_and_far_offsets_are_refused_quickly(tmp_path, pages, point_to, words):
    # Before: tifffile followed the loop for ever (memory growing ~50 MB/s).
    path = tiff_with_next_ifd(tmp_path, pages, point_to)
    start = time.perf_counter()
    with (
        time_limit(5),
        pytest.raises(ImageFileError, match=rf"hostile.tif: is truncated or corrupt .*{words}"),
    ):
        read_image(path)
    assert time.perf_counter() - start < 0.5


def test_tiff_with_too_many_pages_is_refused_without_walking_them_all(tmp_path, monkeypatch):
    from nlmeans.io import _tiff_ifds as tiff_ifds

    monkeypatch.setattr(tiff_ifds, "TIFF_MAX_IFDS", 4)
    tifffile.imwrite(
        tmp_path / "stack.tif", np.zeros((6, 4, 4), np.uint8), photometric="minisblack"
    )
    with pytest.raises(ImageFileError, match="more than 4 pages"):
        read_image(tmp_path / "stack.tif")


def test_tiff_tag_declaring_billions_of_values_is_refused(tmp_path):
    path = tmp_path / "tag.tif"
    tifffile.imwrite(path, np.zeros((8, 9), np.uint8))
    data = bytearray(path.read_bytes())
    (first,) = struct.unpack_from("<I", data, 4)
    (entries,) = struct.unpack_from("<H", data, first)
    for k in range(entries):
        at = first + 2 + 12 * k
        if struct.unpack_from("<H", data, at)[0] == 273:  # StripOffsets
            struct.pack_into("<I", data, at + 4, 2**31)  # count
    path.write_bytes(bytes(data))
    with pytest.raises(ImageFileError, match="tag 273 declares"):
        read_image(path)


def test_tiff_thumbnail_first_reads_the_main_image(tmp_path, rng):
    image = random_image(rng, (40, 50), np.uint16)
    with tifffile.TiffWriter(tmp_path / "t.tif") as tiff:
        tiff.write(np.full((10, 12), 7, np.uint16), subfiletype=1)  # reduced resolution
        tiff.write(image)
        tiff.write(np.zeros((40, 50), bool), subfiletype=4)  # transparency mask
    np.testing.assert_array_equal(read_image(tmp_path / "t.tif").pixels, image)
    with tifffile.TiffWriter(tmp_path / "only.tif") as tiff:
        tiff.write(np.full((10, 12), 7, np.uint16), subfiletype=1)
    with pytest.raises(ImageFileError, match="has no main image"):
        read_image(tmp_path / "only.tif")


@pytest.mark.parametrize("compression", ["raw", "group4", "packbits"])
def test_bilevel_tiff_becomes_8_bit_gray(tmp_path, compression):
    bits = np.arange(20 * 30).reshape(20, 30) % 7 < 3
    Image.fromarray(bits).save(tmp_path / "b.tif", compression=compression)
    picture = read_image(tmp_path / "b.tif")
    assert picture.pixels.dtype == np.uint8
    np.testing.assert_array_equal(picture.pixels, np.where(bits, 255, 0))


def test_bilevel_white_is_zero_tiff_is_inverted(tmp_path):
    bits = np.arange(8 * 16).reshape(8, 16) % 3 == 0
    tifffile.imwrite(tmp_path / "w.tif", bits, photometric="miniswhite")
    np.testing.assert_array_equal(read_image(tmp_path / "w.tif").pixels, np.where(bits, 0, 255))


@pytest.mark.parametrize("value", [np.nan, np.inf, 1e30])
def test_float_alpha_must_be_finite_like_the_color(tmp_path, rng, value):
    image = random_image(rng, (6, 7, 4), np.float32)
    image[2, 3, 3] = value
    tifffile.imwrite(tmp_path / "a.tif", image, photometric="rgb", extrasamples=["unassalpha"])
    words = r"has values up to 1e\+30" if value == 1e30 else "has 1 non-finite"
    with pytest.raises(ImageFileError, match=rf"a.tif: alpha channel {words}"):
        read_image(tmp_path / "a.tif")


def test_require_finite_refuses_huge_floats_naming_the_file():
    with pytest.raises(ImageFileError, match=r"^f.tif: has values up to 2e\+16"):
        require_finite("f.tif", np.array([[1.0, -2e16]], np.float32))
    require_finite("f.tif", np.array([[1.0, -1e15]], np.float64))


# ------------------------------------------------------- hostile PNG structure


def png_chunk(kind, payload):
    return (
        struct.pack(">I", len(payload))
        + kind
        + payload
        + struct.pack(">I", zlib.crc32(kind + payload))
    )


def with_chunk_after_header(data, kind, payload):
    return data[:33] + png_chunk(kind, payload) + data[33:]


@pytest.mark.parametrize("orientation", range(1, 9))
def test_16_bit_png_exif_orientation_is_applied_like_8_bit(tmp_path, rng, orientation):
    image8 = random_image(rng, (6, 10, 3), np.uint8)
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(image8).save(tmp_path / "o8.png", exif=exif)
    data = with_chunk_after_header(
        png16.encode(image8.astype(np.uint16) * 257), b"eXIf", exif.tobytes()
    )
    (tmp_path / "o16.png").write_bytes(data)
    upright8 = read_image(tmp_path / "o8.png").pixels
    upright16 = read_image(tmp_path / "o16.png").pixels
    assert upright8.shape == upright16.shape
    np.testing.assert_array_equal(upright16, upright8.astype(np.uint16) * 257)


@pytest.mark.parametrize("depth", [8, 16])
def test_png_without_iend_is_read_when_all_image_data_is_there(tmp_path, rng, depth):
    # One rule for both depths: accepted when all image data is present and intact.
    image = random_image(rng, (20, 30, 3), np.uint8 if depth == 8 else np.uint16)
    data = png16.encode(image) if depth == 16 else encoded(image, "PNG")
    assert data.endswith(png_chunk(b"IEND", b""))
    (tmp_path / "no_iend.png").write_bytes(data[:-12])
    np.testing.assert_array_equal(read_image(tmp_path / "no_iend.png").pixels, image)
    (tmp_path / "cut.png").write_bytes(data[:-20])  # the last IDAT chunk is cut
    with pytest.raises(ImageFileError, match="cut.png: .*(truncated|corrupt)"):
        read_image(tmp_path / "cut.png")


@pytest.mark.parametrize("depth", [8, 16])
def test_png_padded_to_100_gb_reads_just_the_image(tmp_path, rng, depth):
    # Before: the 16-bit reader read the whole (sparse) file: MemoryError.
    image = random_image(rng, (40, 50), np.uint8 if depth == 8 else np.uint16)
    path = tmp_path / "padded.png"
    path.write_bytes(png16.encode(image) if depth == 16 else encoded(image, "PNG"))
    os.truncate(path, 100 * 1024**3)  # sparse: no disk space used
    with time_limit(10):
        np.testing.assert_array_equal(read_image(path).pixels, image)


def test_16_bit_png_chunk_lengths_are_bounded(tmp_path, rng):
    image = random_image(rng, (8, 9), np.uint16)
    data = bytearray(png16.encode(image))
    struct.pack_into(">I", data, 33, 2**32 - 1)  # the IDAT length
    (tmp_path / "len.png").write_bytes(bytes(data))
    with pytest.raises(ImageFileError, match="len.png: file is corrupt .*declares 4294967295"):
        read_image(tmp_path / "len.png")
    huge = with_chunk_after_header(png16.encode(image), b"tEXt", b"k\x00v")
    huge = huge[:33] + struct.pack(">I", 2**31 - 1) + huge[37:]  # ancillary, skipped
    (tmp_path / "far.png").write_bytes(huge)
    with pytest.raises(ImageFileError, match="far.png: file is truncated"):
        read_image(tmp_path / "far.png")


def test_symbolic_link_loop_and_broken_link_are_named(tmp_path):
    os.symlink("l2.png", tmp_path / "l1.png")
    os.symlink("l1.png", tmp_path / "l2.png")
    os.symlink("nowhere.png", tmp_path / "gone.png")
    # Before: "no such file" (Path.exists hides the loop); resolve() raised RuntimeError.
    with pytest.raises(ImageFileError, match=r"l1.png: is a symbolic link loop"):
        read_image(tmp_path / "l1.png")
    with pytest.raises(ImageFileError, match=r"l1.png: is a symbolic link loop"):
        resolve_path(tmp_path / "l1.png")
    with pytest.raises(ImageFileError, match=r"gone.png: is a broken symbolic link"):
        read_image(tmp_path / "gone.png")
    with pytest.raises(ImageFileError, match=r"missing.png: no such file"):
        read_image(tmp_path / "missing.png")


@pytest.mark.parametrize("depth", [8, 16])
def test_png_cut_before_its_image_data_and_padded_is_refused_quickly(tmp_path, rng, depth):
    # Found by the fuzzer: zero padding read as billions of empty chunks (a hang).
    image = random_image(rng, (10, 12), np.uint8 if depth == 8 else np.uint16)
    data = png16.encode(image) if depth == 16 else encoded(image, "PNG")
    path = tmp_path / "cut.png"
    path.write_bytes(data[:33])  # signature and header only
    os.truncate(path, 100 * 1024**3)
    with time_limit(5), pytest.raises(ImageFileError, match="not a chunk type"):
        read_image(path)


@pytest.mark.parametrize("depth", [8, 16])
def test_png_image_data_longer_than_the_size_needs_is_refused_unread(tmp_path, rng, depth):
    # Found by the fuzzer: an IDAT length of 2^31 - 1 in a padded file read 2 GB first.
    image = random_image(rng, (10, 12), np.uint8 if depth == 8 else np.uint16)
    data = bytearray(png16.encode(image) if depth == 16 else encoded(image, "PNG"))
    idat = bytes(data).index(b"IDAT") - 4
    struct.pack_into(">I", data, idat, 2**31 - 1)
    path = tmp_path / "long.png"
    path.write_bytes(bytes(data))
    os.truncate(path, 100 * 1024**3)
    with time_limit(5), pytest.raises(ImageFileError, match="longer than the declared size"):
        read_image(path)


def test_tifffile_warnings_stay_off_stderr(tmp_path, caplog):
    # Found by the fuzzer: tifffile logged "incorrect StripByteCounts count" on stderr.
    path = tmp_path / "odd.tif"
    tifffile.imwrite(path, np.zeros((8, 9), np.uint8))
    data = bytearray(path.read_bytes())
    (first,) = struct.unpack_from("<I", data, 4)
    (entries,) = struct.unpack_from("<H", data, first)
    for k in range(entries):
        at = first + 2 + 12 * k
        if struct.unpack_from("<H", data, at)[0] == 282:  # XResolution: a bad offset
            struct.pack_into("<I", data, at + 8, 1)
    path.write_bytes(bytes(data))
    read_image(path)
    # (pytest takes over logging; outside it these records went to stderr)
    assert [r.getMessage() for r in caplog.records if r.name == "tifffile"] == []
