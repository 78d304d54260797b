"""Audio in videos is never dropped without a word: several audio streams are refused by
name (only one could be kept), and the read path, which keeps none, says so."""

import numpy as np
import pytest
from typer.testing import CliRunner

from nlmeans.cli import app

av = pytest.importorskip("av", reason="the video extra (PyAV) is not installed")
runner = CliRunner()


def video_with_audio(path, tracks: int, frames=8, size=(16, 20)):
    """An FFV1 .mkv of ``frames`` noisy frames and ``tracks`` FLAC audio streams."""
    rng = np.random.default_rng(0)
    stack = rng.integers(0, 256, (frames, *size, 3), dtype=np.uint8)
    with av.open(str(path), "w") as container:
        video = container.add_stream("ffv1", rate=25)
        video.width, video.height, video.pix_fmt = size[1], size[0], "bgr0"
        sounds = []
        for _ in range(tracks):
            sound = container.add_stream("flac", rate=8000)
            sound.layout = "mono"
            sounds.append(sound)
        samples = 0
        for frame in stack:
            container.mux(video.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
            tone = (3000 * np.sin(np.arange(samples, samples + 320) / 5.0)).astype(np.int16)
            for sound in sounds:
                chunk = av.AudioFrame.from_ndarray(tone[None], format="s16", layout="mono")
                chunk.sample_rate, chunk.pts = 8000, samples
                container.mux(sound.encode(chunk))
            samples += 320
        container.mux(video.encode())
        for sound in sounds:
            container.mux(sound.encode())
    return path


@pytest.mark.parametrize(
    "output, extra",
    [("out.mkv", []), ("out.mkv", ["--method", "combined"]), ("out.tif", [])],
)
def test_several_audio_streams_are_refused_by_name(tmp_path, output, extra):
    source = video_with_audio(tmp_path / "two.mkv", tracks=2)
    before = source.read_bytes()
    args = ["denoise", str(source), "-o", str(tmp_path / output), "--h", "10", "--sigma", "5"]
    result = runner.invoke(app, [*args, *extra])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert lines == [f"error: {source}: " + lines[0].split(f"{source}: ", 1)[1]]
    assert "2 audio streams (flac, flac)" in lines[0] and "Traceback" not in result.output
    assert not (tmp_path / output).exists() and source.read_bytes() == before


def test_batch_fails_a_video_of_several_audio_streams_and_goes_on(tmp_path):
    source = tmp_path / "in"
    source.mkdir()
    video_with_audio(source / "a.mkv", tracks=2)
    video_with_audio(source / "b.mkv", tracks=0)
    result = runner.invoke(app, ["batch", str(source), str(tmp_path / "out"), "--r", "1"])
    assert result.exit_code == 1, result.output
    assert "a.mkv: has 2 audio streams" in result.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["b.mkv"]


def test_one_audio_stream_read_as_frames_is_named_as_not_kept(tmp_path):
    source = video_with_audio(tmp_path / "one.mkv", tracks=1)
    args = ["denoise", str(source), "-o", str(tmp_path / "out.tif"), "--h", "10", "--sigma", "5"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "its audio (flac) is not read" in result.output
    # The streamed video-to-video path copies it: no such note there.
    args[3] = str(tmp_path / "out.mkv")
    streamed = runner.invoke(app, args)
    assert streamed.exit_code == 0, streamed.output
    assert "is not read" not in streamed.output
    with av.open(str(tmp_path / "out.mkv")) as container:
        assert [s.codec_context.name for s in container.streams.audio] == ["flac"]
