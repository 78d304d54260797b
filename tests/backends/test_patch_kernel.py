"""The Gaussian patch kernel: its definition in the oracle, the CPU and CUDA kernels against
the oracle, and its plumbing (Params, the front door, select, the command line).

The CUDA cases run under NUMBA_ENABLE_CUDASIM=1 (or on a GPU) and are skipped elsewhere.
"""

import itertools
from dataclasses import replace

import numpy as np
import pytest
from _support import pad_stack

import nlmeans
from nlmeans.backends import REGISTRY, reference, select
from nlmeans.backends import _contract as contract
from nlmeans.backends import _oracle_terms as oracle_terms
from nlmeans.backends.cpu import _ndim as cpu_ndim
from nlmeans.backends.cuda import _launcher as launcher
from nlmeans.errors import NLMeansError
from nlmeans.params import Params

PIXEL = {"pixel": "pixelwise", "patch": "patchwise"}


def padded(rng, method, channels, shape, f, r):
    """float32 (C, *S) in [0, 1), reflect-padded for ``method``."""
    return pad_stack(rng.random((channels, *shape)), f, r, method)


# ---------------------------------------------------------------- the definition


@pytest.mark.parametrize("fk", [0, 1, 2, 3, 5])
def test_profile_is_a_normalised_gaussian_of_width_f_over_2(fk):
    g = contract.gaussian_profile(fk)
    assert g.shape == (2 * fk + 1,)
    assert g.sum() == pytest.approx(1.0)
    if fk:
        j = np.arange(-fk, fk + 1)
        # g(j) / g(0) = exp(−j² / (2 σ²)) with σ = f / 2
        np.testing.assert_allclose(g / g[fk], np.exp(-(j**2) / (2 * (fk / 2) ** 2)))


def test_oracle_gaussian_distance_by_hand():
    """One shift: two 3×3 patches whose difference is 1 at one offset j only."""
    f, r = (1, 1), (0, 1)
    u = np.zeros((1, 3, 5))
    u[0, 0, 0] = 1.0  # differs between p = (1, 1) + j, j = (−1, −1), and q = p + (0, 1)
    # At p = centre (1, 1), shift t = (0, 1): patches at columns 0..2 and 1..3 of row 0..2.
    # Squared differences: (u(p + j) − u(p + t + j))² = 1 only at j = (−1, −1).
    g = contract.gaussian_profile(1)
    expected = g[0] * g[0]  # g(−1, −1)
    d2 = oracle_terms.distances(u, (1, 1), (1, 1), (0, 1), f, "gaussian")
    assert d2[0, 0] == pytest.approx(expected)
    d2u = oracle_terms.distances(u, (1, 1), (1, 1), (0, 1), f, "uniform")
    assert d2u[0, 0] == pytest.approx(1 / 9)
    assert r  # the search radius plays no part in one distance


def test_oracle_constant_difference_gives_its_square():
    """Patches differing by a constant a everywhere: d²_g = a² (Σ g = 1), as d²."""
    v = np.full((2, 5, 9), 0.25)
    v[:, :, 5:] = 1.0
    for kernel in ("uniform", "gaussian"):
        # Centre (2, 2), shift (0, 4): patch columns 1..3 (0.25) against 5..7 (1.0).
        d2 = oracle_terms.distances(v, (2, 2), (1, 1), (0, 4), (1, 1), kernel)
        assert d2[0, 0] == pytest.approx(0.75**2)


def test_gaussian_differs_from_uniform(rng):
    p = padded(rng, "pixel", 1, (8, 9), (2, 2), (2, 2))
    a = reference.pixelwise(p, (2, 2), (2, 2), 0.0, [0.2], patch_kernel="uniform")
    b = reference.pixelwise(p, (2, 2), (2, 2), 0.0, [0.2], patch_kernel="gaussian")
    assert np.abs(a - b).max() > 1e-3


def test_oracle_refuses_unknown_kernel(rng):
    p = padded(rng, "pixel", 1, (4, 4), (1, 1), (1, 1))
    with pytest.raises(ValueError, match="patch_kernel"):
        reference.pixelwise(p, (1, 1), (1, 1), 0.0, [0.2], patch_kernel="box")


def test_weight_constants_gaussian_divides_by_channels_only():
    su, ou = contract.weight_constants([0.5], 0.1, (1, 2), 3, "uniform")
    sg, og = contract.weight_constants([0.5], 0.1, (1, 2), 3, "gaussian")
    assert su[0] == pytest.approx(1 / (3 * 15 * 0.25))
    assert sg[0] == pytest.approx(1 / (3 * 0.25))
    assert ou[0] == pytest.approx(og[0]) == pytest.approx(2 * 0.01 / 0.25)


# ---------------------------------------------------------------- CPU against the oracle

CPU_CASES = [
    # (shape, f, r, channels, method, tile)
    ((17,), (3,), (2,), 1, "pixel", None),
    ((9, 11), (2, 1), (2, 3), 1, "pixel", (3, 4)),
    ((9, 10), (3, 3), (2, 2), 3, "pixel", None),
    ((5, 6, 7), (1, 2, 0), (1, 1, 2), 2, "pixel", (2, 3, 4)),
    ((3, 4, 5, 6), (1, 1, 1, 1), (1, 0, 1, 1), 1, "pixel", None),
    ((9, 10), (2, 2), (2, 1), 3, "patch", (4, 4)),
    ((4, 5, 6), (1, 0, 2), (1, 2, 1), 1, "patch", None),
]


@pytest.mark.parametrize("shape, f, r, channels, method, tile", CPU_CASES)
def test_cpu_gaussian_matches_oracle(rng, shape, f, r, channels, method, tile):
    p = padded(rng, method, channels, shape, f, r)
    hs = [0.1, 0.35]
    want = getattr(reference, PIXEL[method])(p, f, r, 0.05, hs, patch_kernel="gaussian")
    got = getattr(cpu_ndim, PIXEL[method])(p, f, r, 0.05, hs, tile=tile, patch_kernel="gaussian")
    np.testing.assert_allclose(got, want, atol=1e-4)  # data range 1


def test_cpu_backend_routes_gaussian_to_the_ndim_kernel(rng):
    """One h, square radii, 2-D: the 2-D kernel is uniform-only, gaussian goes N-D."""
    p = padded(rng, "pixel", 1, (12, 12), (2, 2), (3, 3))
    backend = REGISTRY["cpu"]
    got = backend.methods["pixel"](p, (2, 2), (3, 3), 0.02, [0.15], patch_kernel="gaussian")
    want = reference.pixelwise(p, (2, 2), (3, 3), 0.02, [0.15], patch_kernel="gaussian")
    np.testing.assert_allclose(got, want, atol=1e-4)
    uniform = backend.methods["pixel"](p, (2, 2), (3, 3), 0.02, [0.15])
    assert np.abs(uniform - got).max() > 1e-3


# ------------------------------------------------- CUDA (simulator) against the oracle

REASON = launcher.availability()
device = pytest.mark.skipif(
    REASON is not None,
    reason=f"no CUDA device and no simulator ({REASON}); run with NUMBA_ENABLE_CUDASIM=1",
)

CUDA_CASES = [
    # (shape, f, r, channels, method, batch)
    ((9,), (2,), (2,), 1, "pixel", None),
    ((6, 7), (2, 1), (1, 2), 1, "pixel", None),
    ((5, 6), (2, 2), (1, 1), 3, "pixel", 3),
    ((3, 4, 5), (1, 1, 0), (1, 0, 1), 2, "pixel", 2),
    ((5, 6), (1, 2), (1, 1), 3, "patch", None),
    ((3, 4, 5), (0, 1, 2), (1, 1, 0), 1, "patch", 2),
]


@pytest.mark.cuda
@device
@pytest.mark.parametrize("shape, f, r, channels, method, batch", CUDA_CASES)
def test_cuda_gaussian_matches_oracle(rng, shape, f, r, channels, method, batch):
    from nlmeans.backends.cuda import _ndim as cuda_ndim

    p = padded(rng, method, channels, shape, f, r)
    hs = [0.1, 0.35]
    want = getattr(reference, PIXEL[method])(p, f, r, 0.05, hs, patch_kernel="gaussian")
    run = getattr(cuda_ndim, PIXEL[method])
    got = run(p, f, r, 0.05, hs, batch=batch, patch_kernel="gaussian")
    np.testing.assert_allclose(got, want, atol=1e-4)


@pytest.mark.cuda
@device
def test_cuda_backend_routes_gaussian_to_the_ndim_kernels(rng):
    p = padded(rng, "pixel", 1, (7, 8), (1, 1), (2, 2))
    backend = REGISTRY["cuda"]
    got = backend.methods["pixel"](p, (1, 1), (2, 2), 0.0, [0.2], patch_kernel="gaussian")
    want = reference.pixelwise(p, (1, 1), (2, 2), 0.0, [0.2], patch_kernel="gaussian")
    np.testing.assert_allclose(got, want, atol=1e-4)


# ---------------------------------------------------------------- plumbing


def test_backends_declare_their_kernels():
    for name in ("reference", "cpu", "cuda"):
        assert set(REGISTRY[name].patch_kernels) == {"uniform", "gaussian"}


def test_select_refuses_a_backend_without_the_kernel(monkeypatch):
    narrow = replace(REGISTRY["cpu"], name="narrow", patch_kernels=("uniform",))
    monkeypatch.setitem(REGISTRY, "narrow", narrow)
    assert select("narrow", "pixel", 2, "uniform") is narrow
    with pytest.raises(NLMeansError, match="patch_kernel='gaussian' is not available"):
        select("narrow", "pixel", 2, "gaussian")


def test_front_door_gaussian(rng):
    image = rng.random((14, 15)).astype(np.float32)
    out, params = nlmeans.denoise(
        image, 0.2, 0.05, f=2, r=3, backend="cpu", patch_kernel="gaussian", return_params=True
    )
    assert params == Params(f=2, r=3, h=0.2, sigma=0.05, patch_kernel="gaussian")
    ref = nlmeans.denoise(image, 0.2, 0.05, f=2, r=3, backend="reference", patch_kernel="gaussian")
    np.testing.assert_allclose(out, ref, atol=1e-4)
    uniform = nlmeans.denoise(image, 0.2, 0.05, f=2, r=3, backend="cpu")
    assert np.abs(uniform - out).max() > 1e-3
    assert Params(f=1, r=1, h=1.0, sigma=0.0).patch_kernel == "uniform"


def test_front_door_refuses(rng):
    image = rng.random((8, 8)).astype(np.float32)
    with pytest.raises(NLMeansError, match="patch_kernel='box' is unknown"):
        nlmeans.denoise(image, 0.2, f=1, r=1, patch_kernel="box")
    with pytest.raises(NLMeansError, match="uniform patch kernel only"):
        nlmeans.denoise(image, tune=True, patch_kernel="gaussian")


def test_params_line_shows_a_non_uniform_kernel():
    from nlmeans._reporting import params_line

    assert "patch_kernel" not in params_line(Params(f=1, r=2, h=3.0, sigma=1.0))
    line = params_line(Params(f=1, r=2, h=3.0, sigma=1.0, patch_kernel="gaussian"))
    assert line.endswith("patch_kernel=gaussian")


def test_cli_patch_kernel(tmp_path):
    import imageio.v3 as iio
    from typer.testing import CliRunner

    from nlmeans.cli import app

    rng = np.random.default_rng(3)
    pixels = np.clip(128 + rng.normal(0, 20, (24, 24)), 0, 255).astype(np.uint8)
    source = tmp_path / "in.png"
    iio.imwrite(source, pixels)
    runner = CliRunner()
    outputs = {}
    for kernel in ("uniform", "gaussian"):
        target = tmp_path / f"{kernel}.png"
        args = ["denoise", str(source), "-o", str(target), "--h", "15", "--sigma", "20"]
        result = runner.invoke(
            app, [*args, "--f", "2", "--r", "3", "--backend", "cpu", "--patch-kernel", kernel]
        )
        assert result.exit_code == 0, result.output
        assert ("patch_kernel=gaussian" in result.output) == (kernel == "gaussian")
        outputs[kernel] = iio.imread(target)
    want = nlmeans.denoise(pixels, 15, 20, f=2, r=3, backend="cpu", patch_kernel="gaussian")
    np.testing.assert_array_equal(outputs["gaussian"], want)
    assert np.any(outputs["gaussian"] != outputs["uniform"])
    bad = runner.invoke(app, ["denoise", str(source), "-o", str(tmp_path / "x.png"),
                              "--patch-kernel", "box"])  # fmt: skip
    assert bad.exit_code == 2 and "patch_kernel='box' is unknown" in bad.output


def test_every_offset_weight_is_the_product_of_the_axis_profiles():
    f = (1, 2, 0)
    weights = oracle_terms.patch_weights(f, "gaussian")
    rows = contract.patch_profiles(f, "gaussian")
    for j in itertools.product(*(range(-k, k + 1) for k in f)):
        product = np.prod([rows[k][j[k] + f[k]] for k in range(3)])
        assert weights[j] == pytest.approx(product)
