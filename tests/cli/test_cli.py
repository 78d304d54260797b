"""The ``nlmeans denoise`` command on temporary PNG files."""

import subprocess
import sys

import imageio.v3 as iio
import numpy as np
import pytest
from typer.testing import CliRunner

from nlmeans.cli import app

runner = CliRunner()


def write_noisy(path, shape, rng, dtype=np.uint8):
    top = 255 if dtype == np.uint8 else 65535
    image = np.clip(rng.normal(top / 2, top / 10, shape), 0, top).astype(dtype)
    iio.imwrite(path, image)
    return image


@pytest.mark.parametrize("shape", [(24, 30), (24, 30, 3)])
def test_denoise_writes_default_output_and_reports(tmp_path, rng, shape):
    source = tmp_path / "photo.png"
    image = write_noisy(source, shape, rng)
    result = runner.invoke(app, ["denoise", str(source), "--h", "20", "--r", "3"])
    assert result.exit_code == 0, result.output
    out = iio.imread(tmp_path / "photo_denoised.png")
    assert out.shape == image.shape and out.dtype == np.uint8
    assert out.std() < image.std()  # smoother
    assert "f=" in result.output and "sigma=" in result.output and "time=" in result.output
    np.testing.assert_array_equal(iio.imread(source), image)  # input untouched


def test_rgba_alpha_passes_through_bit_exact(tmp_path, rng):
    source = tmp_path / "rgba.png"
    image = write_noisy(source, (20, 22, 4), rng)
    target = tmp_path / "clean.png"
    result = runner.invoke(app, ["denoise", str(source), "-o", str(target), "--quiet"])
    assert result.exit_code == 0, result.output
    assert result.output == ""
    out = iio.imread(target)
    assert out.shape == image.shape
    np.testing.assert_array_equal(out[..., 3], image[..., 3])
    assert not np.array_equal(out[..., :3], image[..., :3])


def test_gray_alpha_passes_through(tmp_path, rng):
    source = tmp_path / "la.png"
    image = np.stack([rng.integers(0, 256, (16, 18)), rng.integers(0, 256, (16, 18))], -1)
    iio.imwrite(source, image.astype(np.uint8))
    target = tmp_path / "la_out.png"
    assert runner.invoke(app, ["denoise", str(source), "-o", str(target), "-q"]).exit_code == 0
    out = iio.imread(target)
    np.testing.assert_array_equal(out[..., 1], image[..., 1])


def test_uint16_png_stays_16_bit(tmp_path, rng):
    source = tmp_path / "deep.png"
    write_noisy(source, (20, 20), rng, dtype=np.uint16)
    target = tmp_path / "deep_out.png"
    assert runner.invoke(app, ["denoise", str(source), "-o", str(target), "-q"]).exit_code == 0
    assert iio.imread(target).dtype == np.uint16


def test_existing_output_needs_overwrite(tmp_path, rng):
    source = tmp_path / "a.png"
    write_noisy(source, (12, 12), rng)
    target = tmp_path / "b.png"
    target.write_bytes(b"keep me")
    result = runner.invoke(app, ["denoise", str(source), "-o", str(target)])
    assert result.exit_code == 2
    assert "already exists" in result.output and "--overwrite" in result.output
    assert target.read_bytes() == b"keep me"
    result = runner.invoke(app, ["denoise", str(source), "-o", str(target), "--overwrite"])
    assert result.exit_code == 0
    assert iio.imread(target).shape == (12, 12)


def test_output_equal_to_input_is_refused(tmp_path, rng):
    source = tmp_path / "a.png"
    write_noisy(source, (12, 12), rng)
    before = source.read_bytes()
    result = runner.invoke(app, ["denoise", str(source), "-o", str(source), "--overwrite"])
    assert result.exit_code == 2 and "is the input" in result.output
    assert source.read_bytes() == before


def test_errors_are_one_line_without_traceback(tmp_path):
    missing = tmp_path / "missing.png"
    process = subprocess.run(
        [sys.executable, "-m", "nlmeans", "denoise", str(missing)], capture_output=True, text=True
    )
    assert process.returncode == 2
    assert process.stderr.strip() == f"error: {missing}: no such file"
    assert "Traceback" not in process.stderr


def test_bad_parameter_names_itself(tmp_path, rng):
    source = tmp_path / "a.png"
    write_noisy(source, (12, 12), rng)
    result = runner.invoke(app, ["denoise", str(source), "--h", "-3"])
    assert result.exit_code == 2
    assert "error: h=-3.0 is out of range" in result.output
    assert not (tmp_path / "a_denoised.png").exists()


def test_threads_are_applied_on_the_cpu_backend(tmp_path, rng):
    import numba

    source = tmp_path / "a.png"
    write_noisy(source, (12, 12), rng)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        args = ["denoise", str(source), "--backend", "cpu", "--threads", "1", "--r", "2"]
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        assert numba.get_num_threads() == 1
        assert "note:" not in result.output
    finally:
        numba.set_num_threads(before)


@pytest.mark.parametrize("backend", ["cpu", "reference"])
def test_more_threads_than_cores_are_capped_with_one_note_on_every_backend(tmp_path, rng, backend):
    import numba

    source = tmp_path / "a.png"
    write_noisy(source, (12, 12), rng)
    args = ["denoise", str(source), "--backend", backend, "--threads", "999", "-q"]
    before = numba.get_num_threads()
    try:
        result = runner.invoke(app, args)
    finally:
        numba.set_num_threads(before)
    assert result.exit_code == 0, result.output
    most = numba.config.NUMBA_NUM_THREADS
    notes = [line for line in result.stderr.splitlines() if "is more than" in line]
    assert notes == [f"note: --threads 999 is more than the {most} CPU threads here; using {most}"]
    assert (tmp_path / "a_denoised.png").exists()


def test_threads_on_the_reference_backend_run_with_a_note(tmp_path, rng):
    source = tmp_path / "a.png"
    write_noisy(source, (12, 12), rng)
    args = ["denoise", str(source), "--backend", "reference", "--threads", "1", "--r", "1"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "note: --threads has no effect on backend=reference" in result.stderr
    assert "note:" not in result.stdout
    assert (tmp_path / "a_denoised.png").exists()
