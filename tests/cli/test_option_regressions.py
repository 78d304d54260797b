"""Options that once went missing on their way from the command line to the kernels."""

import json

import imageio.v3 as iio
import numpy as np
import pytest
from typer.testing import CliRunner

import nlmeans
from nlmeans.cli import app

runner = CliRunner()


def _ramp(shape, seed=0):
    rng = np.random.default_rng(seed)
    ramp = np.add.outer(np.linspace(40, 200, shape[0]), np.linspace(0, 20, shape[1]))
    return np.clip(ramp + rng.normal(0, 18, shape), 0, 255).astype(np.uint8)


def test_a_zarr_store_is_denoised_with_the_gaussian_patch_kernel(tmp_path):
    zarr = pytest.importorskip("zarr")
    image = _ramp((16, 20))
    source = zarr.create_array(str(tmp_path / "in.zarr"), shape=image.shape, dtype=image.dtype)
    source[:] = image
    out = tmp_path / "out.zarr"
    choices = ["--h", "15", "--sigma", "10", "--f", "2", "--r", "2"]
    result = runner.invoke(
        app,
        ["denoise", str(tmp_path / "in.zarr"), "-o", str(out), "-q", *choices,
         "--patch-kernel", "gaussian"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    written = zarr.open_array(str(out), mode="r")[:]
    kwargs = dict(h=15, sigma=10, f=2, r=2, channel_axis=None)
    gaussian = nlmeans.denoise(image, patch_kernel="gaussian", **kwargs)
    uniform = nlmeans.denoise(image, **kwargs)
    assert not np.array_equal(gaussian, uniform)  # the two kernels tell apart here
    np.testing.assert_array_equal(written, gaussian)
    stored = zarr.open_array(str(out), mode="r").attrs["nlmeans"]
    assert stored["patch_kernel"] == "gaussian"


def test_batch_on_a_dask_cluster_runs_the_combined_method(tmp_path):
    pytest.importorskip("distributed")
    source = tmp_path / "in"
    source.mkdir()
    iio.imwrite(source / "a.png", _ramp((24, 28)))
    result = runner.invoke(
        app,
        ["batch", str(source), str(tmp_path / "out"), "--json", "--method", "combined",
         "--dask", "local:1"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    (record,) = json.loads(result.stdout)["files"]
    assert record["status"] == "done"
    expected = nlmeans.denoise(_ramp((24, 28)), method="combined", channel_axis=None)
    written = iio.imread(tmp_path / "out" / "a.png").astype(int)
    # The worker runs SURE's sums on its own number of threads: float32 rounding may
    # move a value across a .5 tie.
    assert np.abs(written - expected).max() <= 1 and np.mean(written != expected) < 0.01
