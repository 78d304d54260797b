"""``--method auto`` on the command line: SURE's choice between the tune result and NL-Bayes."""

import json

import imageio.v3 as iio
import numpy as np
from typer.testing import CliRunner

import nlmeans
from nlmeans.cli import app

runner = CliRunner()


def write_grating(path):
    """A 48² crossed grating with noise σ = 10, uint8, and the array written."""
    y, x = np.mgrid[0:48, 0:48].astype(np.float64)
    clean = 128 + 50 * np.sin(2 * np.pi * (0.13 * x + 0.05 * y)) + 30 * np.sin(0.9 * y)
    noisy = clean + np.random.default_rng(1).normal(0.0, 10.0, clean.shape)
    image = np.clip(np.round(noisy), 0, 255).astype(np.uint8)
    iio.imwrite(path, image)
    return image


def test_auto_reports_the_choice_as_tune_does(tmp_path):
    source = tmp_path / "grating.png"
    image = write_grating(source)
    expected = nlmeans.tune(image, 10.0, method="auto")
    result = runner.invoke(app, ["denoise", str(source), "--method", "auto", "--sigma", "10"])
    assert result.exit_code == 0, result.output
    assert f"method={expected.method}" in result.output and "(tuned by SURE)" in result.output
    out = iio.imread(tmp_path / "grating_denoised.png")
    np.testing.assert_array_equal(out, nlmeans.denoise(image, params=expected, channel_axis=None))

    again = tmp_path / "again.png"
    result = runner.invoke(
        app,
        ["denoise", str(source), "-o", str(again), "--method", "auto", "--sigma", "10", "--json"],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["params"]["method"] == expected.method


def test_auto_with_a_fixed_parameter_is_refused_before_any_file_is_written(tmp_path):
    source = tmp_path / "grating.png"
    write_grating(source)
    result = runner.invoke(app, ["denoise", str(source), "--method", "auto", "--h", "5"])
    assert result.exit_code == 2
    assert result.output.strip().startswith("error: method='auto' chooses h by SURE")
    assert "Traceback" not in result.output
    assert not (tmp_path / "grating_denoised.png").exists()
