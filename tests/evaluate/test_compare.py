"""``nlmeans compare`` and nlmeans.evaluate: noise, metrics, peers' parameters, montage."""

import csv
import json

import imageio.v3 as iio
import numpy as np
import pytest
from typer.testing import CliRunner

from nlmeans import evaluate
from nlmeans.cli import app
from nlmeans.params import Params

runner = CliRunner()


@pytest.fixture
def small_clean(tmp_path):
    """A 48×56 RGB crop of the bundled astronaut sample."""
    path = tmp_path / "clean.png"
    iio.imwrite(path, iio.imread("samples/astronaut.png")[200:248, 180:236])
    return path


def test_compare_json_reports_psnr_and_montage(small_clean, tmp_path):
    montage = tmp_path / "montage.png"
    result = runner.invoke(
        app,
        ["compare", str(small_clean), "--sigma", "20", "--seed", "0", "--json"]
        + ["--montage", str(montage), "--no-opencv"],
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    (image,) = document["images"]
    psnr = {row["method"]: row["psnr"] for row in image["results"]}
    assert set(psnr) == {"noisy", "nlmeans", "scikit-image"}
    assert psnr["nlmeans"] > psnr["noisy"] + 3
    assert image["params"]["sigma_estimated"] is True
    assert document["noise"] == {"sigma": 20.0, "seed": 0, "known_sigma": False}
    speedups = {row["method"]: row["speedup"] for row in image["results"]}
    assert speedups["scikit-image"] == pytest.approx(1.0)

    band = evaluate.montage_label_height(56)
    assert iio.imread(montage).shape == (48 + band, 4 * 56, 3)


def test_compare_json_psnr_matches_the_arrays(small_clean):
    """The reported noisy PSNR is that of the documented noise recipe."""
    result = runner.invoke(
        app, ["compare", str(small_clean), "--sigma", "20", "--seed", "3", "--json", "--no-opencv"]
    )
    rows = json.loads(result.stdout)["images"][0]["results"]
    clean = iio.imread(small_clean).astype(np.float64)
    noisy = clean + np.random.default_rng(3).normal(0.0, 20.0, clean.shape)
    mse = np.mean((clean - noisy) ** 2)
    assert rows[0]["method"] == "noisy"
    assert rows[0]["psnr"] == pytest.approx(10 * np.log10(255**2 / mse))


def test_compare_text_table_and_known_sigma(small_clean):
    result = runner.invoke(
        app, ["compare", str(small_clean), "--sigma", "15", "--known-sigma", "--no-opencv"]
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "sigma=15 (given)" in result.stdout
    assert any(line.startswith("nlmeans") for line in lines)
    assert any(line.startswith("scikit-image") and "1.0×" in line for line in lines)
    assert "patch_size=3" in result.stdout  # the equivalent scikit-image parameters


def test_compare_folder_with_noisy_files_and_csv(tmp_path):
    clean_dir, noisy_dir = tmp_path / "clean", tmp_path / "noisy"
    clean_dir.mkdir()
    noisy_dir.mkdir()
    rng = np.random.default_rng(0)
    sample = iio.imread("samples/astronaut.png")
    for name, crop in (("one.png", sample[:40, :40, 0]), ("two.png", sample[100:140, 60:92])):
        iio.imwrite(clean_dir / name, crop)
        noisy = np.clip(np.rint(crop + rng.normal(0, 25, crop.shape)), 0, 255).astype(np.uint8)
        iio.imwrite(noisy_dir / name, noisy)
    table = tmp_path / "numbers.csv"
    result = runner.invoke(
        app,
        ["compare", str(clean_dir), "--noisy", str(noisy_dir), "--csv", str(table)]
        + ["--json", "--no-opencv"],
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert [image["image"] for image in document["images"]] == ["one.png", "two.png"]
    means = {row["method"]: row["psnr"] for row in document["mean"]}
    for method, mean in means.items():
        values = [
            row["psnr"]
            for image in document["images"]
            for row in image["results"]
            if row["method"] == method
        ]
        assert mean == pytest.approx(np.mean(values))
    with table.open() as stream:
        rows = list(csv.DictReader(stream))
    assert [r["image"] for r in rows] == ["one.png"] * 3 + ["two.png"] * 3 + ["mean"] * 3
    assert float(rows[1]["psnr"]) > float(rows[0]["psnr"])  # nlmeans beats noisy


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "exactly one of --noisy NOISY or --sigma S"),
        (["--sigma", "5", "--noisy", "x.png"], "exactly one of"),
        (["--noisy", "x.png", "--known-sigma"], "--known-sigma needs --sigma"),
        (["--sigma", "-2"], "--sigma -2.0 is out of range"),
        (["--sigma", "5", "--montage", "m.gif"], "cannot write extension"),
    ],
)
def test_compare_usage_errors(small_clean, args, message):
    result = runner.invoke(app, ["compare", str(small_clean), *args])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ") and message in result.stderr


def test_compare_noisy_shape_mismatch(small_clean, tmp_path):
    other = tmp_path / "other.png"
    iio.imwrite(other, np.zeros((10, 10, 3), np.uint8))
    result = runner.invoke(app, ["compare", str(small_clean), "--noisy", str(other)])
    assert result.exit_code == 2 and "differs from" in result.stderr


def test_opencv_row_when_cv2_is_installed(small_clean):
    pytest.importorskip("cv2")
    result = runner.invoke(app, ["compare", str(small_clean), "--sigma", "20", "--json"])
    rows = json.loads(result.stdout)["images"][0]["results"]
    psnr = {row["method"]: row["psnr"] for row in rows}
    assert psnr["opencv"] > psnr["noisy"] + 3


def test_add_noise_is_reproducible_float_and_unclipped():
    clean = np.zeros((30, 30))
    first = evaluate.add_noise(clean, 20.0, seed=7)
    np.testing.assert_array_equal(first, evaluate.add_noise(clean, 20.0, seed=7))
    assert not np.array_equal(first, evaluate.add_noise(clean, 20.0, seed=8))
    assert first.dtype == np.float64 and first.min() < 0  # not clipped at 0
    assert first.std() == pytest.approx(20.0, rel=0.1)


def test_to_8bit_scale():
    assert evaluate.to_8bit_scale(np.array([65535], np.uint16))[0] == pytest.approx(255.0)
    assert evaluate.to_8bit_scale(np.array([200], np.uint8))[0] == 200.0


def skimage_fast_mode_model(noisy, p):
    """What scikit-image's fast mode computes, in NumPy, for h and sigma in 8-bit units.

    The patch sum covers the 2f × 2f pixels at offsets -f+1 … f, each term being
    Σ_c (u_c(p+j) − u_c(q+j))² − 2Cσ², clamped at 0 and divided by C (2f+1)² h²;
    weights with that distance above 5 are dropped.
    """
    u = noisy if noisy.ndim == 3 else noisy[..., np.newaxis]
    height, width, channels = u.shape
    pad = p.r + p.f + 1
    padded = np.pad(u, ((pad, pad), (pad, pad), (0, 0)), mode="reflect")
    numerator, denominator = np.zeros_like(u), np.zeros((height, width))
    for ty in range(-p.r, p.r + 1):
        for tx in range(-p.r, p.r + 1):
            shifted = np.roll(padded, (-ty, -tx), axis=(0, 1))
            terms = ((padded - shifted) ** 2 - 2 * p.sigma**2).sum(axis=-1)
            total = np.zeros((height, width))
            for jy in range(-p.f + 1, p.f + 1):
                for jx in range(-p.f + 1, p.f + 1):
                    total += terms[pad + jy : pad + jy + height, pad + jx : pad + jx + width]
            distance = np.maximum(total, 0) / (channels * (2 * p.f + 1) ** 2 * p.h**2)
            weight = np.where(distance > 5, 0.0, np.exp(-distance))
            candidate = padded[pad + ty : pad + ty + height, pad + tx : pad + tx + width]
            numerator += weight[..., np.newaxis] * candidate
            denominator += weight
    estimate = numerator / denominator[..., np.newaxis]
    return estimate if noisy.ndim == 3 else estimate[..., 0]


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("params", [Params(1, 3, 15.0, 10.0), Params(2, 2, 12.0, 20.0)])
def test_skimage_gets_equivalent_units(channels, params):
    """h and sigma reach scikit-image in its units: its output matches the model of its
    fast mode evaluated with our 8-bit values (to its approximate exp)."""
    clean = np.tile(np.linspace(40, 210, 21), (18, 1))
    if channels == 3:
        clean = np.stack([clean, clean[::-1], 0.6 * clean], axis=-1)
    noisy = evaluate.add_noise(clean, params.sigma, seed=channels)
    ours = evaluate.run_skimage(noisy, params)
    model = skimage_fast_mode_model(noisy, params)
    assert np.abs(ours - model).max() < 0.5
    # With h off by a factor of 2 the model is far away: the check is sensitive to units.
    wrong = skimage_fast_mode_model(noisy, Params(params.f, params.r, params.h / 2, params.sigma))
    assert np.abs(ours - wrong).max() > 2


def test_unwritable_report_folder_is_refused_before_computing(small_clean, tmp_path):
    missing = tmp_path / "no" / "such"
    for option in ("--montage", "--csv"):
        result = runner.invoke(
            app, ["compare", str(small_clean), "--sigma", "5", option, str(missing / "r.png")]
        )
        assert result.exit_code == 2 and "does not exist" in result.stderr
        assert result.stdout == ""  # no table: nothing was computed


def test_compare_method_patch_reaches_nlmeans_only(small_clean):
    result = runner.invoke(
        app,
        ["compare", str(small_clean), "--sigma", "20", "--method", "patch", "--json"]
        + ["--no-opencv"],
    )
    assert result.exit_code == 0, result.output
    (image,) = json.loads(result.stdout)["images"]
    assert image["params"]["method"] == "patch"
    assert image["method_parameters"]["nlmeans"]["method"] == "patch"
    assert image["method_parameters"]["scikit-image"]["fast_mode"] is True
    psnr = {row["method"]: row["psnr"] for row in image["results"]}
    assert psnr["nlmeans"] > psnr["noisy"] + 3


@pytest.mark.parametrize("shape", [(2, 2), (1, 1), (1, 7), (6, 9, 3)])
def test_compare_on_images_smaller_than_the_ssim_window(tmp_path, shape):
    # Before: scikit-image's SSIM raised ValueError (win_size exceeds image extent).
    values = np.random.default_rng(0).integers(0, 256, shape).astype(np.uint8)
    iio.imwrite(tmp_path / "tiny.png", values)
    result = runner.invoke(app, ["compare", str(tmp_path / "tiny.png"), "--sigma", "20"])
    assert result.exit_code == 0, result.output
    assert "SSIM: left out (-), the image is smaller than its 7×7 window" in result.stdout
    noisy_line = next(line for line in result.stdout.splitlines() if line.startswith("noisy"))
    assert noisy_line.split()[2] == "-"
    document = json.loads(
        runner.invoke(
            app, ["compare", str(tmp_path / "tiny.png"), "--sigma", "20", "--json"]
        ).stdout
    )
    assert all(row["ssim"] is None for row in document["images"][0]["results"])


def test_ssim_mean_over_a_folder_with_a_tiny_image_is_left_out(tmp_path):
    rng = np.random.default_rng(1)
    iio.imwrite(tmp_path / "big.png", rng.integers(0, 256, (16, 16)).astype(np.uint8))
    iio.imwrite(tmp_path / "tiny.png", rng.integers(0, 256, (3, 3)).astype(np.uint8))
    result = runner.invoke(
        app, ["compare", str(tmp_path), "--sigma", "20", "--csv", str(tmp_path / "r.csv")]
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader((tmp_path / "r.csv").open()))
    assert {row["ssim"] for row in rows if row["image"] == "mean"} == {""}
    assert all(row["ssim"] != "" for row in rows if row["image"] == "big.png")
    assert evaluate.ssim(np.zeros((6, 40)), np.zeros((6, 40))) is None
