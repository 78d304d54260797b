"""``nlmeans batch`` and the batch runner on small temporary folders."""

import importlib
import json
import os

import imageio.v3 as iio
import numpy as np
import pytest
from typer.testing import CliRunner

import nlmeans
import nlmeans.io
import nlmeans.io._write
from nlmeans.batch import discover
from nlmeans.cli import app

runner = CliRunner()

#: Good images, by relative path: (shape, seed).
GOOD = {
    "a.png": ((20, 24, 3), 1),
    "sub/b.png": ((18, 22), 2),
    "sub/deeper/c.png": ((16, 16, 3), 3),
}
FIXED = ["--h", "25", "--r", "2", "--f", "1"]


def make_tree(root, rng=None):
    """Good noisy images in nested folders, a truncated PNG, a text file named .jpg, notes.txt."""
    for relative, (shape, seed) in GOOD.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        noisy = np.random.default_rng(seed).normal(128, 30, shape)
        iio.imwrite(path, np.clip(noisy, 0, 255).astype(np.uint8))
    (root / "sub" / "broken.png").write_bytes((root / "a.png").read_bytes()[:100])
    (root / "fake.jpg").write_text("not an image")
    (root / "notes.txt").write_text("not an image and not an image name: ignored")


def hidden_files(root):
    return [p for p in root.rglob(".*")]


def test_batch_mirrors_good_images_and_reports_bad_ones(tmp_path):
    source, target = tmp_path / "in", tmp_path / "out"
    make_tree(source)
    result = runner.invoke(app, ["batch", str(source), str(target), "--recursive", *FIXED])
    assert result.exit_code == 1, result.output
    for relative in GOOD:
        noisy = iio.imread(source / relative)
        expected = nlmeans.denoise(
            noisy, h=25, r=2, f=1, channel_axis=None if noisy.ndim == 2 else -1
        )
        np.testing.assert_array_equal(iio.imread(target / relative), expected)
    written = sorted(p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file())
    assert written == sorted(GOOD)
    assert "fake.jpg: " in result.stderr and "sub/broken.png: " in result.stderr
    assert "notes.txt" not in result.output
    assert "done 3, skipped 0, failed 2" in result.stdout
    assert "images/s" in result.stdout
    assert hidden_files(target) == []


def test_second_run_skips_and_overwrite_redoes(tmp_path):
    source, target = tmp_path / "in", tmp_path / "out"
    make_tree(source)
    args = ["batch", str(source), str(target), "-R", *FIXED]
    assert runner.invoke(app, args).exit_code == 1
    stamps = {rel: (target / rel).stat().st_mtime_ns for rel in GOOD}
    (target / "a.png").write_bytes(b"stale")  # an existing output is never inspected

    again = runner.invoke(app, args)
    assert again.exit_code == 1
    assert "done 0, skipped 3, failed 2" in again.stdout
    assert (target / "a.png").read_bytes() == b"stale"
    assert all((target / rel).stat().st_mtime_ns == stamps[rel] for rel in GOOD if rel != "a.png")

    redo = runner.invoke(app, [*args, "--overwrite"])
    assert redo.exit_code == 1
    assert "done 3, skipped 0, failed 2" in redo.stdout
    assert iio.imread(target / "a.png").shape == GOOD["a.png"][0]


def test_resume_after_partial_run_finishes_the_rest(tmp_path):
    source, target = tmp_path / "in", tmp_path / "out"
    make_tree(source)
    (source / "sub" / "broken.png").unlink()
    (source / "fake.jpg").unlink()
    target.mkdir()
    iio.imwrite(target / "a.png", np.zeros((4, 4), np.uint8))  # "finished before the interruption"
    result = runner.invoke(app, ["batch", str(source), str(target), "-R", *FIXED])
    assert result.exit_code == 0, result.output
    assert "done 2, skipped 1, failed 0" in result.stdout
    assert (target / "sub" / "deeper" / "c.png").exists()


def test_failure_during_write_leaves_no_output_and_no_temp_file(tmp_path, monkeypatch):
    source, target = tmp_path / "in", tmp_path / "out"
    make_tree(source)

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(nlmeans.io._write.os, "fsync", disk_full)
    result = runner.invoke(app, ["batch", str(source), str(target), "-R", *FIXED])
    assert result.exit_code == 1
    assert "No space left on device" in result.stderr
    assert "done 0, skipped 0, failed 5" in result.stdout
    assert [p for p in target.rglob("*") if p.is_file()] == []


def test_interrupt_during_write_leaves_only_complete_files(tmp_path, monkeypatch):
    source, target = tmp_path / "in", tmp_path / "out"
    make_tree(source)
    real_publish = nlmeans.io.publish_new

    def interrupted_at_b(src, dst):
        # The temporary file of sub/b.png is complete but not yet renamed: Ctrl-C now.
        if os.path.basename(dst) == "b.png":
            assert os.path.basename(src).startswith(".b.") and os.path.getsize(src) > 0
            raise KeyboardInterrupt
        real_publish(src, dst)

    # Without --overwrite, outputs are published by a no-replace rename.
    monkeypatch.setattr(nlmeans.io._write, "publish_new", interrupted_at_b)
    result = runner.invoke(app, ["batch", str(source), str(target), "-R", *FIXED])
    assert result.exit_code == 130
    files = [p for p in target.rglob("*") if p.is_file()]
    assert [p.relative_to(target).as_posix() for p in files] == ["a.png"]
    assert iio.imread(files[0]).shape == GOOD["a.png"][0]  # complete and readable


@pytest.mark.parametrize(
    ("layout", "message"),
    [
        ("same", "OUTPUT_DIR is INPUT_DIR"),
        ("inside", "OUTPUT_DIR is inside INPUT_DIR"),
        ("missing", "no such folder"),
        ("empty", "no files with an image extension"),
    ],
)
def test_bad_folders_are_usage_errors(tmp_path, layout, message):
    source = tmp_path / "in"
    if layout != "missing":
        source.mkdir()
    if layout != "empty" and layout != "missing":
        iio.imwrite(source / "a.png", np.zeros((8, 8), np.uint8))
    target = {"same": source, "inside": source / "out"}.get(layout, tmp_path / "out")
    result = runner.invoke(app, ["batch", str(source), str(target), "--recursive"])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert not (tmp_path / "out").exists() and not (source / "out").exists()


def test_bad_parameter_is_refused_before_any_file(tmp_path):
    source, target = tmp_path / "in", tmp_path / "out"
    make_tree(source)
    result = runner.invoke(app, ["batch", str(source), str(target), "--h", "-1"])
    assert result.exit_code == 2 and "h=-1.0 is out of range" in result.stderr
    assert not target.exists()


def test_output_inside_input_is_fine_without_recursive(tmp_path):
    source = tmp_path / "in"
    make_tree(source)
    result = runner.invoke(app, ["batch", str(source), str(source / "clean"), *FIXED])
    assert result.exit_code == 1  # fake.jpg
    assert (source / "clean" / "a.png").exists()
    assert not (source / "clean" / "sub").exists()


def test_pattern_selects_names(tmp_path):
    source, target = tmp_path / "in", tmp_path / "out"
    make_tree(source)
    names = [i.relative.as_posix() for i in discover(source, target, "b*", recursive=True)]
    assert names == ["sub/b.png", "sub/broken.png"]
    names = [i.relative.as_posix() for i in discover(source, target, recursive=False)]
    assert names == ["a.png", "fake.jpg"]


def test_json_is_one_document_and_same_params_resolves_once(tmp_path):
    source, target = tmp_path / "in", tmp_path / "out"
    source.mkdir()
    rng = np.random.default_rng(5)
    for name, sigma in (("a.png", 5), ("b.png", 40)):
        iio.imwrite(source / name, np.clip(rng.normal(128, sigma, (24, 24)), 0, 255).astype("u1"))
    result = runner.invoke(app, ["batch", str(source), str(target), "--same-params", "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    params = [f["params"] for f in document["files"]]
    assert [f["status"] for f in document["files"]] == ["done", "done"]
    for name in ("f", "r", "h", "sigma", "method"):
        assert params[0][name] == params[1][name]
    assert params[0]["sigma_estimated"] and not params[1]["sigma_estimated"]
    assert document["summary"]["done"] == 2 and document["summary"]["images_per_second"] > 0

    per_image = runner.invoke(
        app, ["batch", str(source), str(tmp_path / "own"), "--json", "--quiet"]
    )
    sigmas = [f["params"]["sigma"] for f in json.loads(per_image.stdout)["files"]]
    assert sigmas[1] > 3 * sigmas[0]  # each image got its own estimate


def test_quiet_prints_only_errors(tmp_path):
    source, target = tmp_path / "in", tmp_path / "out"
    make_tree(source)
    result = runner.invoke(app, ["batch", str(source), str(target), "-R", "-q", *FIXED])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "fake.jpg" in result.stderr and "broken.png" in result.stderr
    assert "done" not in result.stderr


def test_method_option_reaches_denoise(tmp_path):
    source, target = tmp_path / "in", tmp_path / "out"
    make_tree(source)
    result = runner.invoke(app, ["batch", str(source), str(target), "--method", "patch", *FIXED])
    assert result.exit_code == 1  # fake.jpg
    noisy = iio.imread(source / "a.png")
    expected = nlmeans.denoise(noisy, h=25, r=2, f=1, channel_axis=-1, method="patch")
    np.testing.assert_array_equal(iio.imread(target / "a.png"), expected)
    bad = runner.invoke(app, ["batch", str(source), str(tmp_path / "x"), "--method", "foo"])
    assert bad.exit_code == 2 and "method='foo'" in bad.stderr


# ------------------------------------------------- hostile folders and races


def test_unreadable_sub_folder_is_reported_as_a_failure(tmp_path, monkeypatch):
    # Root can read any folder, so a folder that cannot be listed is simulated.
    source, target = tmp_path / "in", tmp_path / "out"
    make_tree(source)
    real_scandir = os.scandir

    def scandir(path="."):
        if os.fspath(path).endswith(os.sep + "deeper"):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    result = runner.invoke(app, ["batch", str(source), str(target), "-R", *FIXED])
    # Before: "done 2, failed 2" with sub/deeper/c.png silently left out.
    assert result.exit_code == 1, result.output
    assert "sub/deeper: folder cannot be read (Permission denied); its files were left out" in (
        result.stderr
    )
    assert "done 2, skipped 0, failed 3" in result.stdout


def test_symbolic_link_loops_and_broken_links_are_reported(tmp_path):
    source, target = tmp_path / "in", tmp_path / "out"
    make_tree(source)
    os.symlink("l2.png", source / "l1.png")
    os.symlink("l1.png", source / "l2.png")
    os.symlink("nowhere.png", source / "gone.png")
    result = runner.invoke(app, ["batch", str(source), str(target), *FIXED])
    assert result.exit_code == 1, result.output
    assert "l1.png: is a symbolic link loop" in result.stderr
    assert "gone.png: is a broken symbolic link" in result.stderr
    assert "done 1, skipped 0, failed 4" in result.stdout  # fake.jpg, gone, l1, l2
    assert "Traceback" not in result.output


def test_output_created_meanwhile_is_not_replaced(tmp_path, monkeypatch):
    source, target = tmp_path / "in", tmp_path / "out"
    make_tree(source)
    denoise_module = importlib.import_module("nlmeans.batch._process")  # its denoise
    real_denoise = denoise_module.denoise_request

    def other_process_writes_b(image, *args, **kwargs):
        # Another process creates out/sub/b.png while b is being denoised.
        if image.shape == GOOD["sub/b.png"][0]:
            (target / "sub").mkdir(parents=True, exist_ok=True)
            (target / "sub" / "b.png").write_bytes(b"theirs")
        return real_denoise(image, *args, **kwargs)

    monkeypatch.setattr(denoise_module, "denoise_request", other_process_writes_b)
    result = runner.invoke(app, ["batch", str(source), str(target), "-R", *FIXED])
    assert (target / "sub" / "b.png").read_bytes() == b"theirs"  # before: replaced
    assert "sub/b.png (output exists)" in result.stdout
    assert "done 2, skipped 1, failed 2" in result.stdout
    assert hidden_files(target) == []


@pytest.mark.parametrize("without", ["renameat2", "renameat2 and link"])
def test_no_replace_publish_falls_back_where_the_system_lacks_it(tmp_path, monkeypatch, without):
    import nlmeans.io._noreplace

    monkeypatch.setattr(nlmeans.io._noreplace, "_renameat2_function", lambda: None)
    if without == "renameat2 and link":

        def no_links(src, dst):
            raise OSError(1, "Operation not permitted")

        monkeypatch.setattr(nlmeans.io._write.os, "link", no_links)
    image = np.zeros((4, 5), np.uint8)
    nlmeans.io.write_image(tmp_path / "new.png", image, replace=False)
    assert iio.imread(tmp_path / "new.png").shape == (4, 5)
    with pytest.raises(nlmeans.io.OutputExistsError, match="already exists"):
        nlmeans.io.write_image(tmp_path / "new.png", image + 1, replace=False)
    assert iio.imread(tmp_path / "new.png").max() == 0
    assert hidden_files(tmp_path) == []


def test_no_replace_publish_uses_renameat2_on_linux(tmp_path):
    import nlmeans.io._noreplace

    if nlmeans.io._noreplace._renameat2_function() is None:
        pytest.skip("no renameat2 here")
    (tmp_path / "t").write_bytes(b"new")
    (tmp_path / "x").write_bytes(b"old")
    with pytest.raises(FileExistsError):
        nlmeans.io.publish_new(tmp_path / "t", tmp_path / "x")
    assert (tmp_path / "x").read_bytes() == b"old"
    nlmeans.io.publish_new(tmp_path / "t", tmp_path / "y")
    assert (tmp_path / "y").read_bytes() == b"new" and not (tmp_path / "t").exists()
