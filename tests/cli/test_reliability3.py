"""Hostile input, round 3: no input lost, no data silently dropped, every error one line.

Each case runs through the ``nlmeans`` command line (and the API where it
applies): exit 2 with one ``error:`` line naming the problem, nothing written,
the inputs untouched.
"""

import json
import os

import numpy as np
import pytest
from _support import assert_publish_holds_interrupts
from PIL import Image
from typer.testing import CliRunner

from nlmeans.cli import app

runner = CliRunner()


def snapshot(folder):
    """{relative path: bytes} of every file under ``folder`` (hidden ones included)."""
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def assert_one_line(result, code, *words):
    assert result.exit_code == code, result.output
    # The compile notice comes when warming the kernels is slow (a busy machine).
    notice = "compiling kernels, first run only…"
    lines = [line for line in result.stderr.strip().splitlines() if line != notice]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for word in words:
        assert word in lines[0], lines[0]
    assert "Traceback" not in result.output


@pytest.fixture
def tiff(tmp_path):
    import tifffile

    path = tmp_path / "g.tif"
    tifffile.imwrite(path, np.random.default_rng(0).integers(0, 256, (24, 24), dtype=np.uint8))
    return path


@pytest.fixture
def photo(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "g.png"
    Image.fromarray(rng.integers(0, 256, (24, 24), dtype=np.uint8)).save(path)
    return path


# --- An output path that is one of the inputs -------------------------------------------------


def _alias(kind, target, folder):
    """A path reaching ``target``: itself, a symbolic link or a hard link."""
    if kind == "same":
        return target
    alias = folder / f"alias_{kind}{target.suffix}"
    (os.symlink if kind == "symlink" else os.link)(target, alias)
    return alias


@pytest.mark.parametrize("kind", ["same", "symlink", "hardlink"])
@pytest.mark.parametrize("option", ["--csv", "--montage"])
def test_compare_refuses_a_report_that_is_its_clean_input(tmp_path, photo, kind, option):
    target = _alias(kind, photo, tmp_path)
    before = snapshot(tmp_path)
    result = invoke("compare", photo, "--sigma", 5, "--no-opencv", option, target)
    assert_one_line(result, 2, option, "is the input file")
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("kind", ["same", "symlink", "hardlink"])
def test_compare_refuses_a_report_that_is_its_noisy_input(tmp_path, photo, kind):
    noisy = tmp_path / "n.png"
    noisy.write_bytes(photo.read_bytes())
    target = _alias(kind, noisy, tmp_path)
    before = snapshot(tmp_path)
    result = invoke("compare", photo, "--noisy", noisy, "--no-opencv", "--csv", target)
    assert_one_line(result, 2, "--csv", "is the input file")
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("option", ["--csv", "--montage"])
def test_compare_refuses_a_report_that_is_a_folder_member(tmp_path, photo, option):
    folder = tmp_path / "clean"
    folder.mkdir()
    (folder / "a.png").write_bytes(photo.read_bytes())
    (folder / "b.png").write_bytes(photo.read_bytes())
    # A folder's montages are <stem>_<image>.png: "m_b.png" names the second montage.
    target = folder / ("b.png" if option == "--csv" else "m.png")
    if option == "--montage":
        os.symlink(folder / "a.png", folder / "m_b.png")
    before = snapshot(tmp_path)
    result = invoke("compare", folder, "--sigma", 5, "--no-opencv", option, target)
    assert_one_line(result, 2, option, "is the input file")
    assert snapshot(tmp_path) == before


def test_denoise_refuses_an_output_hard_linked_to_its_input(tmp_path, photo):
    target = _alias("hardlink", photo, tmp_path)
    before = snapshot(tmp_path)
    result = invoke("denoise", photo, "-o", target, "--overwrite")
    assert_one_line(result, 2, "output path is the input")
    assert snapshot(tmp_path) == before


def test_zarr_denoise_refuses_an_output_linked_to_its_input(tmp_path):
    zarr = pytest.importorskip("zarr")
    source = tmp_path / "in.zarr"
    zarr.create_array(store=str(source), shape=(16, 16), dtype="f4")[:] = np.ones((16, 16))
    os.symlink(source, tmp_path / "link.zarr")
    before = snapshot(tmp_path)
    result = invoke("denoise", source, "-o", tmp_path / "link.zarr", "--overwrite", "-q")
    assert_one_line(result, 2, "is the input")
    assert snapshot(tmp_path) == before


# --- A .zarr output that appears while denoise computes ---------------------------------------


def _store_appearing(monkeypatch, output, marker):
    """Make another "process" create ``output`` (with ``marker``) while the chunks compute."""
    import dask.array as da

    store = da.store

    def store_then_appear(*args, **kwargs):
        result = store(*args, **kwargs)
        output.mkdir()
        (output / "theirs.txt").write_text(marker)
        return result

    monkeypatch.setattr(da, "store", store_then_appear)


def test_a_zarr_output_created_meanwhile_is_kept(tmp_path, tiff, monkeypatch):
    pytest.importorskip("zarr")
    output = tmp_path / "out.zarr"
    _store_appearing(monkeypatch, output, "keep me")
    result = invoke("denoise", tiff, "-o", output, "-q")
    assert_one_line(result, 2, "already exists (it appeared meanwhile)")
    assert (output / "theirs.txt").read_text() == "keep me"
    assert sorted(p.name for p in output.iterdir()) == ["theirs.txt"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.zarr")]


def test_a_zarr_overwrite_replaces_only_once_complete(tmp_path, tiff, monkeypatch):
    zarr = pytest.importorskip("zarr")
    import dask.array as da

    output = tmp_path / "out.zarr"
    output.mkdir()
    (output / "old.txt").write_text("old")
    store, seen = da.store, []

    def store_and_look(*args, **kwargs):
        result = store(*args, **kwargs)
        seen.append(sorted(p.name for p in output.iterdir()))  # the old store, still whole
        return result

    monkeypatch.setattr(da, "store", store_and_look)
    result = invoke("denoise", tiff, "-o", output, "-q", "--overwrite")
    assert result.exit_code == 0, result.output
    assert seen == [["old.txt"]]
    assert zarr.open(str(output), mode="r").shape == (24, 24)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.zarr")]


def test_write_zarr_api_keeps_a_store_created_meanwhile(tmp_path, monkeypatch):
    pytest.importorskip("zarr")
    import dask.array as da

    from nlmeans.errors import NLMeansError
    from nlmeans.io._zarr import write_zarr

    output = tmp_path / "api.zarr"
    _store_appearing(monkeypatch, output, "theirs")
    with pytest.raises(NLMeansError, match="appeared meanwhile"):
        write_zarr(da.zeros((8, 8), chunks=4), output)
    assert (output / "theirs.txt").read_text() == "theirs"


def test_a_zarr_output_gets_a_folder_s_usual_permissions(tmp_path, tiff):
    # Not the temporary folder's private 0o700: 0o777 minus the umask for a new store,
    # the replaced store's own bits with --overwrite.
    pytest.importorskip("zarr")
    output = tmp_path / "out.zarr"
    result = invoke("denoise", tiff, "-o", output, "-q")
    assert result.exit_code == 0, result.output
    umask = os.umask(0)
    os.umask(umask)
    assert output.stat().st_mode & 0o777 == 0o777 & ~umask
    os.chmod(output, 0o750)
    result = invoke("denoise", tiff, "-o", output, "-q", "--overwrite")
    assert result.exit_code == 0, result.output
    assert output.stat().st_mode & 0o777 == 0o750


def test_a_zarr_output_holds_interrupts_from_its_rename(tmp_path, tiff):
    # As the command's last output: a Ctrl-C after the rename cannot make a
    # published store an exit 130.
    pytest.importorskip("zarr")
    import dask.array as da

    from nlmeans.dask import _files
    from nlmeans.io._zarr import write_zarr

    def run_command():
        result = invoke("denoise", tiff, "-o", tmp_path / "out.zarr", "-q")
        assert result.exit_code == 0, result.output

    assert_publish_holds_interrupts(
        lambda: write_zarr(da.zeros((8, 8), chunks=4), tmp_path / "api.zarr", final=True),
        _files, "write_zarr", run_command,
    )  # fmt: skip


def test_json_of_compare_is_strict(tmp_path, photo):
    result = invoke("compare", photo, "--sigma", 0, "--no-opencv", "--json")
    assert result.exit_code == 0, result.output

    def refuse(constant):
        raise ValueError(constant)

    json.loads(result.stdout, parse_constant=refuse)


# --- Containers: every page, frame or series read, or a refusal -------------------------------


def _pages_one_by_one(path, pages, how):
    import tifffile

    if how == "contiguous=False":
        with tifffile.TiffWriter(path) as writer:
            for page in pages:
                writer.write(page, contiguous=False)
    else:
        for page in pages:
            tifffile.imwrite(path, page, append=True)


@pytest.mark.parametrize("count", [5, 400])
@pytest.mark.parametrize("how", ["contiguous=False", "append=True"])
def test_a_tiff_written_page_by_page_is_never_read_as_its_first_page(tmp_path, count, how):
    import tifffile

    pages = np.random.default_rng(count).integers(0, 256, (count, 12, 10), dtype=np.uint8)
    source = tmp_path / "pages.tif"
    _pages_one_by_one(source, pages, how)
    output = tmp_path / "out.tif"
    # Without axes metadata: a one-line refusal naming the page count, nothing written.
    result = invoke("denoise", source, "-o", output, "-q")
    assert_one_line(result, 2, f"({count} pages)", "--axes")
    assert not output.exists()
    # Named axes: the whole stack read, denoised and written back.
    result = invoke("denoise", source, "-o", output, "-q", "--axes", "ZYX", "--r", 1, "--f", 1)
    assert result.exit_code == 0, result.output
    assert tifffile.imread(output).shape == pages.shape


def test_read_image_api_reads_every_page(tmp_path):
    from nlmeans.io import read_image

    pages = np.random.default_rng(1).integers(0, 256, (5, 8, 9), dtype=np.uint16)
    source = tmp_path / "pages.tif"
    _pages_one_by_one(source, pages, "append=True")
    np.testing.assert_array_equal(read_image(source, "ZYX").pixels, pages)


def test_a_tiff_of_unlike_pages_is_refused_naming_its_pages(tmp_path):
    import tifffile

    source = tmp_path / "mixed.tif"
    tifffile.imwrite(source, np.zeros((8, 8), np.uint8))
    tifffile.imwrite(source, np.zeros((6, 5), np.uint8), append=True)
    result = invoke("denoise", source, "-o", tmp_path / "out.tif", "-q")
    assert_one_line(result, 2, "has 2 pages of different shapes")
    assert not (tmp_path / "out.tif").exists()


@pytest.mark.parametrize("fraction", [0.3, 0.6, 0.9])
def test_a_cut_mkv_is_refused_naming_the_missing_frames(tmp_path, fraction):
    pytest.importorskip("av")
    from fractions import Fraction

    from nlmeans.io import Picture
    from nlmeans.io._video import encode_video

    frames = np.random.default_rng(2).integers(0, 256, (40, 16, 24, 3), dtype=np.uint8)
    like = Picture(frames, None, "TYXC", "format", {"fps": Fraction(25)})
    data = encode_video(tmp_path / "v.mkv", frames, like, None)
    (tmp_path / "whole.mkv").write_bytes(data)
    (tmp_path / "cut.mkv").write_bytes(data[: int(len(data) * fraction)])
    result = invoke("denoise", tmp_path / "cut.mkv", "-o", tmp_path / "out.mkv", "-q")
    assert_one_line(result, 2, "is truncated or damaged", "of the 40 its container declares")
    assert not (tmp_path / "out.mkv").exists()
    # The whole file reads all 40 frames.
    from nlmeans.io import read_image

    assert read_image(tmp_path / "whole.mkv").pixels.shape == frames.shape


def test_the_chunked_path_refuses_a_tiff_of_several_series(tmp_path):
    pytest.importorskip("zarr")
    source = tmp_path / "pages.tif"
    _pages_one_by_one(source, np.zeros((5, 8, 8), np.uint8), "append=True")
    result = invoke("denoise", source, "-o", tmp_path / "out.zarr", "-q")
    assert_one_line(result, 2, "holds 5 image series")
    assert not (tmp_path / "out.zarr").exists()


def test_a_video_of_two_streams_is_refused(tmp_path):
    av = pytest.importorskip("av")
    path = tmp_path / "two.mkv"
    with av.open(str(path), "w") as container:
        streams = [container.add_stream("ffv1", rate=25) for _ in range(2)]
        for stream in streams:
            stream.width, stream.height, stream.pix_fmt = 16, 16, "bgr0"
        frame = av.VideoFrame.from_ndarray(np.zeros((16, 16, 3), np.uint8), format="rgb24")
        for _ in range(3):
            for stream in streams:
                container.mux(stream.encode(frame))
        for stream in streams:
            container.mux(stream.encode())
    result = invoke("denoise", path, "-o", tmp_path / "out.mkv", "-q")
    assert_one_line(result, 2, "has 2 video streams")


# --- Errors that were internal (exit 3): one line, exit 2 --------------------------------------


def test_a_malformed_npy_header_is_one_line(tmp_path):
    import io

    buffer = io.BytesIO()
    np.save(buffer, np.zeros((8, 8), np.float32))
    data = buffer.getvalue().replace(b"'shape': (8, 8)", b"'shape': (8, 8a")
    (tmp_path / "bad.npy").write_bytes(data)
    result = invoke("denoise", tmp_path / "bad.npy", "-o", tmp_path / "o.npy")
    assert_one_line(result, 2, "bad.npy: is truncated or corrupt (.npy header")
    assert not (tmp_path / "o.npy").exists()


def _zarr_store(path, shape=(16, 16), chunks=(8, 8), **options):
    zarr = pytest.importorskip("zarr")
    array = zarr.create_array(store=str(path), shape=shape, chunks=chunks, dtype="f4", **options)
    return array


@pytest.mark.parametrize("side", ["input", "output"])
def test_a_zarr_link_loop_is_one_line(tmp_path, tiff, side):
    pytest.importorskip("zarr")
    loop = tmp_path / "loop.zarr"
    os.symlink(loop, loop)
    args = (loop, "-o", tmp_path / "o.zarr") if side == "input" else (tiff, "-o", loop)
    result = invoke("denoise", *args, "-q")
    assert_one_line(result, 2, "loop.zarr: is a symbolic link loop")


def test_a_zarr_chunk_shape_of_zeros_is_one_line(tmp_path):
    import json as json_module

    store = tmp_path / "zero.zarr"
    _zarr_store(store)[:] = 1
    meta = json_module.loads((store / "zarr.json").read_text())
    meta["chunk_grid"]["configuration"]["chunk_shape"] = [0, 0]
    (store / "zarr.json").write_text(json_module.dumps(meta))
    result = invoke("denoise", store, "-o", tmp_path / "o.zarr", "-q")
    assert_one_line(result, 2, "chunk shape [0, 0] has an empty side")


def test_a_huge_zarr_is_refused_before_any_allocation(tmp_path):
    store = tmp_path / "huge.zarr"
    _zarr_store(store, shape=(10**12, 10**12), chunks=(256, 256))
    result = invoke("denoise", store, "-o", tmp_path / "o.zarr", "-q")
    assert_one_line(result, 2, "chunks of side 1024", "give larger --chunks")
    assert not (tmp_path / "o.zarr").exists()


@pytest.mark.parametrize("compressed", [True, False])
def test_a_corrupt_zarr_chunk_is_one_line(tmp_path, compressed):
    store = tmp_path / "bad.zarr"
    options = {} if compressed else {"compressors": None}
    _zarr_store(store, **options)[:] = 1
    chunk = sorted(p for p in (store / "c").rglob("*") if p.is_file())[0]
    chunk.write_bytes(b"garbage")
    result = invoke("denoise", store, "-o", tmp_path / "o.zarr", "-q", "--h", 0.1, "--sigma", 0.1)
    assert_one_line(result, 2, "bad.zarr: a chunk cannot be read")
    assert not (tmp_path / "o.zarr").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_compare_refuses_a_negative_seed_and_a_volume(tmp_path, photo):
    result = invoke("compare", photo, "--sigma", 5, "--seed", -1, "--no-opencv")
    assert_one_line(result, 2, "--seed")
    volume = tmp_path / "vol.npy"
    np.save(volume, np.random.default_rng(0).random((8, 16, 16)).astype(np.float32))
    result = invoke("compare", volume, "--sigma", 5, "--no-opencv")
    assert_one_line(result, 2, "is a ZYX stack", "compare takes single 2-D images")


def test_huge_sigmas_name_the_parameter_and_its_range(tmp_path, photo):
    result = invoke("compare", photo, "--sigma", 1e300, "--tune", "--no-opencv")
    assert_one_line(result, 2, "--sigma 1e+300 is out of range", "from 0 to 1020")
    for extra in (["--tune", "--sigma", 1e6], ["--method", "combined", "--sigma", 1e15]):
        result = invoke("denoise", photo, "-o", tmp_path / "o.png", *extra)
        assert_one_line(result, 2, "sigma=", "is out of range", "at most 1020")
    # The API says the same; a sigma within the range works.
    import nlmeans

    image = np.asarray(Image.open(photo))
    with pytest.raises(nlmeans.NLMeansError, match="at most 1020"):
        nlmeans.denoise(image, sigma=1e6, tune=True)
    assert nlmeans.denoise(image, sigma=1000, method="combined").shape == image.shape
    # Not asked for, tuning steps aside for such a sigma: the presets, no error.
    expected = nlmeans.denoise(image, sigma=1e6, tune=False)
    np.testing.assert_array_equal(nlmeans.denoise(image, sigma=1e6), expected)


# --- Limits: memory, threads, workers ----------------------------------------------------------


def test_the_memory_check_honours_rlimit_as(monkeypatch):
    import resource

    from nlmeans import _memory as memory

    monkeypatch.setattr(resource, "getrlimit", lambda which: (2 * 2**30, resource.RLIM_INFINITY))
    left = memory.address_space_available()
    assert left is not None and 0 <= left < 2 * 2**30
    assert memory.available_bytes() <= left


def test_batch_goes_on_after_a_file_fails_with_an_internal_error(tmp_path, photo, monkeypatch):
    import nlmeans.batch._process as process

    source, target = tmp_path / "in", tmp_path / "out"
    source.mkdir()
    (source / "a.png").write_bytes(photo.read_bytes())
    (source / "b.png").write_bytes(photo.read_bytes())
    denoise_picture = process.denoise_picture

    def failing(item, *args, **kwargs):
        if item.source.name == "a.png":
            raise MemoryError()
        return denoise_picture(item, *args, **kwargs)

    import nlmeans.batch._local as local

    monkeypatch.setattr(local, "denoise_picture", failing)
    result = invoke("batch", source, target, "--r", 2, "--f", 1)
    assert result.exit_code == 1, result.output
    assert "a.png" in result.output and "out of memory (MemoryError)" in result.output
    assert sorted(p.name for p in target.iterdir()) == ["b.png"]


@pytest.mark.parametrize(("value", "words"), [("", "is invalid"), ("abc", "is invalid")])
def test_a_bad_thread_variable_is_one_line(tmp_path, photo, value, words):
    import subprocess
    import sys

    env = {**os.environ, "NUMBA_NUM_THREADS": value}
    done = subprocess.run(
        [sys.executable, "-m", "nlmeans", "denoise", photo, "-o", tmp_path / "o.png"],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"error: NUMBA_NUM_THREADS={value!r} is invalid; expected an integer >= 1 "
        "(or leave it unset)"
    ]


def test_too_many_threads_are_capped_with_one_note(tmp_path, photo):
    import subprocess
    import sys

    cores = os.cpu_count()
    env = {**os.environ, "NUMBA_NUM_THREADS": str(1000)}
    done = subprocess.run(
        [sys.executable, "-m", "nlmeans", "denoise", photo, "-o", tmp_path / "o.png", "-q",
         "--threads", "2000"],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if not line.startswith("compiling")]
    assert lines == [
        f"note: NUMBA_NUM_THREADS=1000 is more than the {cores} CPU cores here; using {cores}",
        f"note: --threads 2000 is more than the {cores} CPU threads here; using {cores}",
    ]
    assert (tmp_path / "o.png").exists()


def test_denoise_nl_means_caps_threads_with_a_warning():
    import numba

    from nlmeans import denoise_nl_means

    most = numba.config.NUMBA_NUM_THREADS
    image = np.random.default_rng(0).random((16, 16))
    with pytest.warns(UserWarning, match=f"using {most}"):
        denoise_nl_means(image, h=0.1, patch_size=3, patch_distance=2, threads=most + 2)


@pytest.mark.parametrize(
    "options", [{"threads": 0}, {"threads": -3}, {"sample_chunks": 1.5}, {"sample_chunks": "2"}]
)
def test_dask_denoise_refuses_bad_counts(options):
    pytest.importorskip("dask")
    import dask.array as da

    import nlmeans
    from nlmeans.dask import denoise

    name = next(iter(options))
    with pytest.raises(nlmeans.NLMeansError, match=f"{name}=.* is out of range"):
        denoise(da.zeros((16, 16), chunks=8), h=0.1, sigma=0.1, **options)


def test_dask_local_workers_are_capped_with_a_note():
    pytest.importorskip("distributed")
    from nlmeans.batch._distributed import local_worker_limit, parse_dask

    most = local_worker_limit()
    assert 1 <= most <= (os.cpu_count() or 1)
    with pytest.warns(UserWarning, match=f"using {most}"):
        assert parse_dask("local:1000") == ("local", most)


def test_zarr_progress_only_on_a_terminal(tmp_path, tiff):
    pytest.importorskip("zarr")
    result = invoke("denoise", tiff, "-o", tmp_path / "o.zarr", "--r", 2, "--f", 1)
    assert result.exit_code == 0, result.output
    assert "\r" not in result.stderr and "[" not in result.stderr


# --- A photo through the first example -------------------------------------------------------


def test_a_photo_without_channel_axis_is_taken_as_color_with_a_warning():
    import warnings

    import nlmeans
    from nlmeans import denoise_nl_means

    rng = np.random.default_rng(3)
    clean = np.repeat(np.linspace(0, 255, 40)[None, :, None], 40, axis=0).repeat(3, axis=2)
    photo = np.clip(clean + rng.normal(0, 20, clean.shape), 0, 255).astype(np.uint8)
    options = dict(h=15, sigma=20, f=1, r=3)
    with pytest.warns(UserWarning, match=r"taken as a color image.*channel_axis=None"):
        guessed = nlmeans.denoise(photo, **options)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # explicit axes: no warning
        color = nlmeans.denoise(photo, channel_axis=-1, **options)
        volume = nlmeans.denoise(photo, channel_axis=None, **options)
        gray = nlmeans.denoise(photo[..., 0], **options)
        # The drop-in keeps scikit-image's meaning: no channel_axis, every axis spatial.
        dropin = denoise_nl_means(photo / 255.0, h=0.06, sigma=0.08, patch_size=3,
                                  patch_distance=3)  # fmt: skip
    np.testing.assert_array_equal(guessed, color)
    assert not np.array_equal(color, volume)
    assert gray.shape == (40, 40) and dropin.shape == photo.shape
