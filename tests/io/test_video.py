"""Videos as TYXC time stacks (the video extra): round trips, codecs, frame rate, the CLI."""

from fractions import Fraction

import numpy as np
import pytest
from typer.testing import CliRunner

import nlmeans
from nlmeans.cli import app
from nlmeans.io import Picture, read_image, write_image
from nlmeans.io._axes import radii_for_axes

av = pytest.importorskip("av", reason="the video extra (PyAV) is not installed")

runner = CliRunner()
FPS = Fraction(30000, 1001)


def video(tmp_path, rng, name="v.mkv", frames=6, size=32):
    y, x = np.mgrid[:size, :size]
    clean = np.stack([x * 6, y * 6, np.full_like(x, 120)], -1)
    stack = np.stack([clean + 4 * t for t in range(frames)])
    stack = np.clip(stack + rng.normal(0, 12, stack.shape), 0, 255).astype(np.uint8)
    picture = Picture(stack, None, "TYXC", "format", {"fps": FPS})
    write_image(tmp_path / name, stack, like=picture)  # lossless by default
    return stack


@pytest.mark.parametrize("name", ["v.mkv", "v.avi", "v.mp4"])
def test_lossless_round_trip_decodes_to_the_denoised_frames(tmp_path, rng, name):
    stack = video(tmp_path, rng, name)
    picture = read_image(tmp_path / name)
    assert picture.layout == "TYXC" and picture.pixels.dtype == np.uint8
    np.testing.assert_array_equal(picture.pixels, stack)  # the lossless default
    result = runner.invoke(app, ["denoise", str(tmp_path / name)])
    assert result.exit_code == 0, result.output
    assert "axes=TYXC" in result.stdout and "(presets)" in result.stdout  # streamed
    f, r = radii_for_axes("TYXC", None, None)
    expected = nlmeans.denoise(stack, f=f, r=r, channel_axis=3, tune=False)
    out = read_image(tmp_path / name.replace("v.", "v_denoised."))
    np.testing.assert_array_equal(out.pixels, expected)
    assert out.meta["fps"] == FPS


def test_lossy_codec_is_close_and_keeps_the_frame_rate(tmp_path, rng):
    stack = video(tmp_path, rng)
    out = tmp_path / "lossy.mp4"
    result = runner.invoke(
        app, ["denoise", str(tmp_path / "v.mkv"), "-o", str(out), "--codec", "lossy", "--json"]
    )
    assert result.exit_code == 0, result.output
    f, r = radii_for_axes("TYXC", None, None)
    expected = nlmeans.denoise(stack, f=f, r=r, channel_axis=3, tune=False).astype(int)
    back = read_image(out)
    assert back.meta["fps"] == FPS and back.meta["codec"] == "h264"
    # x264 at crf 17 in 4:4:4 (documented tolerance): about 1 level on average on smooth
    # frames, more on what is left of the noise of such tiny ones (3.9 measured).
    assert np.abs(back.pixels.astype(int) - expected).mean() < 5.0


def test_bad_codec_and_non_video_stack_are_refused(tmp_path, rng):
    video(tmp_path, rng)
    bad = runner.invoke(app, ["denoise", str(tmp_path / "v.mkv"), "--codec", "gif"])
    assert bad.exit_code == 2 and "--codec 'gif': expected one of lossless" in bad.stderr
    np.save(tmp_path / "z.npy", np.zeros((3, 8, 8), np.uint16))
    command = ["denoise", str(tmp_path / "z.npy"), "-o", str(tmp_path / "z.mp4")]
    refused = runner.invoke(app, command)
    assert refused.exit_code == 2 and "videos store 8-bit RGB time stacks" in refused.stderr


def test_video_memory_is_checked_before_decoding(tmp_path, rng, monkeypatch):
    from nlmeans import _memory as memory

    video(tmp_path, rng)
    monkeypatch.setattr(memory, "available_bytes", lambda: 64 * 1024)
    with pytest.raises(nlmeans.NLMeansError, match="declares a TYXC stack of"):
        read_image(tmp_path / "v.mkv")


def test_batch_finds_videos(tmp_path, rng):
    (tmp_path / "in").mkdir()
    video(tmp_path / "in", rng)
    result = runner.invoke(app, ["batch", str(tmp_path / "in"), str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "axes=TYXC" in result.stdout and (tmp_path / "out" / "v.mkv").exists()
