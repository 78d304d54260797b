"""Batch reliability: read-ahead memory, ``--same-params`` on mixed folders, and
``--dask`` going on after a file's internal error."""

import json
import weakref

import imageio.v3 as iio
import numpy as np
import pytest
import tifffile
from typer.testing import CliRunner

import nlmeans.batch._local as local
import nlmeans.batch._process as process
from nlmeans._request import Request
from nlmeans.batch import discover, run_batch
from nlmeans.cli import app
from nlmeans.io import read_image

runner = CliRunner()
REQUEST = Request(h=20.0, sigma=10.0, f=1, r=1)


def write_stack(path, seed, shape=(3, 24, 26)):
    values = np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)
    tifffile.imwrite(path, values, photometric="minisblack", metadata={"axes": "TYX"})


def mixed_folder(root, stack_first: bool):
    """A TYX stack and two 2-D images; the stack is the first file when ``stack_first``."""
    root.mkdir()
    rng = np.random.default_rng(3)
    write_stack(root / ("a_stack.tif" if stack_first else "z_stack.tif"), 1)
    iio.imwrite(root / "b_gray.png", rng.integers(0, 256, (30, 34), dtype=np.uint8))
    iio.imwrite(root / "c_rgb.png", rng.integers(0, 256, (30, 34, 3), dtype=np.uint8))


def test_read_ahead_holds_at_most_two_inputs(tmp_path, monkeypatch):
    source = tmp_path / "in"
    source.mkdir()
    for index in range(5):
        write_stack(source / f"s{index}.tif", index)
    live, held_at_reads = [], []

    def counting_read(path, axes=None):
        # Inputs still alive when this read starts: at most the one being denoised.
        held_at_reads.append(sum(ref() is not None for ref in live))
        picture = read_image(path, axes)
        live.append(weakref.ref(picture.pixels))
        return picture

    monkeypatch.setattr(local, "read_image", counting_read)
    items = discover(source, tmp_path / "out", None, False)
    results = list(run_batch(items, REQUEST))
    assert [r.status for r in results] == ["done"] * 5, [r.reason for r in results]
    assert len(held_at_reads) == 5
    assert max(held_at_reads) <= 1, held_at_reads
    # The outputs are whole (the writer got the input's axes without its pixels).
    for index in range(5):
        written = tifffile.imread(tmp_path / "out" / f"s{index}.tif")
        assert written.shape == (3, 24, 26) and written.dtype == np.uint8


@pytest.mark.parametrize("stack_first", [True, False])
def test_same_params_on_a_mixed_folder_fails_other_kinds_by_name_before_work(
    tmp_path, monkeypatch, stack_first
):
    mixed_folder(tmp_path / "in", stack_first)
    denoised = []
    real = process.denoise_request

    def counting(pixels, *args, **kwargs):
        denoised.append(pixels.shape)
        return real(pixels, *args, **kwargs)

    monkeypatch.setattr(process, "denoise_request", counting)
    out = tmp_path / "out"
    args = ["batch", str(tmp_path / "in"), str(out), "--same-params", "--json", "--f", "1"]
    result = runner.invoke(app, [*args, "--r", "1"])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    files = {f["input"].rsplit("/", 1)[1]: f for f in json.loads(result.stdout)["files"]}
    if stack_first:
        assert files["a_stack.tif"]["status"] == "done"
        for name in ("b_gray.png", "c_rgb.png"):
            reason = files[name]["reason"]
            assert files[name]["status"] == "failed"
            assert "--same-params" in reason and "a_stack.tif" in reason and "TYX" in reason
            assert not (out / name).exists()
        assert denoised == [(3, 24, 26)]  # the images were never denoised
    else:
        assert files["b_gray.png"]["status"] == files["c_rgb.png"]["status"] == "done"
        stack = files["z_stack.tif"]
        assert stack["status"] == "failed" and "b_gray.png" in stack["reason"]
        assert not (out / "z_stack.tif").exists()
        assert (3, 24, 26) not in denoised
        # The images shared one set of parameters.
        assert files["b_gray.png"]["params"]["h"] == files["c_rgb.png"]["params"]["h"]


def test_same_params_on_one_kind_still_shares(tmp_path):
    source = tmp_path / "in"
    source.mkdir()
    for index in range(3):
        write_stack(source / f"s{index}.tif", index)
    items = discover(source, tmp_path / "out", None, False)
    results = list(run_batch(items, Request(f=1, r=1), same_params=True))
    assert [r.status for r in results] == ["done"] * 3
    assert len({(r.params.h, r.params.sigma) for r in results}) == 1


@pytest.fixture(scope="module")
def in_process_scheduler():
    """A scheduler with one in-process worker (threads): patches in this process reach it."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, protocol="tcp://",
        dashboard_address=None,
    ) as cluster:  # fmt: skip
        yield cluster.scheduler_address


def test_batch_dask_goes_on_after_an_internal_error(tmp_path, monkeypatch, in_process_scheduler):
    source = tmp_path / "in"
    source.mkdir()
    rng = np.random.default_rng(4)
    for index in range(4):
        shape = (30, 34, 3) if index % 2 else (30, 34)
        iio.imwrite(source / f"im{index}.png", rng.integers(0, 256, shape, dtype=np.uint8))
    real = process.denoise_request

    def failing_on_color(pixels, *args, **kwargs):
        if pixels.ndim == 3:
            raise ValueError("unexpected\nstate")
        return real(pixels, *args, **kwargs)

    monkeypatch.setattr(process, "denoise_request", failing_on_color)
    out = tmp_path / "out"
    args = ["batch", str(source), str(out), "--json", "--f", "1", "--r", "1"]
    result = runner.invoke(app, [*args, "--dask", in_process_scheduler])
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    status = {f["input"].rsplit("/", 1)[1]: (f["status"], f["reason"]) for f in report["files"]}
    assert status["im0.png"] == status["im2.png"] == ("done", None)
    for name in ("im1.png", "im3.png"):
        assert status[name] == ("failed", "internal error: ValueError: unexpected state")
    assert report["summary"]["done"] == 2 and report["summary"]["failed"] == 2
    assert sorted(p.name for p in out.iterdir()) == ["im0.png", "im2.png"]


def test_batch_dask_same_params_fails_other_kinds_by_name(
    tmp_path, monkeypatch, in_process_scheduler
):
    mixed_folder(tmp_path / "in", stack_first=True)
    out = tmp_path / "out"
    args = ["batch", str(tmp_path / "in"), str(out), "--json", "--same-params", "--f", "1"]
    result = runner.invoke(app, [*args, "--r", "1", "--dask", in_process_scheduler])
    assert result.exit_code == 1, result.output
    files = {f["input"].rsplit("/", 1)[1]: f for f in json.loads(result.stdout)["files"]}
    assert files["a_stack.tif"]["status"] == "done"
    for name in ("b_gray.png", "c_rgb.png"):
        assert files[name]["status"] == "failed"
        assert "--same-params" in files[name]["reason"] and "a_stack.tif" in files[name]["reason"]
        assert not (out / name).exists()
