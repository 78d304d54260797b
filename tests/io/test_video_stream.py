"""Videos streamed through a sliding window of frames: the windows, the equality with the
in-memory denoise, the audio copy, and no partial file on an interruption."""

import os
from fractions import Fraction

import numpy as np
import pytest
from _support import assert_publish_holds_interrupts
from typer.testing import CliRunner

import nlmeans
from nlmeans.cli import app
from nlmeans.io import Picture, read_image, write_image
from nlmeans.io import _video_stream as video_stream
from nlmeans.io._video_stream import stream_video, windows

av = pytest.importorskip("av", reason="the video extra (PyAV) is not installed")

runner = CliRunner()


@pytest.mark.parametrize("total", [1, 2, 3, 5, 17, 40])
@pytest.mark.parametrize("context, chunk", [(2, 4), (1, 3), (3, 16)])
def test_windows_are_the_mirror_padded_stack_cut_in_blocks(total, context, chunk):
    frames = (np.full((1, 1), i) for i in range(total))
    padded = np.pad(np.arange(total), context, mode="reflect")
    start = 0
    for block, n in windows(frames, context, chunk):
        assert block[:, 0, 0].tolist() == padded[start : start + n + 2 * context].tolist()
        start += n
    assert start == total


def test_windows_hold_a_bounded_number_of_frames():
    alive = []

    class Frame(np.ndarray):
        count = 0

        def __del__(self):
            Frame.count -= 1

    def frames():
        for i in range(200):
            frame = np.full((2, 2), i).view(Frame)
            Frame.count += 1
            alive.append(Frame.count)
            yield frame

    for block, _ in windows(frames(), 2, 4):
        del block
    assert max(alive) <= 4 + 2 * 2 + 1


def make_video(path, rng, frames=40, size=(24, 32), audio=None):
    """A noisy moving gradient (uint8 TYXC), written losslessly; optionally with audio."""
    y, x = np.mgrid[: size[0], : size[1]]
    clean = np.stack([x * 6, y * 8, np.full_like(x, 120)], -1)
    stack = np.stack([np.roll(clean, t, axis=1) for t in range(frames)])
    stack = np.clip(stack + rng.normal(0, 12, stack.shape), 0, 255).astype(np.uint8)
    if audio is None:
        write_image(path, stack, like=Picture(stack, None, "TYXC", "format", {"fps": 25}))
        return stack
    with av.open(str(path), "w") as container:
        video = container.add_stream("ffv1", rate=25)
        video.width, video.height, video.pix_fmt = size[1], size[0], "bgr0"
        sound = container.add_stream(audio, rate=8000)
        sound.layout = "mono"
        samples = 0
        for frame in stack:
            container.mux(video.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
            tone = (3000 * np.sin(np.arange(samples, samples + 320) / 5.0)).astype(np.int16)
            chunk = av.AudioFrame.from_ndarray(tone[None], format="s16", layout="mono")
            chunk.sample_rate, chunk.pts = 8000, samples
            samples += 320
            container.mux(sound.encode(chunk))
        container.mux(video.encode())
        container.mux(sound.encode())
    return stack


def test_streamed_cli_equals_the_whole_video_denoised(tmp_path, rng, monkeypatch):
    monkeypatch.setattr(video_stream, "STREAM_CHUNK", 6)  # several blocks for 40 frames
    stack = make_video(tmp_path / "v.mkv", rng)
    args = ["denoise", str(tmp_path / "v.mkv"), "--h", "15", "--sigma", "12", "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    expected = nlmeans.denoise(stack, 15.0, 12.0, f=(0, None, None), r=(2, None, None),
                               channel_axis=3)  # fmt: skip
    out = read_image(tmp_path / "v_denoised.mkv")
    np.testing.assert_array_equal(out.pixels, expected)
    assert out.meta["fps"] == Fraction(25)
    motion = runner.invoke(app, [*args, "--motion", "-o", str(tmp_path / "m.mkv")])
    assert motion.exit_code == 0, motion.output
    moved = nlmeans.denoise(stack, 15.0, 12.0, f=(0, None, None), r=(2, None, None),
                            channel_axis=3, motion=True)  # fmt: skip
    np.testing.assert_array_equal(read_image(tmp_path / "m.mkv").pixels, moved)


def packets(path):
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        name = stream.codec_context.name
        return name, [bytes(p) for p in container.demux(stream) if p.size]


def test_the_audio_track_is_copied_unchanged(tmp_path, rng):
    make_video(tmp_path / "a.mkv", rng, frames=12, audio="flac")
    done = stream_video(tmp_path / "a.mkv", tmp_path / "b.mkv", lambda b: b[2:-2], 2, chunk=5)
    assert done.frames == 12 and done.audio == "copied (flac)"
    assert packets(tmp_path / "b.mkv") == packets(tmp_path / "a.mkv")
    # The frames went through the function: here the identity on the middle frames.
    np.testing.assert_array_equal(
        read_image(tmp_path / "b.mkv").pixels, read_image(tmp_path / "a.mkv").pixels
    )


def test_an_interruption_leaves_no_partial_file(tmp_path, rng):
    make_video(tmp_path / "v.mkv", rng, frames=20)
    calls = []

    def interrupted(block):
        calls.append(len(block))
        if len(calls) == 2:
            raise KeyboardInterrupt
        return block[1:-1]

    with pytest.raises(KeyboardInterrupt):
        stream_video(tmp_path / "v.mkv", tmp_path / "out.mkv", interrupted, 1, chunk=4)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.mkv"]


def test_streamed_cli_refuses_axes_a_video_does_not_have(tmp_path, rng):
    make_video(tmp_path / "v.mkv", rng, frames=4)
    result = runner.invoke(app, ["denoise", str(tmp_path / "v.mkv"), "--axes", "ZYXC"])
    assert result.exit_code == 2 and "--axes ZYXC does not apply" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.mkv"]


def test_a_streamed_video_gets_the_permissions_of_any_other_output(tmp_path, rng):
    # A new video: 0o666 minus the umask (not the temporary file's private 0o600);
    # a replaced one keeps its own bits.
    make_video(tmp_path / "v.mkv", rng, frames=6)
    out = tmp_path / "out.mkv"
    args = ["denoise", str(tmp_path / "v.mkv"), "--h", "15", "--sigma", "12", "-o", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask
    os.chmod(out, 0o640)
    result = runner.invoke(app, [*args, "--overwrite"])
    assert result.exit_code == 0, result.output
    assert out.stat().st_mode & 0o777 == 0o640


def test_the_streamed_video_holds_interrupts_from_its_rename(tmp_path, rng):
    # As the command's last output, like every other: a Ctrl-C after the rename
    # cannot turn a published video into exit 130.
    make_video(tmp_path / "v.mkv", rng, frames=4)

    def run_command():
        result = runner.invoke(app, ["denoise", str(tmp_path / "v.mkv"), "--h", "15", "-q"])
        assert result.exit_code == 0, result.output

    assert_publish_holds_interrupts(
        lambda: stream_video(tmp_path / "v.mkv", tmp_path / "out.mkv", lambda b: b[1:-1], 1,
                             final=True),
        video_stream, "stream_video", run_command,
    )  # fmt: skip
