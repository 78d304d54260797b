"""Extreme parameters and the command line's error boundary.

Every way out of a command is an exit code and, on failure, one line on stderr:
bad usage and bad input 2, an unexpected exception 3 (its traceback with
--debug), an interrupt 130. Parameters at the edge of float32 give the limit of
the formula, never NaN or a black image.
"""

import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
from skimage import data
from typer.testing import CliRunner

import nlmeans
from nlmeans.cli import app
from nlmeans.io import read_image, write_image

runner = CliRunner()


@pytest.fixture
def photo(tmp_path):
    """A noisy 64×64 gray PNG (σ = 20)."""
    clean = data.camera()[200:264, 200:264].astype(np.float64)
    noisy = clean + np.random.default_rng(0).normal(0, 20, clean.shape)
    path = tmp_path / "photo.png"
    write_image(path, np.clip(np.rint(noisy), 0, 255).astype(np.uint8))
    return path


def one_error_line(result, *words):
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for word in words:
        assert word in lines[0]
    assert "Traceback" not in result.output


def h_to_zero_limit(image, sigma, f, r):
    """The h → 0 limit of the pixelwise formula: the mean of the candidates with d² ≤ 2σ²."""
    pad = r + f
    u = np.pad(image.astype(np.float64), pad, mode="reflect")
    rows, cols = image.shape
    total = np.zeros(image.shape)
    count = np.zeros(image.shape)
    for ty in range(-r, r + 1):
        for tx in range(-r, r + 1):
            d2 = np.zeros(image.shape)
            for jy in range(-f, f + 1):
                for jx in range(-f, f + 1):
                    a = u[pad + jy : pad + jy + rows, pad + jx : pad + jx + cols]
                    b = u[
                        pad + ty + jy : pad + ty + jy + rows, pad + tx + jx : pad + tx + jx + cols
                    ]
                    d2 += (a - b) ** 2
            keep = d2 / (2 * f + 1) ** 2 <= 2 * sigma * sigma
            total += keep * u[pad + ty : pad + ty + rows, pad + tx : pad + tx + cols]
            count += keep
    return total / count


@pytest.mark.parametrize("h", [1e-20, 1e-30, 1e-320])
@pytest.mark.parametrize("backend", ["cpu", "reference"])
def test_tiny_h_gives_the_limit_of_the_formula(rng, h, backend):
    image = rng.random((24, 30)).astype(np.float32)
    out = nlmeans.denoise(image, h=h, sigma=0.0, f=1, r=2, backend=backend)
    # σ = 0: only the centre has d² ≤ 0, so each pixel keeps its value.
    np.testing.assert_array_equal(out, image)


@pytest.mark.parametrize("method", ["pixel", "patch"])
def test_tiny_h_with_noise_offset_averages_the_close_candidates(method):
    image = (np.random.default_rng(1).random((20, 22)) * 255).astype(np.float32)
    fast = nlmeans.denoise(image, h=1e-17, sigma=25.0, f=1, r=2, method=method)
    oracle = nlmeans.denoise(
        image, h=1e-17, sigma=25.0, f=1, r=2, method=method, backend="reference"
    )
    assert np.isfinite(fast).all()
    np.testing.assert_allclose(fast, oracle, atol=1e-4 * 255)
    if method == "pixel":
        limit = h_to_zero_limit(image, 25.0, 1, 2)
        np.testing.assert_allclose(oracle, limit, atol=1e-3)
        assert not np.array_equal(fast, image)  # some candidates are that close


def test_tiny_h_on_the_command_line_is_a_real_image(tmp_path, photo):
    out = tmp_path / "a.png"
    result = runner.invoke(app, ["denoise", str(photo), "-o", str(out), "--h", "1e-30"])
    assert result.exit_code == 0, result.output
    pixels, noisy = read_image(out).pixels, read_image(photo).pixels
    assert pixels.std() > 10 and abs(float(pixels.mean()) - float(noisy.mean())) < 5


@pytest.mark.parametrize("command", ["denoise", "batch", "compare"])
def test_h_below_float32_works_everywhere(tmp_path, photo, command):
    if command == "denoise":
        args = ["denoise", str(photo), "-o", str(tmp_path / "d.png")]
    elif command == "batch":
        args = ["batch", str(photo.parent), str(tmp_path / "out")]
    else:
        args = ["compare", str(photo), "--sigma", "20", "--no-opencv"]
    result = runner.invoke(app, [*args, "--h", "1e-320"])
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("extra", [[], ["--tune"]])
def test_sigma_beyond_float32_is_refused_in_one_line(tmp_path, photo, extra):
    out = tmp_path / "s.png"
    result = runner.invoke(app, ["denoise", str(photo), "-o", str(out), "--sigma", "1e300", *extra])
    assert result.exit_code == 2
    one_error_line(result, "sigma=1e+300", "out of range")
    assert not out.exists()


@pytest.mark.parametrize(
    "args, words",
    [
        (["--h", "abc"], ["--h", "abc", "valid"]),
        (["--r", "1.5"], ["--r"]),
        (["--threads", "0"], ["--threads"]),
        (["--bogus"], ["No such option", "--bogus"]),
        (["--f", "1,x"], ["--f"]),
    ],
)
def test_usage_errors_are_one_line(tmp_path, photo, args, words):
    result = runner.invoke(app, ["denoise", str(photo), "-o", str(tmp_path / "u.png"), *args])
    assert result.exit_code == 2
    one_error_line(result, *words)


def test_unexpected_exceptions_are_one_line_with_their_own_exit_code(tmp_path, photo, monkeypatch):
    import nlmeans._denoise

    def broken(*args, **kwargs):
        raise ZeroDivisionError("something nobody expected")

    monkeypatch.setattr(nlmeans._denoise, "denoise_request", broken)
    args = ["denoise", str(photo), "-o", str(tmp_path / "x.png")]
    result = runner.invoke(app, args)
    assert result.exit_code == 3
    one_error_line(result, "internal error", "ZeroDivisionError", "--debug")
    debug = runner.invoke(app, [*args, "--debug"])
    assert isinstance(debug.exception, ZeroDivisionError)


def test_an_invalid_thread_variable_is_one_line(tmp_path, photo):
    env = {**os.environ, "NUMBA_NUM_THREADS": "0"}
    for args in (["info"], ["denoise", str(photo), "-o", str(tmp_path / "t.png")]):
        done = subprocess.run(
            [sys.executable, "-m", "nlmeans", *args],
            capture_output=True, text=True, env=env, timeout=300,
        )  # fmt: skip
        assert done.returncode == 2
        assert done.stderr.strip().splitlines() == [
            "error: NUMBA_NUM_THREADS='0' is invalid; expected an integer >= 1 (or leave it unset)"
        ]


def test_odd_array_types_and_arguments_are_clean_errors_or_work():
    image = np.random.default_rng(2).random((16, 16))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PendingDeprecationWarning)  # NumPy's own, on np.matrix
        matrix = np.matrix(image)
    result = nlmeans.denoise(matrix, h=0.1, sigma=0.05)  # a matrix is a 2-D array
    assert type(result) is np.ndarray and result.shape == (16, 16)
    with pytest.raises(nlmeans.NLMeansError, match="backend"):
        nlmeans.denoise(image, backend=["cpu"])
    with pytest.raises(nlmeans.NLMeansError, match="no pixels"):
        nlmeans.estimate_sigma(np.zeros((0, 3)))
