"""Hostile and unlucky input, case by case, through the ``nlmeans`` command line (and the API).

Every bad input gets one line ``error: ...`` on stderr and exit code 2, no
output file and an untouched input; interruptions leave no partial file.
"""

import importlib
import json
import os
import signal
import struct
import subprocess
import sys
import time
import zlib

import numpy as np
import pytest
import tifffile
from PIL import Image
from typer.testing import CliRunner

import nlmeans
from nlmeans import _memory as memory
from nlmeans.cli import app
from nlmeans.io import _png16 as png16
from nlmeans.io import write_image

runner = CliRunner()


def noisy(rng, shape, dtype=np.uint8):
    top = 255 if dtype == np.uint8 else 65535 if dtype == np.uint16 else 1.0
    values = np.clip(rng.normal(top / 2, top / 8, shape), 0, top)
    return values.astype(dtype) if np.dtype(dtype).kind == "f" else np.rint(values).astype(dtype)


def snapshot(folder):
    """{name: bytes} of every file in ``folder`` (hidden ones included)."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def run(*args):
    return runner.invoke(app, ["denoise", *map(str, args)])


def assert_refused(result, path, words, folder, before):
    """Exit 2, one ``error: <path>: ...`` line naming the problem, folder unchanged."""
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {path}: "), result.stderr
    assert words in lines[0]
    assert "Traceback" not in result.output
    assert snapshot(folder) == before


@pytest.fixture
def no_compute(monkeypatch):
    """Fail the test if the CLI reaches the denoiser."""

    def forbidden(*args, **kwargs):
        raise AssertionError("denoise was called")

    # Modules that bind the real function at import must do so before the patch (a module
    # first imported under it would keep the forbidden one for the rest of the session).
    importlib.import_module("nlmeans.batch._process")
    monkeypatch.setattr(importlib.import_module("nlmeans._denoise"), "denoise_request", forbidden)


# ------------------------------------------------------------------- bad input files


def bad_inputs(folder, rng):
    png = folder / "good.png"
    Image.fromarray(noisy(rng, (40, 40, 3))).save(png)
    Image.fromarray(noisy(rng, (40, 40, 3))).save(folder / "good.jpg")
    (folder / "empty.png").write_bytes(b"")
    (folder / "text.png").write_text("not an image at all\n")
    (folder / "random.png").write_bytes(bytes(rng.integers(0, 256, 500).astype(np.uint8)))
    (folder / "cut.png").write_bytes(png.read_bytes()[:-200])
    (folder / "cut.jpg").write_bytes((folder / "good.jpg").read_bytes()[:-300])
    (folder / "cut16.png").write_bytes(png16.encode(noisy(rng, (30, 30, 3), np.uint16))[:-100])
    (folder / "sub").mkdir()


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("missing.png", "no such file"),
        ("sub", "is a directory"),
        ("empty.png", "file is empty (0 bytes)"),
        ("text.png", "is not an image"),
        ("random.png", "is not an image"),
        ("cut.png", "truncated"),
        ("cut.jpg", "truncated"),
        ("cut16.png", "truncated"),
    ],
)
def test_unreadable_input(tmp_path, rng, no_compute, name, words):
    bad_inputs(tmp_path, rng)
    before = snapshot(tmp_path)
    source = tmp_path / name
    result = run(source, "-o", tmp_path / "out.png")
    assert_refused(result, source, words, tmp_path, before)


# --------------------------------------------------------------------- bad outputs


@pytest.fixture
def source(tmp_path, rng):
    path = tmp_path / "in.png"
    Image.fromarray(noisy(rng, (16, 16))).save(path)
    return path


@pytest.mark.parametrize(
    ("output", "words"),
    [
        ("out.gif", "cannot write extension '.gif'"),
        ("out", "cannot write extension '(none)'"),
        ("nowhere/out.png", "output folder"),
        ("in.png", "output path is the input file"),
        ("sub.png", "is a directory"),
    ],
)
def test_bad_output_refused_before_reading(tmp_path, source, no_compute, output, words):
    (tmp_path / "sub.png").mkdir()
    before = snapshot(tmp_path)
    target = tmp_path / output
    result = run(source, "-o", target, "--overwrite")
    assert_refused(result, target, words, tmp_path, before)


def test_output_reaching_the_input_through_a_link_is_refused(tmp_path, source, no_compute):
    (tmp_path / "alias.png").symlink_to(source)
    os.link(source, tmp_path / "hard.png")
    before = snapshot(tmp_path)
    for name in ("alias.png", "hard.png"):
        result = run(source, "-o", tmp_path / name, "--overwrite")
        assert_refused(result, tmp_path / name, "is the input file", tmp_path, before)


def test_existing_output_needs_overwrite(tmp_path, source, no_compute):
    (tmp_path / "out.png").write_bytes(b"precious")
    before = snapshot(tmp_path)
    result = run(source, "-o", tmp_path / "out.png")
    assert_refused(
        result, tmp_path / "out.png", "already exists; pass --overwrite", tmp_path, before
    )


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into read-only folders")
def test_unwritable_output_folder(tmp_path, source, no_compute):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        result = run(source, "-o", locked / "out.png")
        assert result.exit_code == 2
        assert (
            f"error: {locked / 'out.png'}: output folder {locked} is not writable" in result.stderr
        )
        assert list(locked.iterdir()) == []
    finally:
        locked.chmod(0o755)


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux /proc")
def test_output_folder_on_a_read_only_filesystem(source, no_compute):
    # /proc refuses new files even to root, so this runs in any Linux CI.
    result = run(source, "-o", "/proc/out.png")
    assert result.exit_code == 2
    assert "error: /proc/out.png: output folder /proc is not writable" in result.stderr


@pytest.mark.parametrize(
    ("array", "output", "words"),
    [
        (np.zeros((8, 8), np.float32), "out.png", "PNG stores 8- or 16-bit integers"),
        (np.zeros((8, 8, 4), np.uint8), "out.jpg", "JPEG stores 8-bit gray or RGB without alpha"),
        (np.zeros((8, 8, 3), np.uint16), "out.jpg", "write it as .png or .tif instead"),
    ],
)
def test_output_format_that_would_lose_data_is_refused_before_computing(
    tmp_path, no_compute, array, output, words
):
    source = tmp_path / ("in.tif" if array.dtype == np.float32 else "in.png")
    write_image(source, array)
    before = snapshot(tmp_path)
    result = run(source, "-o", tmp_path / output)
    assert_refused(result, tmp_path / output, words, tmp_path, before)


# ------------------------------------------------------------------ tiny images


@pytest.mark.parametrize("shape", [(1, 1), (1, 9), (9, 1), (2, 3), (1, 1, 3), (3, 2, 3)])
def test_images_smaller_than_patch_and_window_match_the_oracle(rng, shape):
    """Reflection repeats as often as needed, so r and f may exceed the image."""
    image = noisy(rng, shape, np.float64) * 255
    axis = -1 if len(shape) == 3 else None
    options = dict(h=30.0, sigma=5.0, f=3, r=6, channel_axis=axis)
    fast = nlmeans.denoise(image, backend="cpu", **options)
    oracle = nlmeans.denoise(image, backend="reference", **options)
    assert fast.shape == image.shape and np.isfinite(fast).all()
    np.testing.assert_allclose(fast, oracle, atol=1e-4 * 255)
    assert fast.min() >= image.min() - 1e-9 and fast.max() <= image.max() + 1e-9


@pytest.mark.parametrize("shape", [(1, 1), (1, 7), (1, 1, 3)])
def test_tiny_files_through_the_cli(tmp_path, rng, shape):
    image = noisy(rng, shape)
    write_image(tmp_path / "tiny.png", image)
    result = run(tmp_path / "tiny.png", "-q", "--r", "5", "--f", "2")
    assert result.exit_code == 0, result.output
    out = Image.open(tmp_path / "tiny_denoised.png")
    assert np.asarray(out).shape == image.shape


# ---------------------------------------------------------------- bit depth, alpha


@pytest.mark.parametrize(
    ("name", "shape", "dtype"),
    [
        ("g16.png", (24, 20), np.uint16),
        ("rgb16.png", (24, 20, 3), np.uint16),
        ("rgba16.png", (24, 20, 4), np.uint16),
        ("la16.png", (24, 20, 2), np.uint16),
        ("rgb16.tif", (24, 20, 3), np.uint16),
        ("rgba16.tif", (24, 20, 4), np.uint16),
        ("f32.tif", (24, 20), np.float32),
        ("f64rgb.tif", (24, 20, 3), np.float64),
        ("rgba8.png", (24, 20, 4), np.uint8),
        ("la8.png", (24, 20, 2), np.uint8),
    ],
)
def test_depth_kept_and_alpha_bit_exact(tmp_path, rng, name, shape, dtype):
    from nlmeans.io import read_image

    image = noisy(rng, shape, dtype)
    source = tmp_path / name
    write_image(source, image)
    before = source.read_bytes()
    result = run(source, "-q", "--r", "3", "--f", "1")
    assert result.exit_code == 0, result.output
    out = read_image(tmp_path / f"{source.stem}_denoised{source.suffix}")
    back = out.with_pixels(out.pixels)
    assert back.dtype == image.dtype and back.shape == image.shape
    color = image.shape[-1] - 1 if shape[-1] in (2, 4) else None
    if color is not None:
        np.testing.assert_array_equal(back[..., color], image[..., color])  # alpha bit-exact
        image, back = image[..., :color], back[..., :color]
    assert back.std() < image.std()  # the color was denoised
    if dtype == np.uint16:
        assert len(np.unique(back)) > 256  # really 16-bit values, not 8-bit scaled up
    assert source.read_bytes() == before


def test_palette_png_is_written_as_rgb(tmp_path, rng):
    Image.fromarray(noisy(rng, (20, 20, 3))).quantize(32).save(tmp_path / "p.png")
    assert runner.invoke(app, ["denoise", str(tmp_path / "p.png"), "-q"]).exit_code == 0
    assert Image.open(tmp_path / "p_denoised.png").mode == "RGB"


def test_cmyk_jpeg_is_written_as_rgb(tmp_path, rng):
    Image.fromarray(noisy(rng, (20, 20, 3))).convert("CMYK").save(tmp_path / "c.jpg")
    assert runner.invoke(app, ["denoise", str(tmp_path / "c.jpg"), "-q"]).exit_code == 0
    assert Image.open(tmp_path / "c_denoised.jpg").mode == "RGB"


@pytest.mark.parametrize(
    ("name", "words"),
    [("anim.gif", "nlmeans denoises single images"), ("stack.tif", "name its axes with --axes")],
)
def test_multi_frame_files_are_refused(tmp_path, rng, no_compute, name, words):
    frames = [Image.fromarray(noisy(rng, (10, 10, 3))) for _ in range(2)]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    tifffile.imwrite(tmp_path / "stack.tif", noisy(rng, (2, 10, 10), np.uint16))
    before = snapshot(tmp_path)
    source = tmp_path / name
    result = run(source, "-o", tmp_path / "out.tif")
    assert_refused(result, source, words, tmp_path, before)


def test_exif_rotated_jpeg_comes_out_oriented_like_the_input(tmp_path):
    y, x = np.mgrid[:30, :50]
    image = np.stack([x * 5, y * 8, np.full_like(x, 128)], -1).astype(np.uint8)
    exif = Image.Exif()
    exif[0x0112] = 6  # viewers rotate it 90° clockwise
    Image.fromarray(image).save(tmp_path / "cam.jpg", exif=exif, quality=95)
    assert run(tmp_path / "cam.jpg", "-q", "--r", "2", "--f", "1").exit_code == 0
    out = Image.open(tmp_path / "cam_denoised.jpg")
    assert out.getexif().get(0x0112, 1) == 1  # upright pixels, no orientation left to apply
    shown = np.asarray(out).astype(int)
    assert shown.shape == (50, 30, 3)
    assert np.abs(shown - np.rot90(image, -1)).mean() < 3


def test_float_tiff_with_nan_is_refused_with_the_count(tmp_path, rng, no_compute):
    image = noisy(rng, (12, 12), np.float32)
    image[2, 3] = np.nan
    image[5, :4] = np.inf
    tifffile.imwrite(tmp_path / "f.tif", image)
    before = snapshot(tmp_path)
    result = run(tmp_path / "f.tif")
    assert_refused(
        result, tmp_path / "f.tif", "has 5 non-finite (NaN or Inf) values", tmp_path, before
    )


@pytest.mark.parametrize(
    ("channel", "value", "words"),
    [
        (0, 1e30, "has values up to 1e+30"),  # color: the message had no path before
        (3, np.nan, "alpha channel has 1 non-finite"),  # alpha was copied before
        (3, np.inf, "alpha channel has 1 non-finite"),
        (3, -1e30, "alpha channel has values up to 1e+30"),
    ],
)
def test_float_tiff_huge_or_non_finite_values_are_refused_naming_the_file(
    tmp_path, rng, no_compute, channel, value, words
):
    image = noisy(rng, (12, 12, 4), np.float32)
    image[4, 5, channel] = value
    tifffile.imwrite(tmp_path / "f.tif", image, photometric="rgb", extrasamples=["unassalpha"])
    before = snapshot(tmp_path)
    result = run(tmp_path / "f.tif", "-o", tmp_path / "out.tif")
    assert_refused(result, tmp_path / "f.tif", words, tmp_path, before)


def test_symbolic_link_loop_input_is_one_line(tmp_path, no_compute):
    os.symlink("l2.png", tmp_path / "l1.png")
    os.symlink("l1.png", tmp_path / "l2.png")
    before = snapshot(tmp_path)
    result = run(tmp_path / "l1.png", "-o", tmp_path / "d.png")
    assert_refused(result, tmp_path / "l1.png", "symbolic link loop", tmp_path, before)


# --------------------------------------------------------------------- memory


def huge_png_header(width, height):
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        png16.SIGNATURE
        + struct.pack(">I", 13)
        + b"IHDR"
        + header
        + struct.pack(">I", zlib.crc32(b"IHDR" + header))
    )


def test_too_large_image_file_is_refused_stating_the_memory(tmp_path):
    (tmp_path / "huge.png").write_bytes(huge_png_header(100_000, 100_000))
    before = snapshot(tmp_path)
    result = run(tmp_path / "huge.png")
    assert_refused(result, tmp_path / "huge.png", "GiB of memory but only", tmp_path, before)
    assert "declares 100000x100000 pixels" in result.stderr


def test_too_large_array_is_refused_before_allocating():
    huge = np.broadcast_to(np.zeros(1, np.uint8), (100_000, 100_000, 3))  # no memory behind it
    with pytest.raises(nlmeans.NLMeansError, match=r"denoising a 100000x100000 image .* GiB"):
        nlmeans.denoise(huge, h=10, channel_axis=-1)


def test_memory_estimate_includes_the_padding(monkeypatch, rng):
    image = noisy(rng, (64, 64), np.float32)
    small = memory.denoise_bytes(64, 64, 1, 4, pad=0)
    monkeypatch.setattr(memory, "available_bytes", lambda: small + 1)
    with pytest.raises(nlmeans.NLMeansError, match="of memory but only"):
        nlmeans.denoise(image, h=0.1, sigma=0.05, r=10, f=3)


#: Runs `nlmeans denoise` on the file once (start-up, kernels: compiled or loaded),
#: resets the peak RSS (Linux: /proc/self/clear_refs), runs it again and prints the
#: peak RSS growth and the read-time estimate.
PEAK_SCRIPT = """
import json, os, sys
from nlmeans import _memory as memory
from nlmeans.io import _images as nio  # the single-image readers check declared sizes
from nlmeans.cli import app
big, out = sys.argv[1:3]
estimates = []
real = nio.check_declared
def spy(path, height, width, channels, itemsize, extra=0):
    estimates.append(memory.file_bytes(height, width, channels, itemsize) + extra)
    return real(path, height, width, channels, itemsize, extra)
nio.check_declared = spy
def status(key):
    with open("/proc/self/status") as lines:
        return next(int(l.split()[1]) * 1024 for l in lines if l.startswith(key))
app(["denoise", big, "-o", out, "--overwrite", "-q", "--presets"], standalone_mode=False)
with open("/proc/self/clear_refs", "w") as clear:
    clear.write("5")  # resets VmHWM, the peak RSS, to the current RSS
base = status("VmRSS:")
app(["denoise", big, "-o", out, "--overwrite", "-q", "--presets"], standalone_mode=False)
print(json.dumps({"used": status("VmHWM:") - base, "estimate": estimates[-1]}))
"""


def bomb(shape, dtype):
    """A deflate bomb: constant but for a noisy corner (a few kB as PNG)."""
    image = np.full(shape, 100 if dtype == np.uint8 else 30000, dtype)
    image[:64, :64] = np.random.default_rng(0).integers(0, 200, image[:64, :64].shape)
    return image


@pytest.mark.skipif(
    not os.path.exists("/proc/self/clear_refs"), reason="needs Linux /proc/self/clear_refs"
)
@pytest.mark.parametrize(
    ("name", "shape", "dtype"),
    [
        ("gray8.png", (1500, 1500), np.uint8),  # the noise estimate is the peak: 25 B/pixel
        ("gray16.png", (1500, 1500), np.uint16),
        ("rgba16.png", (1000, 1000, 4), np.uint16),
    ],
)
def test_memory_estimate_bounds_the_real_peak(tmp_path, name, shape, dtype):
    # Before: the read-time estimate was 1.5-1.65x below the real peak of a deflate
    # bomb (the noise estimator's float64 copies were not counted).
    path = tmp_path / name
    write_image(path, bomb(shape, dtype))
    out = tmp_path / f"out{os.path.splitext(name)[1]}"
    env = {**os.environ, "PYTHONPATH": os.path.dirname(os.path.dirname(nlmeans.__file__))}
    done = subprocess.run(
        [sys.executable, "-c", PEAK_SCRIPT, str(path), str(out)],
        capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["used"] <= figures["estimate"], figures
    assert figures["used"] >= 0.25 * figures["estimate"], figures  # not absurdly cautious


def fake_cgroup(tmp_path, files, own="/"):
    """A cgroup tree in tmp_path with ``files`` ({relative path: text}) and /proc/self/cgroup."""
    for relative, text in files.items():
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text(text)
    (tmp_path / "proc_cgroup").write_text(f"4:memory:{own}\n0::{own}\n")
    return str(tmp_path), str(tmp_path / "proc_cgroup")


@pytest.mark.parametrize(
    ("files", "own", "left"),
    [
        ({"memory.max": "1073741824", "memory.current": "268435456"}, "/", 768 * 2**20),
        (  # inactive file cache counts as free
            {"memory.max": "1073741824", "memory.current": "805306368",
             "memory.stat": "anon 268435456\ninactive_file 536870912\n"},
            "/", 768 * 2**20,
        ),
        ({"memory.max": "max", "memory.current": "268435456"}, "/", None),
        (  # the process's own group, tighter than the container's
            {"memory.max": "4294967296", "memory.current": "0",
             "job/memory.max": "536870912", "job/memory.current": "134217728"},
            "/job", 384 * 2**20,
        ),
        (  # cgroup v1
            {"memory/memory.limit_in_bytes": "2147483648",
             "memory/memory.usage_in_bytes": "1073741824"},
            "/", 2**30,
        ),
        ({"memory/memory.limit_in_bytes": "9223372036854771712",
          "memory/memory.usage_in_bytes": "1073741824"}, "/", None),  # v1 without a limit
        ({}, "/", None),
    ],
)  # fmt: skip
def test_cgroup_memory_limits_are_read(tmp_path, files, own, left):
    root, proc = fake_cgroup(tmp_path, files, own)
    assert memory.cgroup_available(root, proc) == left


def test_a_container_limit_below_memavailable_refuses_the_file(tmp_path, monkeypatch):
    # Before: only the host's MemAvailable was read, so under a cgroup limit the
    # process was SIGKILLed by the out-of-memory killer instead of refused.
    root, proc = fake_cgroup(
        tmp_path / "cg", {"memory.max": str(64 * 2**20), "memory.current": str(32 * 2**20)}
    )
    (tmp_path / "meminfo").write_text("MemTotal: 67108864 kB\nMemAvailable: 33554432 kB\n")
    monkeypatch.setattr(memory, "CGROUP_ROOT", root)
    monkeypatch.setattr(memory, "PROC_CGROUP", proc)
    monkeypatch.setattr(memory, "MEMINFO", str(tmp_path / "meminfo"))
    assert memory.available_bytes() == 32 * 2**20
    path = tmp_path / "big.png"
    write_image(path, bomb((1500, 1500), np.uint8))
    result = run(path, "-o", tmp_path / "out.png")
    assert result.exit_code == 2, result.output
    assert "of memory but only 32 MiB is available" in result.stderr


# ------------------------------------------------------------------ bad parameters


@pytest.mark.parametrize(
    ("option", "value", "words"),
    [
        ("--h", "0", "h=0.0 is out of range; expected a finite number > 0"),
        ("--h", "-1", "h=-1.0 is out of range"),
        ("--h", "nan", "h=nan is out of range"),
        ("--h", "inf", "h=inf is out of range"),
        ("--sigma", "-2", "sigma=-2.0 is out of range; expected a finite number >= 0"),
        ("--sigma", "nan", "sigma=nan is out of range"),
        ("--f", "-1", "f=-1 is out of range; expected 0 <= f <= 50"),
        ("--r", "-3", "r=-3 is out of range; expected 0 <= r <="),
        ("--r", "1000000", "r=1000000 is out of range; expected 0 <= r <="),
        ("--h", "abc", "'--h'"),
        ("--r", "2.5", "'--r'"),
    ],
)
def test_bad_parameters_name_themselves(tmp_path, source, option, value, words):
    before = snapshot(tmp_path)
    result = run(source, option, value)
    assert result.exit_code == 2
    assert words in result.stderr
    assert "Traceback" not in result.output
    assert snapshot(tmp_path) == before


def test_bad_parameters_through_the_api(rng):
    image = noisy(rng, (8, 8))
    for kwargs, words in [
        ({"h": 0}, "h=0"),
        ({"sigma": -1}, "sigma=-1"),
        ({"f": -1}, "f=-1"),
        ({"r": 10**6}, "r=1000000"),
        ({"h": float("nan")}, "h=nan"),
        ({"h": "x"}, "h='x' is not a number"),
    ]:
        with pytest.raises(nlmeans.NLMeansError, match=words):
            nlmeans.denoise(image, **kwargs)


# ------------------------------------------------------------------ interruption


def test_interrupt_during_denoise_leaves_nothing(tmp_path, source, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(importlib.import_module("nlmeans._denoise"), "denoise_request", interrupted)
    before = snapshot(tmp_path)
    result = run(source, "-o", tmp_path / "out.png")
    assert result.exit_code == 130 and "error: interrupted" in result.stderr
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL])
@pytest.mark.parametrize("delay", [0.0, 1.0])
def test_real_signal_during_denoise_leaves_no_output_and_no_temp(tmp_path, rng, signum, delay):
    # Whatever phase the signal lands in (imports, reading, computing, writing): no
    # partial output. Nothing here depends on how far the run got by a given time.
    source = tmp_path / "big.png"
    Image.fromarray(noisy(rng, (256, 256, 3))).save(source)
    before = snapshot(tmp_path)
    output = tmp_path / "out.png"
    args = [str(source), "-o", str(output), "--backend", "reference", "--r", "15"]
    script = (
        "import sys, nlmeans._entry, nlmeans._denoise, nlmeans.io, nlmeans.backends.reference\n"
        "print('ready', flush=True)\n"
        f"sys.argv = ['nlmeans', 'denoise', *{args!r}]\n"
        "nlmeans._entry.main()\n"  # the console script's
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert process.stdout.readline().strip() == "ready"
    time.sleep(delay)
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=60)
    if process.returncode == 0:  # the run ended before the signal: a whole output
        assert np.asarray(Image.open(output)).shape == (256, 256, 3)
    elif signum == signal.SIGKILL:
        assert process.returncode == -signal.SIGKILL
        # No visible output unless whole (a kill cannot remove a hidden temporary file).
        assert not output.exists() or np.asarray(Image.open(output)).shape == (256, 256, 3)
    else:
        assert process.returncode == 130, stderr
        # (The compile notice comes when warming the kernels is slow: a busy machine.)
        assert stderr.replace("compiling kernels, first run only…\n", "") == "error: interrupted\n"
        assert snapshot(tmp_path) == before  # no output, no hidden temporary file, input intact


# ------------------------------------------------------------------------- batch


def batch(*args):
    return runner.invoke(app, ["batch", *map(str, args)])


def test_batch_reports_each_bad_file_with_exit_1_and_finishes_the_rest(tmp_path, rng):
    source, target = tmp_path / "in", tmp_path / "out"
    source.mkdir()
    bad_inputs(source, rng)
    result = batch(source, target, "--r", "2", "--f", "1")
    assert result.exit_code == 1
    made = sorted(p.name for p in target.iterdir())
    assert made == ["good.jpg", "good.png"]  # nothing for the bad ones, no temp files
    for name, words in [
        ("empty.png", "file is empty"),
        ("text.png", "is not an image"),
        ("random.png", "is not an image"),
        ("cut.png", "truncated"),
        ("cut.jpg", "truncated"),
        ("cut16.png", "truncated"),
    ]:
        assert f"{name}: " in result.stderr and words in result.stderr


def test_batch_odd_names_stay_inside_output_dir(tmp_path, rng):
    source, target = tmp_path / "in", tmp_path / "out"
    source.mkdir()
    names = ["a b.png", "ünï cødé.png", "-dash.png", "new\nline.png", "x.PNG"]
    for name in names:
        Image.fromarray(noisy(rng, (8, 8))).save(source / name, format="PNG")
    (source / "..hidden.png").write_bytes(b"never read")
    assert batch(source, target, "-q", "--r", "1", "--f", "1").exit_code == 0
    assert sorted(p.name for p in target.iterdir()) == sorted(names)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "out"]


def test_batch_never_writes_through_a_symlinked_output_folder(tmp_path, rng):
    source, target, elsewhere = tmp_path / "in", tmp_path / "out", tmp_path / "elsewhere"
    for folder in (source / "sub", target, elsewhere):
        folder.mkdir(parents=True)
    Image.fromarray(noisy(rng, (8, 8))).save(source / "sub" / "a.png")
    Image.fromarray(noisy(rng, (8, 8))).save(source / "b.png")
    (target / "sub").symlink_to(elsewhere)
    result = batch(source, target, "-R", "--r", "1", "--f", "1")
    assert result.exit_code == 1
    assert "leads outside OUTPUT_DIR" in result.stderr
    assert list(elsewhere.iterdir()) == []
    assert (target / "b.png").is_file()


def test_batch_replaces_a_symlinked_output_file_instead_of_writing_through_it(tmp_path, rng):
    source, target = tmp_path / "in", tmp_path / "out"
    source.mkdir()
    target.mkdir()
    Image.fromarray(noisy(rng, (8, 8))).save(source / "a.png")
    precious = tmp_path / "precious.png"
    precious.write_bytes(b"do not touch")
    (target / "a.png").symlink_to(precious)
    assert batch(source, target, "-q", "--overwrite", "--r", "1", "--f", "1").exit_code == 0
    assert precious.read_bytes() == b"do not touch"
    assert not (target / "a.png").is_symlink() and (target / "a.png").stat().st_size > 0


def test_batch_does_not_follow_symlinks_out_of_input_dir(tmp_path, rng):
    source, target, elsewhere = tmp_path / "in", tmp_path / "out", tmp_path / "elsewhere"
    for folder in (source, elsewhere / "deep"):
        folder.mkdir(parents=True)
    Image.fromarray(noisy(rng, (8, 8))).save(elsewhere / "secret.png")
    Image.fromarray(noisy(rng, (8, 8))).save(elsewhere / "deep" / "d.png")
    Image.fromarray(noisy(rng, (8, 8))).save(source / "mine.png")
    (source / "link_out.png").symlink_to(elsewhere / "secret.png")
    (source / "link_in.png").symlink_to(source / "mine.png")
    (source / "folder_link").symlink_to(elsewhere / "deep", target_is_directory=True)
    result = batch(source, target, "-R", "--r", "1", "--f", "1")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in target.rglob("*")) == ["link_in.png", "mine.png"]
    assert "link_out.png" in result.output and "not followed" in result.output


def test_real_sigint_during_batch_keeps_finished_files_and_a_rerun_resumes(tmp_path, rng):
    source, target = tmp_path / "in", tmp_path / "out"
    source.mkdir()
    for index in range(4):
        Image.fromarray(noisy(rng, (96, 96, 3))).save(source / f"img{index}.png")
    args = [str(source), str(target), "--backend", "reference", "--r", "12", "--presets", "-q"]
    script = (
        "import sys, nlmeans.cli, nlmeans.batch, nlmeans._denoise, nlmeans.io\n"  # loads backends
        f"sys.argv = ['nlmeans', 'batch', *{args!r}]\n"
        "nlmeans.cli.main()\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 60
    while not (target / "img0.png").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    finished = sorted(p.name for p in target.iterdir())
    assert finished and len(finished) < 4 and all(not n.startswith(".") for n in finished)
    stamps = {name: (target / name).read_bytes() for name in finished}
    for name in finished:  # every file present is complete
        assert np.asarray(Image.open(target / name)).shape == (96, 96, 3)
    result = batch(source, target, "--backend", "reference", "--r", "12", "--presets")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in target.iterdir()) == [f"img{i}.png" for i in range(4)]
    assert all((target / name).read_bytes() == data for name, data in stamps.items())
    assert result.output.count("skipped") >= len(finished)


def test_batch_goes_on_past_hostile_files(tmp_path, rng):
    # Before: the padded 16-bit PNG stopped the batch with MemoryError and the
    # looping TIFF hung it (SIGINT and SIGTERM ignored while it did).
    source, target = tmp_path / "in", tmp_path / "out"
    source.mkdir()
    Image.fromarray(noisy(rng, (20, 20))).save(source / "a.png")
    padded = source / "b_padded.png"
    padded.write_bytes(png16.encode(noisy(rng, (40, 50), np.uint16)))
    os.truncate(padded, 100 * 1024**3)  # sparse
    tifffile.imwrite(source / "c_loop.tif", noisy(rng, (3, 8, 8)), photometric="minisblack")
    data = bytearray((source / "c_loop.tif").read_bytes())
    with tifffile.TiffFile(source / "c_loop.tif") as tiff:
        offsets = [page.offset for page in tiff.pages]
    (entries,) = struct.unpack_from("<H", data, offsets[-1])
    struct.pack_into("<I", data, offsets[-1] + 2 + 12 * entries, offsets[0])
    (source / "c_loop.tif").write_bytes(bytes(data))
    Image.fromarray(noisy(rng, (20, 20))).save(source / "d.png")
    start = time.perf_counter()
    result = batch(source, target)
    assert time.perf_counter() - start < 30
    assert result.exit_code == 1, result.output
    assert "c_loop.tif: is truncated or corrupt (TIFF: IFD chain loops back" in result.stderr
    assert "done 3, skipped 0, failed 1" in result.stdout
    assert png16.decode((target / "b_padded.png").read_bytes()).shape == (40, 50)
