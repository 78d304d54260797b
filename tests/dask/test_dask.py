"""nlmeans.dask, .zarr files and ``batch --dask``: chunked results equal the in-memory ones."""

import json
import os
import shutil

import imageio.v3 as iio
import numpy as np
import pytest
from typer.testing import CliRunner

import nlmeans
from nlmeans.cli import app

da = pytest.importorskip("dask.array")
zarr = pytest.importorskip("zarr")
nd = pytest.importorskip("nlmeans.dask")

runner = CliRunner()


SCALE = {np.uint8: 255, np.uint16: 65535, np.float32: 1.0}


def noisy(shape, dtype, seed=0, sigma=0.08):
    """A smooth ramp plus Gaussian noise, in ``dtype``'s range."""
    rng = np.random.default_rng(seed)
    ramp = np.add.outer(np.linspace(0.2, 0.8, shape[0]), np.linspace(0, 0.1, shape[1]))
    ramp = ramp.reshape(ramp.shape + (1,) * (len(shape) - 2))
    values = np.clip(ramp + rng.normal(0, sigma, shape), 0, 1) * SCALE[dtype]
    return (np.rint(values) if SCALE[dtype] > 1 else values).astype(dtype)


def assert_matches(chunked, expected, dtype):
    """Floats within 1e-6 of the data range; integers equal but for rare float32 rounding ties."""
    assert chunked.dtype == expected.dtype and chunked.shape == expected.shape
    difference = np.abs(chunked.astype(np.float64) - expected.astype(np.float64))
    if np.dtype(dtype).kind == "f":
        assert difference.max() <= 1e-6 * SCALE[dtype]
    else:
        assert difference.max() <= 1
        assert np.count_nonzero(difference) <= max(2, 0.005 * difference.size)


CASES = [
    # shape, channel_axis, dtype, chunks, method
    ((95, 83), None, np.uint8, (40, 30), "pixel"),
    ((95, 83), None, np.float32, (95, 83), "patch"),  # one chunk
    ((70, 61, 3), -1, np.uint16, (33, 20, 3), "pixel"),
    ((3, 53, 67), 0, np.uint8, (1, 25, 64), "patch"),  # channels split across chunks
    ((60, 45), None, np.uint16, (60, 20), "patch"),
]


@pytest.mark.parametrize(("shape", "axis", "dtype", "chunks", "method"), CASES)
def test_chunked_equals_in_memory(shape, axis, dtype, chunks, method):
    image = noisy(shape, dtype)
    expected, params = nlmeans.denoise(image, channel_axis=axis, method=method, return_params=True)
    lazy, resolved = nd.denoise(
        da.from_array(image, chunks=chunks), channel_axis=axis, method=method, return_params=True
    )
    assert resolved == params  # the sample is the whole (small) array: same sigma, same presets
    assert lazy.chunks == da.from_array(image, chunks=chunks).chunks
    assert_matches(lazy.compute(), expected, dtype)


def test_chunks_thinner_than_the_overlap_are_rechunked_with_a_warning():
    image = noisy((90, 70), np.float32, seed=1)
    expected = nlmeans.denoise(image, h=0.1, sigma=0.08, f=2, r=5, method="patch")  # pad 9
    with pytest.warns(UserWarning, match=r"axis 0 .* 9-pixel overlap.*chunks of 9"):
        lazy = nd.denoise(
            da.from_array(image, chunks=(4, 70)), h=0.1, sigma=0.08, f=2, r=5, method="patch"
        )
    assert lazy.chunks == da.from_array(image, chunks=(4, 70)).chunks
    assert_matches(lazy.compute(), expected, np.float32)


def test_arrays_smaller_than_the_margin_reflect_like_numpy():
    """Axes shorter than the margin: NumPy repeats the reflection (dask's pad would not)."""
    image = noisy((9, 50), np.uint8, seed=2)
    expected = nlmeans.denoise(image, h=20, sigma=10, f=1, r=10)  # margin 11 > 9 rows
    lazy = nd.denoise(da.from_array(image, chunks=(9, 12)), h=20, sigma=10, f=1, r=10)
    assert_matches(lazy.compute(), expected, np.uint8)


def test_color_h_chroma_and_float64_bounds():
    image = noisy((48, 40, 3), np.float32, seed=3).astype(np.float64)
    options = dict(h=0.08, sigma=0.08, h_chroma=0.2, channel_axis=-1)
    expected = nlmeans.denoise(image, **options)
    lazy = nd.denoise(da.from_array(image, chunks=(16, 24, 3)), **options)
    assert_matches(lazy.compute(), expected, np.float32)


def test_parameters_are_resolved_once_from_a_sample_before_compute(monkeypatch):
    import nlmeans._resolve

    image = noisy((600, 600), np.uint8, seed=4)
    calls = []
    estimate = nlmeans._resolve.estimate_sigma

    def counted(sample, **kwargs):
        calls.append(sample.shape)
        return estimate(sample, **kwargs)

    monkeypatch.setattr(nlmeans._resolve, "estimate_sigma", counted)
    lazy, params = nd.denoise(
        da.from_array(image, chunks=(100, 100)), return_params=True, sample_chunks=4, tune=False
    )
    assert params.sigma_estimated and abs(params.sigma - 0.08 * 255) < 2
    # The result is what the front door computes with these parameters.
    fixed = dict(h=params.h, sigma=params.sigma, f=params.f, r=params.r)
    assert calls == [(512, 512)]  # once, on 2 x 2 tiles of 256 pixels, before compute
    assert_matches(lazy.compute(), nlmeans.denoise(image, **fixed), np.uint8)
    assert calls == [(512, 512)]


def test_tune_on_a_sample():
    image = noisy((80, 80), np.uint8, seed=5)
    lazy, params = nd.denoise(da.from_array(image, chunks=40), tune=True, return_params=True)
    assert params == nlmeans.tune(image)  # the sample is the whole array here
    assert lazy.dtype == np.uint8
    # Whatever SURE chose (a combination of estimates included), chunks give the same result.
    assert_matches(lazy.compute(), nlmeans.denoise(image, params=params), np.uint8)


def test_a_combination_of_estimates_in_chunks():
    image = noisy((70, 66), np.uint8, seed=8)
    params = nlmeans.tune(image, method="combined")
    assert params.method == "combined"
    lazy = nd.denoise(da.from_array(image, chunks=(30, 40)), tune=True, method="combined")
    expected = nlmeans.denoise(image, params=params)
    assert_matches(lazy.compute(), expected, np.uint8)


@pytest.mark.parametrize("method", ["pixel", "patch"])
def test_three_dimensional_volumes(method):
    volume = noisy((20, 18, 16), np.float32, seed=6)
    options = dict(h=0.1, sigma=0.08, f=1, r=2, method=method)
    expected = nlmeans.denoise(volume, **options)
    lazy = nd.denoise(da.from_array(volume, chunks=(7, 9, 16)), **options)
    assert_matches(lazy.compute(), expected, np.float32)


def test_process_and_distributed_schedulers():
    distributed = pytest.importorskip("distributed")
    image = noisy((64, 64), np.uint8, seed=7)
    options = dict(h=20, sigma=15, f=1, r=3)
    expected = nlmeans.denoise(image, **options)
    lazy = nd.denoise(da.from_array(image, chunks=32), **options)
    assert_matches(lazy.compute(scheduler="processes", num_workers=2), expected, np.uint8)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        lazy = nd.denoise(da.from_array(image, chunks=32), **options)
        # Two 1-thread workers on this machine share its cores.
        share = max(1, os.cpu_count() // 2)
        plans = client.run(getattr, nd._threads, "_WORKER_THREADS")
        assert plans == {address: {address: share} for address in plans}
        assert_matches(lazy.compute(), expected, np.uint8)


# ------------------------------------------------------------------- files


def test_zarr_round_trip_through_the_cli_uint16(tmp_path):
    image = noisy((130, 150), np.uint16, seed=8)
    source = zarr.create_array(
        str(tmp_path / "in.zarr"), shape=image.shape, chunks=(50, 64), dtype=image.dtype
    )
    source[:] = image
    out = tmp_path / "out.zarr"
    result = runner.invoke(
        app, ["denoise", str(tmp_path / "in.zarr"), "-o", str(out), "--chunks", "64", "-q"]
    )
    assert result.exit_code == 0, result.output
    written = zarr.open_array(str(out), mode="r")
    assert written.chunks == (64, 64) and written.dtype == np.uint16
    assert written.attrs["nlmeans"]["sigma_estimated"] is True
    assert_matches(written[:], nlmeans.denoise(image), np.uint16)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    again = runner.invoke(app, ["denoise", str(tmp_path / "in.zarr"), "-o", str(out)])
    assert again.exit_code == 2 and "already exists" in again.output


def test_tiff_to_zarr_keeps_alpha(tmp_path):
    tifffile = pytest.importorskip("tifffile")
    color = noisy((64, 72, 3), np.uint8, seed=9)
    alpha = np.random.default_rng(0).integers(0, 255, (64, 72), dtype=np.uint8)
    tifffile.imwrite(
        tmp_path / "in.tif",
        np.dstack([color, alpha]),
        tile=(32, 32),
        photometric="rgb",
        extrasamples=["unassalpha"],
    )
    out = tmp_path / "out.zarr"
    result = runner.invoke(app, ["denoise", str(tmp_path / "in.tif"), "-o", str(out), "-q"])
    assert result.exit_code == 0, result.output
    written = zarr.open_array(str(out), mode="r")[:]
    np.testing.assert_array_equal(written[..., 3], alpha)
    assert_matches(written[..., :3], nlmeans.denoise(color, channel_axis=-1), np.uint8)


def test_an_interrupted_zarr_write_leaves_no_output(tmp_path, monkeypatch):
    import nlmeans.io._zarr as io_zarr

    image = da.from_array(noisy((64, 64), np.uint8), chunks=32)

    def broken_store(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(da, "store", broken_store)
    with pytest.raises(KeyboardInterrupt):
        io_zarr.write_zarr(image, tmp_path / "out.zarr")
    assert list(tmp_path.iterdir()) == []


def test_missing_extra_is_one_line_naming_it(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "zarr", None)  # as if not installed
    result = runner.invoke(
        app, ["denoise", str(tmp_path / "in.zarr"), "-o", str(tmp_path / "o.zarr")]
    )
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "error: a .zarr input or output needs the optional dask extra (zarr is not installed): "
        'pip install "nlmeans[dask]"'
    ]


# ------------------------------------------------------------------- batch --dask


def make_folder(root):
    root.mkdir()
    for index in range(4):
        shape = (40, 48) if index % 2 else (36, 44, 3)
        iio.imwrite(root / f"im{index}.png", noisy(shape, np.uint8, seed=10 + index))
    (root / "broken.png").write_bytes((root / "im0.png").read_bytes()[:100])


def test_batch_dask_equals_plain_batch_and_resumes(tmp_path):
    pytest.importorskip("distributed")
    source = tmp_path / "in"
    make_folder(source)
    plain = runner.invoke(app, ["batch", str(source), str(tmp_path / "plain"), "--json"])
    assert plain.exit_code == 1, plain.output
    # Interrupted run: some outputs already there (and an unfinished hidden temporary file).
    (tmp_path / "dask").mkdir()
    shutil.copy(tmp_path / "plain" / "im1.png", tmp_path / "dask" / "im1.png")
    (tmp_path / "dask" / ".im2.abc.tmp.png").write_bytes(b"partial")
    clustered = runner.invoke(
        app, ["batch", str(source), str(tmp_path / "dask"), "--json", "--dask", "local:2"]
    )
    assert clustered.exit_code == 1, clustered.output
    first, second = json.loads(plain.stdout), json.loads(clustered.stdout)
    status = {f["input"].rsplit("/", 1)[1]: (f["status"], f["reason"]) for f in second["files"]}
    assert status["im1.png"] == ("skipped", "output exists")
    assert status["broken.png"] == (
        "failed",
        next(f["reason"] for f in first["files"] if f["input"].endswith("broken.png")),
    )
    assert second["summary"]["done"] == 3 and second["summary"]["failed"] == 1
    for index in range(4):
        name = f"im{index}.png"
        assert (tmp_path / "dask" / name).read_bytes() == (tmp_path / "plain" / name).read_bytes()


def test_batch_dask_bad_spec_is_a_usage_error(tmp_path):
    source = tmp_path / "in"
    make_folder(source)
    result = runner.invoke(app, ["batch", str(source), str(tmp_path / "out"), "--dask", "lokal"])
    assert result.exit_code == 2 and "expected local:N or tcp://host:port" in result.output
    assert not (tmp_path / "out").exists()
