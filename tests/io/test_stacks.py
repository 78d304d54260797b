"""Volumes and time stacks in files: TIFF stacks (ImageJ, OME, plain with --axes), compressed
TIFFs, .npy arrays, the T defaults, what is written, batch, and hostile stacks."""

import json
import struct
import sys
import time

import numpy as np
import pytest
import tifffile
from PIL import Image
from typer.testing import CliRunner

import nlmeans
from nlmeans import _memory as memory
from nlmeans.cli import app
from nlmeans.io import ImageFileError, read_image, write_image
from nlmeans.io._axes import parse_axes, radii_for_axes

runner = CliRunner()


def noisy(rng, shape, dtype=np.uint8, sigma=20.0):
    peak = 255 if dtype == np.uint8 else 4000
    clean = np.linspace(0.3, 0.7, shape[-1]) * peak
    values = np.broadcast_to(clean, shape) + rng.normal(0, sigma * peak / 255, shape)
    if np.dtype(dtype).kind == "f":
        return values.astype(dtype)
    return np.clip(values, 0, peak).astype(dtype)


def cli(*args):
    return runner.invoke(app, ["denoise", *map(str, args)])


def one_error_line(result, *words):
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    for word in words:
        assert word in lines[0], lines[0]


# ------------------------------------------------------------------ axes


def test_parse_axes_validates_letters_duplicates_and_y_x():
    assert parse_axes("tzyxs") == "TZYXC"
    with pytest.raises(nlmeans.NLMeansError, match="unknown letter"):
        parse_axes("ZYQ")
    with pytest.raises(nlmeans.NLMeansError, match="Z named more than once"):
        parse_axes("ZZYX")
    with pytest.raises(nlmeans.NLMeansError, match="Y and X"):
        parse_axes("TZY")


def test_time_axis_gets_f0_r2_unless_given():
    assert radii_for_axes("TYX", None, None) == ((0, None, None), (2, None, None))
    assert radii_for_axes("ZTYXC", None, 4) == ((None, 0, None, None), 4)
    assert radii_for_axes("ZYX", None, None) == (None, None)
    assert radii_for_axes("TYX", (1, 2, 2), (3, 5, 5)) == ((1, 2, 2), (3, 5, 5))


# ------------------------------------------------------------------ TIFF stacks


def test_imagej_z_stack_denoised_with_spacing_and_resolution_kept(tmp_path, rng):
    stack = noisy(rng, (5, 20, 22), np.uint16)
    source = tmp_path / "z.tif"
    tifffile.imwrite(
        source, stack, imagej=True, resolution=(4.0, 4.0),
        metadata={"axes": "ZYX", "spacing": 0.75, "unit": "um"},
    )  # fmt: skip
    picture = read_image(source)
    assert (picture.layout, picture.axes_source) == ("ZYX", "metadata")
    result = cli(source, "--f", "1", "--r", "2", "--h", "300", "--sigma", "250", "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["axes"] == "ZYX" and document["shape"] == [5, 20, 22]
    expected = nlmeans.denoise(stack, h=300, sigma=250, f=1, r=2)
    out = tmp_path / "z_denoised.tif"
    with tifffile.TiffFile(out) as tiff:
        assert tiff.is_imagej and tiff.series[0].axes == "ZYX"
        assert tiff.imagej_metadata["spacing"] == 0.75 and tiff.imagej_metadata["unit"] == "um"
        assert tiff.pages[0].resolution == (4.0, 4.0)
        np.testing.assert_array_equal(tiff.asarray(), expected)


def test_time_lapse_gets_the_t_defaults_and_reports_the_axes(tmp_path, rng):
    stack = noisy(rng, (6, 16, 18))
    tifffile.imwrite(tmp_path / "t.tif", stack, imagej=True, metadata={"axes": "TYX"})
    result = cli(tmp_path / "t.tif")
    assert result.exit_code == 0, result.output
    assert "axes=TYX from the file's metadata" in result.stdout
    f, r = radii_for_axes("TYX", None, None)
    expected, params = nlmeans.denoise(stack, f=f, r=r, return_params=True)
    assert params.f[0] == 0 and params.r[0] == 2
    assert f"f={','.join(map(str, params.f))} r={','.join(map(str, params.r))}" in result.stdout
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "t_denoised.tif"), expected)
    # Given radii win over the T defaults.
    again = cli(tmp_path / "t.tif", "--f", "1", "--r", "1", "--overwrite", "--json")
    assert json.loads(again.stdout)["params"]["f"] == 1


def test_ome_czyx_keeps_axes_channels_and_physical_sizes(tmp_path, rng):
    stack = noisy(rng, (2, 4, 12, 14), np.float32, sigma=0.05) / 255
    source = tmp_path / "cells.ome.tif"
    tifffile.imwrite(
        source, stack, ome=True,
        metadata={"axes": "CZYX", "PhysicalSizeX": 0.2, "PhysicalSizeY": 0.2, "PhysicalSizeZ": 1.5},
    )  # fmt: skip
    picture = read_image(source)
    assert picture.layout == "CZYX" and picture.channel_axis == 0 and picture.channels == 2
    out = tmp_path / "out.tif"
    result = cli(source, "-o", out, "--f", "1", "--r", "1", "--h", "0.05", "--sigma", "0.05")
    assert result.exit_code == 0, result.output
    expected = nlmeans.denoise(stack, h=0.05, sigma=0.05, f=1, r=1, channel_axis=0)
    with tifffile.TiffFile(out) as tiff:
        assert tiff.is_ome and tiff.series[0].axes == "CZYX"
        assert 'PhysicalSizeZ="1.5"' in tiff.ome_metadata
        np.testing.assert_array_equal(tiff.asarray(), expected)


def test_ome_zyxs_rgb_stack_reads_samples_as_channels(tmp_path, rng):
    stack = noisy(rng, (3, 10, 12, 3))
    tifffile.imwrite(
        tmp_path / "rgb.ome.tif", stack, ome=True, photometric="rgb", metadata={"axes": "ZYXS"}
    )
    picture = read_image(tmp_path / "rgb.ome.tif")
    assert picture.layout == "ZYXC" and picture.channel_axis == 3
    np.testing.assert_array_equal(picture.pixels, stack)


def test_plain_multipage_tiff_is_refused_then_read_with_axes(tmp_path, rng):
    stack = noisy(rng, (4, 12, 12))
    with tifffile.TiffWriter(tmp_path / "pages.tif") as tiff:
        for page in stack:  # no description: tifffile sees a generic sequence (I)
            tiff.write(page, photometric="minisblack", metadata=None)
    refused = cli(tmp_path / "pages.tif")
    one_error_line(refused, "pages.tif", "without usable axes metadata", "--axes", "ZYX")
    assert not (tmp_path / "pages_denoised.tif").exists()
    mismatch = cli(tmp_path / "pages.tif", "--axes", "TZYX")
    one_error_line(mismatch, "--axes TZYX names 4 axes but the file has 3")
    one_error_line(cli(tmp_path / "pages.tif", "--axes", "ZZX"), "named more than once")
    result = cli(tmp_path / "pages.tif", "--axes", "zyx", "--f", "1", "--r", "1")
    assert result.exit_code == 0, result.output
    assert "axes=ZYX given by --axes" in result.stdout
    with tifffile.TiffFile(tmp_path / "pages_denoised.tif") as tiff:
        assert tiff.is_imagej and tiff.series[0].axes == "ZYX"


def test_stack_with_thumbnail_reads_the_main_pages_only(tmp_path, rng):
    stack = noisy(rng, (3, 10, 11))
    with tifffile.TiffWriter(tmp_path / "t.tif") as tiff:
        tiff.write(np.full((4, 5), 7, np.uint8), subfiletype=1)  # reduced resolution
        tiff.write(stack, photometric="minisblack", metadata={"axes": "ZYX"})
    picture = read_image(tmp_path / "t.tif")
    assert picture.layout == "ZYX"
    np.testing.assert_array_equal(picture.pixels, stack)


def test_more_pages_than_the_old_limit_are_read(tmp_path):
    stack = np.arange(300 * 2 * 3, dtype=np.uint8).reshape(300, 2, 3)
    tifffile.imwrite(tmp_path / "long.tif", stack, imagej=True, metadata={"axes": "TYX"})
    np.testing.assert_array_equal(read_image(tmp_path / "long.tif").pixels, stack)


def test_stack_to_png_is_refused_before_computing(tmp_path, rng):
    stack = noisy(rng, (3, 8, 8))
    tifffile.imwrite(tmp_path / "z.tif", stack, imagej=True, metadata={"axes": "ZYX"})
    result = cli(tmp_path / "z.tif", "-o", tmp_path / "z.png")
    one_error_line(result, "PNG stores single images", "ZYX stack", "write .tif or .npy")


@pytest.mark.parametrize("compression", ["lzw", "zlib", "packbits", "zstd", "jpeg"])
def test_compressed_tiffs_are_read_and_keep_their_compression(tmp_path, rng, compression):
    stack = noisy(rng, (2, 16, 16))
    tifffile.imwrite(
        tmp_path / "c.tif", stack, compression=compression, photometric="minisblack",
        metadata={"axes": "TYX"},
    )  # fmt: skip
    picture = read_image(tmp_path / "c.tif")
    if compression == "jpeg":  # lossy: close to the data
        assert np.abs(picture.pixels.astype(int) - stack).mean() < 4
    else:
        np.testing.assert_array_equal(picture.pixels, stack)
    write_image(tmp_path / "out.tif", picture.pixels, like=picture)
    with tifffile.TiffFile(tmp_path / "out.tif") as tiff:
        kept = {"zlib": "ADOBE_DEFLATE"}.get(compression, compression.upper())
        assert tiff.pages[0].compression.name == kept
        assert tiff.series[0].axes == "TYX"


def test_compressed_single_image_keeps_compression_and_resolution(tmp_path, rng):
    image = noisy(rng, (12, 14), np.uint16)
    tifffile.imwrite(tmp_path / "i.tif", image, compression="lzw", resolution=(300, 300),
                     resolutionunit="INCH")  # fmt: skip
    picture = read_image(tmp_path / "i.tif")
    assert picture.layout == "YX"
    write_image(tmp_path / "o.tif", picture.pixels, like=picture)
    with tifffile.TiffFile(tmp_path / "o.tif") as tiff:
        page = tiff.pages[0]
        assert page.compression.name == "LZW" and page.resolution == (300, 300)
        assert page.resolutionunit.name == "INCH"
        np.testing.assert_array_equal(page.asarray(), image)


# ------------------------------------------------------------------ .npy


def test_npy_axes_are_guessed_and_said(tmp_path, rng):
    cases = {
        "gray.npy": ((12, 13), "YX"),
        "rgb.npy": ((12, 13, 3), "YXC"),
        "vol.npy": ((4, 12, 13), "ZYX"),
    }
    for name, (shape, axes) in cases.items():
        array = noisy(rng, shape, np.float32) / 255
        np.save(tmp_path / name, array)
        result = cli(tmp_path / name, "--f", "1", "--r", "1")
        assert result.exit_code == 0, result.output
        assert f"axes={axes} guessed from the shape" in result.stdout
        out = np.load(tmp_path / name.replace(".npy", "_denoised.npy"))
        assert out.dtype == np.float32 and out.shape == shape
        channel_axis = -1 if axes == "YXC" else None
        expected = nlmeans.denoise(array, f=1, r=1, channel_axis=channel_axis)
        np.testing.assert_array_equal(out, expected)


def test_npy_4d_needs_axes_and_keeps_dtype_and_shape(tmp_path, rng):
    array = noisy(rng, (3, 2, 10, 11), np.uint16)
    np.save(tmp_path / "a.npy", array)
    one_error_line(cli(tmp_path / "a.npy"), "4-D array (shape 3x2x10x11)", "--axes")
    result = cli(tmp_path / "a.npy", "--axes", "TCYX", "--f", "1", "--r", "1", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["axes"] == "TCYX"
    out = np.load(tmp_path / "a_denoised.npy")
    expected = nlmeans.denoise(array, f=1, r=1, channel_axis=1)
    assert out.dtype == np.uint16 and out.shape == array.shape
    np.testing.assert_array_equal(out, expected)
    # --axes also overrides the guess of a 3-D array: a 3-frame time stack, not RGB.
    np.save(tmp_path / "t.npy", noisy(rng, (10, 11, 3)))
    assert read_image(tmp_path / "t.npy", "YXT").layout == "YXT"


def test_pickled_npy_is_refused(tmp_path):
    np.save(tmp_path / "o.npy", np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    one_error_line(cli(tmp_path / "o.npy"), "o.npy: holds Python objects")


def test_npy_of_unsupported_dtype_is_refused(tmp_path):
    np.save(tmp_path / "i.npy", np.zeros((4, 4), np.int32))
    with pytest.raises(ImageFileError, match="unsupported pixel type int32"):
        read_image(tmp_path / "i.npy")


# ------------------------------------------------------------------ batch


def test_batch_over_a_stack_an_image_and_an_array(tmp_path, rng):
    source, target = tmp_path / "in", tmp_path / "out"
    source.mkdir()
    stack = noisy(rng, (5, 12, 12))
    tifffile.imwrite(source / "t.tif", stack, imagej=True, metadata={"axes": "TYX"})
    Image.fromarray(noisy(rng, (12, 12, 3))).save(source / "i.png")
    np.save(source / "v.npy", noisy(rng, (3, 12, 12), np.float32) / 255)
    result = runner.invoke(app, ["batch", str(source), str(target), "--json"])
    assert result.exit_code == 0, result.output
    files = {f["input"].rsplit("/", 1)[-1]: f for f in json.loads(result.stdout)["files"]}
    assert {name: f["axes"] for name, f in files.items()} == {
        "i.png": "YXC", "t.tif": "TYX", "v.npy": "ZYX"
    }  # fmt: skip
    assert files["t.tif"]["params"]["f"][0] == 0 and files["t.tif"]["params"]["r"][0] == 2
    f, r = radii_for_axes("TYX", None, None)
    np.testing.assert_array_equal(
        tifffile.imread(target / "t.tif"), nlmeans.denoise(stack, f=f, r=r)
    )
    assert np.load(target / "v.npy").shape == (3, 12, 12)


def test_batch_axes_applies_to_every_file(tmp_path, rng):
    source, target = tmp_path / "in", tmp_path / "out"
    source.mkdir()
    for name in ("a.tif", "b.tif"):
        tifffile.imwrite(source / name, noisy(rng, (3, 10, 10)), photometric="minisblack")
    refused = runner.invoke(app, ["batch", str(source), str(target)])
    assert refused.exit_code == 1 and "name its axes with --axes" in refused.stderr
    result = runner.invoke(app, ["batch", str(source), str(target), "--axes", "TYX", "--f", "1"])
    assert result.exit_code == 0, result.output
    assert "axes=TYX" in result.stdout
    assert tifffile.imread(target / "a.tif").shape == (3, 10, 10)


# ------------------------------------------------------------------ hostile


def test_stack_whose_pages_loop_is_refused_fast(tmp_path):
    path = tmp_path / "loop.tif"
    tifffile.imwrite(path, np.zeros((5, 8, 9), np.uint8), imagej=True, metadata={"axes": "ZYX"})
    data = bytearray(path.read_bytes())
    with tifffile.TiffFile(path) as tiff:
        offsets = [page.offset for page in tiff.pages]
    (entries,) = struct.unpack_from("<H", data, offsets[-1])
    struct.pack_into("<I", data, offsets[-1] + 2 + 12 * entries, offsets[2])  # back to page 3
    path.write_bytes(bytes(data))
    start = time.perf_counter()
    with pytest.raises(ImageFileError, match="loop.tif: is truncated or corrupt .*loops back"):
        read_image(path)
    assert time.perf_counter() - start < 0.5


def test_huge_declared_stack_is_refused_before_decoding(tmp_path, monkeypatch):
    path = tmp_path / "big.tif"
    tifffile.imwrite(path, np.zeros((40, 64, 64), np.uint16), imagej=True,
                     metadata={"axes": "TYX"}, compression="zlib")  # fmt: skip
    monkeypatch.setattr(memory, "available_bytes", lambda: 2 * 1024**2)

    def decoded(*args, **kwargs):
        raise AssertionError("decoded before the memory check")

    monkeypatch.setattr(tifffile.TiffPageSeries, "asarray", decoded)
    with pytest.raises(ImageFileError, match=r"big.tif: declares a TYX stack of 40x64x64; "
                       r"denoising it needs about .* of memory"):  # fmt: skip
        read_image(path)


def test_huge_declared_npy_is_refused_before_reading(tmp_path, monkeypatch):
    np.save(tmp_path / "big.npy", np.zeros((20, 64, 64), np.float32))
    monkeypatch.setattr(memory, "available_bytes", lambda: 1024**2)
    with pytest.raises(ImageFileError, match="declares a ZYX stack of 20x64x64"):
        read_image(tmp_path / "big.npy")


def test_video_without_the_extra_names_it(tmp_path, monkeypatch):
    (tmp_path / "v.mkv").write_bytes(b"\x1aE\xdf\xa3" + bytes(60))
    monkeypatch.setitem(sys.modules, "av", None)  # import av raises ImportError
    one_error_line(cli(tmp_path / "v.mkv"), 'pip install "nlmeans[video]"')


def test_tune_on_a_time_stack_keeps_the_time_defaults(tmp_path, rng):
    # SURE tunes h and the method; the T axis keeps f_t = 0, r_t = 2.
    tifffile.imwrite(tmp_path / "t.tif", noisy(rng, (3, 12, 12)), imagej=True,
                     metadata={"axes": "TYX"})  # fmt: skip
    result = cli(tmp_path / "t.tif", "--tune", "--json")
    assert result.exit_code == 0, result.output
    params = json.loads(result.stdout)["params"]
    assert params["f"][0] == 0 and params["r"][0] == 2
    assert params["method"] in ("pixel", "patch")
