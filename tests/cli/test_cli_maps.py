"""``nlmeans denoise --sigma-map / --mask / --noise rician --coils``."""

import numpy as np
import tifffile
from typer.testing import CliRunner

import nlmeans
from nlmeans.cli import app

runner = CliRunner()


def files(tmp_path, rng):
    image = np.clip(100 + rng.normal(0, 10, (24, 30)), 0, 255).astype(np.float32)
    sigma_map = np.tile(np.linspace(5, 15, 30), (24, 1))
    mask = np.zeros(image.shape, np.uint8)
    mask[4:20, 3:25] = 255
    paths = {name: tmp_path / f"{name}.npy" for name in ("image", "map", "mask")}
    for name, values in zip(paths, (image, sigma_map, mask), strict=True):
        np.save(paths[name], values)
    return image, sigma_map, mask, paths


def test_sigma_map_and_mask(tmp_path, rng):
    image, sigma_map, mask, paths = files(tmp_path, rng)
    target = tmp_path / "out.npy"
    args = ["denoise", str(paths["image"]), "-o", str(target), "--h", "12", "--f", "1", "--r", "3"]
    args += ["--sigma-map", str(paths["map"]), "--mask", str(paths["mask"]), "-q"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    expected = nlmeans.denoise(image, h=12, sigma=sigma_map, f=1, r=3, mask=mask != 0)
    np.testing.assert_array_equal(np.load(target), expected)


def test_rician(tmp_path, rng):
    image, _, _, paths = files(tmp_path, rng)
    target = tmp_path / "out.npy"
    args = ["denoise", str(paths["image"]), "-o", str(target), "--h", "12", "--sigma", "6"]
    args += ["--f", "1", "--r", "2", "--noise", "rician", "--coils", "2", "-q"]
    assert runner.invoke(app, args).exit_code == 0
    expected = nlmeans.denoise(image, h=12, sigma=6, f=1, r=2, noise="rician", coils=2)
    np.testing.assert_array_equal(np.load(target), expected)


def test_a_stacks_mask_is_read_with_its_axes(tmp_path, rng):
    # A volume and its mask saved as plain multi-page TIFFs (no axes metadata): the
    # volume needs --axes, and the mask, of the volume's shape, is read with the same.
    volume = np.clip(100 + rng.normal(0, 10, (6, 20, 24)), 0, 255).astype(np.float32)
    mask = np.zeros(volume.shape, np.uint8)
    mask[1:5, 3:17, 4:20] = 1
    paths = {name: tmp_path / f"{name}.tif" for name in ("volume", "mask", "out")}
    tifffile.imwrite(paths["volume"], volume)
    tifffile.imwrite(paths["mask"], mask)
    args = ["denoise", str(paths["volume"]), "-o", str(paths["out"]), "--axes", "ZYX"]
    args += ["--h", "12", "--sigma", "10", "--f", "1", "--r", "1", "--mask", str(paths["mask"])]
    result = runner.invoke(app, [*args, "-q"])
    assert result.exit_code == 0, result.output
    expected = nlmeans.denoise(volume, h=12, sigma=10, f=1, r=1, mask=mask != 0)
    np.testing.assert_array_equal(tifffile.imread(paths["out"]), expected)


def test_map_of_the_wrong_shape_fails_cleanly(tmp_path, rng):
    _, _, _, paths = files(tmp_path, rng)
    np.save(paths["map"], np.ones((3, 3)))
    target = tmp_path / "out.npy"
    args = ["denoise", str(paths["image"]), "-o", str(target), "--sigma-map", str(paths["map"])]
    result = runner.invoke(app, args)
    assert result.exit_code != 0 and "--sigma-map" in result.output
    assert "Traceback" not in result.output and not target.exists()


def test_unknown_noise_fails_cleanly(tmp_path, rng):
    _, _, _, paths = files(tmp_path, rng)
    target = tmp_path / "out.npy"
    result = runner.invoke(app, ["denoise", str(paths["image"]), "-o", str(target), "--noise", "x"])
    assert result.exit_code != 0 and "noise='x' is not one of" in result.output
    assert not target.exists()
