"""The CUDA backend against the NumPy oracle.

tests/run_all.sh runs this file a second time in its own process with
NUMBA_ENABLE_CUDASIM=1 (Numba's CUDA simulator, which must be enabled before
numba is imported), or without it on a machine with an NVIDIA GPU. In the plain
CPU run the device tests are skipped with the reason, and the tests of what a
machine without a device sees run instead. The simulator runs each GPU thread
as a Python thread: keep the images tiny.
"""

import os
import subprocess
import sys
import types
import warnings

import numpy as np
import pytest
from _support import TINY_CASES, front_door_stack, oracle_estimate, ptx_compiler_reason
from typer.testing import CliRunner

import nlmeans
from nlmeans import NLMeansError
from nlmeans.backends import REGISTRY, availability, select
from nlmeans.backends.cuda import _launcher as nlm_cuda
from nlmeans.cli import app

pytestmark = pytest.mark.cuda

REASON = nlm_cuda.availability()
device = pytest.mark.skipif(
    REASON is not None,
    reason=f"no CUDA device and no simulator ({REASON}); "
    "tests/run_all.sh runs these with NUMBA_ENABLE_CUDASIM=1",
)
no_device = pytest.mark.skipif(
    REASON is None, reason="a CUDA device (or Numba's CUDA simulator) is available here"
)


def run_pixelwise(padded, f, r, params, **options):
    """The launcher's pixelwise estimate of a padded stack for ``params`` (square radii)."""
    return nlm_cuda.pixelwise(padded, f[0], r[0], params.sigma, params.h, **options)


@device
@pytest.mark.parametrize("shape, channel_axis, f, r, h, sigma", TINY_CASES)
def test_cuda_matches_reference(rng, shape, channel_axis, f, r, h, sigma):
    image = rng.random(shape).astype(np.float32)
    kwargs = dict(h=h, sigma=sigma, f=f, r=r, channel_axis=channel_axis)
    expected = nlmeans.denoise(image, backend="reference", **kwargs)
    got = nlmeans.denoise(image, backend="cuda", **kwargs)
    assert got.shape == image.shape and got.dtype == image.dtype
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-4)  # data range is 1


@device
def test_cuda_luminance_chrominance_matches_reference(rng):
    image = rng.random((9, 10, 3)).astype(np.float32)
    kwargs = dict(h=0.1, h_chroma=0.35, sigma=0.02, f=1, r=2, channel_axis=-1)
    expected = nlmeans.denoise(image, backend="reference", **kwargs)
    got = nlmeans.denoise(image, backend="cuda", **kwargs)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-4)


@device
def test_cuda_matches_reference_in_8bit_units(rng):
    image = (rng.random((9, 10, 3)) * 255).astype(np.float64)
    kwargs = dict(h=12.0, sigma=10.0, f=1, r=2, channel_axis=-1)
    expected = nlmeans.denoise(image, backend="reference", **kwargs)
    got = nlmeans.denoise(image, backend="cuda", **kwargs)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-4 * 255)


@device
@pytest.mark.parametrize(
    "shape, channel_axis, f, r, stage, block",
    [
        ((12, 13), None, 2, 2, False, None),  # image read from global memory
        ((9, 10, 3), -1, 1, 2, False, (8, 8)),
        ((7, 9), None, 1, 2, True, (4, 4)),  # several blocks, partial border blocks
        ((9, 10, 3), -1, 2, 1, True, (8, 8)),
    ],
)
def test_kernel_variants_match_reference(rng, shape, channel_axis, f, r, stage, block):
    image = rng.random(shape).astype(np.float32)
    options = dict(channel_axis=channel_axis, h=0.2, sigma=0.05, f=f, r=r)
    padded, fs, rs, params = front_door_stack(image, **options)
    expected = oracle_estimate(padded, fs, rs, params)
    got = run_pixelwise(padded, fs, rs, params, stage=stage, block=block)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-4)


@device
@pytest.mark.parametrize("stage", [True, False])
def test_tiled_run_equals_untiled_run(rng, stage):
    image = rng.random((7, 9)).astype(np.float32)
    padded, f, r, params = front_door_stack(image, h=0.2, sigma=0.05, f=1, r=1)
    whole = run_pixelwise(padded, f, r, params, stage=stage, block=(4, 4))
    # Tiles of 3 × 5 output pixels: partial tiles at the bottom and right edges.
    tiled = run_pixelwise(padded, f, r, params, stage=stage, block=(4, 4), tile=(3, 5))
    np.testing.assert_array_equal(tiled, whole)
    expected = oracle_estimate(padded, f, r, params)
    np.testing.assert_allclose(tiled, expected, rtol=0, atol=1e-4)


@device
def test_device_buffers_are_reused_for_the_same_shape(rng):
    first, second = rng.random((2, 9, 10, 3)).astype(np.float32)
    options = dict(channel_axis=-1, h=0.2, sigma=0.0, f=1, r=1)
    padded_a, f, r, params = front_door_stack(first, **options)
    padded_b, _, _, _ = front_door_stack(second, **options)
    run_pixelwise(padded_a, f, r, params, block=(8, 8))
    buffers = {key: tuple(map(id, pair)) for key, pair in nlm_cuda._buffers.items()}
    got = run_pixelwise(padded_b, f, r, params, block=(8, 8))
    assert {key: tuple(map(id, pair)) for key, pair in nlm_cuda._buffers.items()} == buffers
    # No stale data from the first image.
    expected = oracle_estimate(padded_b, f, r, params)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-4)
    run_pixelwise(padded_b[:1], f, r, params, block=(8, 8))  # another shape
    assert set(nlm_cuda._buffers) == {((1, *padded_b.shape[1:]), (1, 9, 10))}


@device
def test_tiny_h_keeps_pixels_finite(rng):
    image = rng.random((7, 8)).astype(np.float32)
    out = nlmeans.denoise(image, h=1e-6, sigma=0.0, f=1, r=1, backend="cuda")
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out, image, atol=1e-6)  # only the centre weight survives


@device
@pytest.mark.filterwarnings("ignore:Simulator timings are bogus")
def test_timings_are_reported(rng):
    padded, f, r, params = front_door_stack(rng.random((5, 6)).astype(np.float32), h=0.2, f=1, r=1)
    timings = {}
    run_pixelwise(padded, f, r, params, block=(4, 4), timings=timings)
    assert timings["total_s"] > 0 and isinstance(timings["kernel_s"], float)
    if not os.environ.get("NUMBA_ENABLE_CUDASIM"):  # the simulator's event times are bogus
        assert 0 < timings["kernel_s"] < timings["total_s"]


@device
def test_auto_prefers_cuda_and_warm_up_runs():
    assert select("auto").name == "cuda"
    REGISTRY["cuda"].warm_up("pixel")
    REGISTRY["cuda"].warm_up("pixel", strengths=2)  # SURE's sweeps: one run per h


def tiny_noisy(rng, shape=(12, 12)):
    """A tiny noisy uint8 image: a ramp with a bright square, σ = 20 (8-bit)."""
    y, x = np.mgrid[0 : shape[0], 0 : shape[1]]
    clean = 60.0 + 6.0 * x + 80.0 * ((abs(y - 6) < 3) & (abs(x - 5) < 3))
    return np.clip(np.rint(clean + rng.normal(0.0, 20.0, shape)), 0, 255).astype(np.uint8)


@device
def test_denoise_tune_on_cuda_equals_the_reference_with_the_chosen_parameters(rng):
    image = tiny_noisy(rng)
    out, params = nlmeans.denoise(image, r=1, backend="cuda", tune=True, return_params=True)
    # A single method of the backend, or SURE's combination of its estimates.
    assert params.method in (*REGISTRY["cuda"].methods, "combined") and params.r == 1
    expected = nlmeans.denoise(image.astype(np.float32), backend="reference", params=params)
    # uint8 output: the float estimates agree to 1e-4, so the rounded ones to one level
    # (a value within 1e-4 of .5 may round either way).
    got = nlmeans.denoise(image.astype(np.float32), backend="cuda", params=params)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-4 * 255)
    assert np.abs(out.astype(float) - expected).max() <= 0.5 + 1e-4 * 255
    assert np.abs(out.astype(float) - np.rint(expected)).max() <= 1


def cli_tiny(tmp_path, rng):
    import imageio.v3 as iio

    source = tmp_path / "tiny.png"
    iio.imwrite(source, tiny_noisy(rng))
    return source


SIMULATED = os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"


@device
@pytest.mark.parametrize(
    "radius",
    [
        ["--r", "1"],
        # The default search radius (r = 8): about 150 s in the simulator, so GPU only.
        pytest.param([], marks=pytest.mark.skipif(SIMULATED, reason="too slow in the simulator")),
    ],
)
def test_cli_denoise_tune_on_cuda(tmp_path, rng, radius):
    import imageio.v3 as iio

    source = cli_tiny(tmp_path, rng)
    args = ["denoise", str(source), "--backend", "cuda", "--tune", *radius]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "backend=cuda" in result.stdout and "tuned by SURE" in result.stdout
    assert any(f"method={m}" in result.stdout for m in (*REGISTRY["cuda"].methods, "combined"))
    assert iio.imread(tmp_path / "tiny_denoised.png").shape == (12, 12)


@device
def test_cli_threads_on_cuda_is_a_note(tmp_path, rng):
    source = cli_tiny(tmp_path, rng)
    args = ["denoise", str(source), "--backend", "cuda", "--threads", "1", "--r", "1"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "note: --threads has no effect on backend=cuda" in result.stderr
    assert "note:" not in result.stdout


@pytest.mark.skipif(os.environ.get("NUMBA_ENABLE_CUDASIM") != "1", reason="simulator off")
def test_simulator_run_really_runs_the_kernels():
    """The simulator run fails, rather than skipping every device test, if it cannot start."""
    assert REASON is None, f"NUMBA_ENABLE_CUDASIM=1 but the CUDA backend is unavailable: {REASON}"


@no_device
def test_cuda_without_a_device_says_why():
    assert availability("cuda") == REASON
    assert REASON.strip() and "\n" not in REASON
    with pytest.raises(NLMeansError, match="backend='cuda' is not available: ") as info:
        nlmeans.denoise(np.zeros((5, 5), np.float32), h=1.0, sigma=0.0, backend="cuda")
    assert REASON in str(info.value)
    assert select("auto").name != "cuda"  # CPU-only machines fall back silently


@device
def test_kernels_that_fail_on_the_device_make_it_unavailable(monkeypatch):
    def broken():
        raise RuntimeError("CUDA_ERROR_UNSUPPORTED_PTX_VERSION\nthe driver is too old")

    monkeypatch.setattr(nlm_cuda, "_run_tiny", broken)
    monkeypatch.setattr(nlm_cuda, "_probe_result", [])  # probe again, restored afterwards
    assert nlm_cuda.availability() == (
        "the CUDA kernels cannot be compiled or run here: CUDA_ERROR_UNSUPPORTED_PTX_VERSION"
    )
    with pytest.raises(NLMeansError, match="UNSUPPORTED_PTX_VERSION"):
        nlmeans.denoise(np.zeros((4, 4), np.float32), h=1.0, backend="cuda")
    assert select("auto").name != "cuda"


def test_driver_errors_are_reduced_to_one_line():
    message = (
        "Error at driver init: \n\nCUDA driver library cannot be found.\n"
        "If you are sure that a CUDA driver is installed,\n:"
    )
    assert nlm_cuda._first_line(Exception(message)) == "CUDA driver library cannot be found."


def test_the_driver_library_is_looked_for_before_numba_cuda_is_imported(monkeypatch):
    from numba.core import config

    def missing(name):
        raise OSError(f"{name}: cannot open shared object file")

    monkeypatch.setattr(config, "ENABLE_CUDASIM", 0)
    monkeypatch.setattr(config, "CUDA_DRIVER", "")
    monkeypatch.setattr(nlm_cuda.sys, "platform", "linux")
    monkeypatch.setattr(nlm_cuda.ctypes, "CDLL", missing)
    assert not nlm_cuda._driver_library_loads()
    monkeypatch.setattr(nlm_cuda, "_probe_result", [])  # probe again, restored afterwards
    assert nlm_cuda.availability() == (
        "no usable CUDA driver: CUDA driver library cannot be found."
    )
    loaded = []
    monkeypatch.setattr(nlm_cuda.ctypes, "CDLL", loaded.append)
    assert nlm_cuda._driver_library_loads() and loaded == ["libcuda.so"]
    # numba.cuda decides where it is told to: the simulator, a driver path.
    monkeypatch.setattr(nlm_cuda.ctypes, "CDLL", missing)
    monkeypatch.setattr(config, "CUDA_DRIVER", "/opt/driver/libcuda.so")
    assert nlm_cuda._driver_library_loads()
    monkeypatch.setattr(config, "CUDA_DRIVER", "")
    monkeypatch.setattr(config, "ENABLE_CUDASIM", 1)
    assert nlm_cuda._driver_library_loads()


@no_device
def test_a_cpu_run_without_a_driver_does_not_import_numba_cuda():
    if nlm_cuda._driver_library_loads():
        pytest.skip("a CUDA driver library loads here: numba.cuda is what answers")
    code = (
        "import sys, numpy as np, nlmeans\n"
        "nlmeans.denoise(np.zeros((8, 8), np.float32), h=1.0, sigma=1.0)\n"
        "sys.exit('numba.cuda' in sys.modules)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    assert subprocess.run([sys.executable, "-c", code], env=env, timeout=600).returncode == 0


@pytest.mark.parametrize(
    "n_channels, f, r, plan",
    [
        (3, 3, 10, ((16, 16), True)),  # the benchmark's 4K RGB setting: staged
        (1, 5, 17, ((16, 16), True)),
        (3, 5, 17, ((16, 16), True)),
        (3, 5, 35, ((16, 16), False)),  # halo too large to stage
        (1, 50, 200, ((4, 4), False)),  # the largest f and r still launch
    ],
)
def test_launch_plan_fits_shared_memory(n_channels, f, r, plan):
    block, staged, shared = nlm_cuda.launch_plan(n_channels, f, r)
    assert (block, staged) == plan
    assert 0 < shared <= nlm_cuda.SHARED_LIMIT


@pytest.mark.skipif(
    os.environ.get("NUMBA_ENABLE_CUDASIM") == "1", reason="the simulator never warns about grids"
)
def test_small_grids_launch_without_numba_performance_warning():
    """On a GPU numba.cuda warns for grids under 128 blocks: the probe and every small image."""
    cuda_kernels = pytest.importorskip(
        "nlmeans.backends.cuda._kernels", reason="numba.cuda is missing"
    )
    kernel = cuda_kernels.staged_kernel
    with pytest.warns(Warning, match=nlm_cuda.LOW_OCCUPANCY_WARNING):
        kernel[(1, 1), (4, 4), 0, 64]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nlm_cuda.configure(kernel, (1, 1), (4, 4), 64)


def test_importing_nlmeans_does_not_import_numba_cuda():
    code = "import sys, nlmeans; assert 'numba.cuda' not in sys.modules, 'imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


COMPILER_REASON = ptx_compiler_reason()


@pytest.mark.skipif(COMPILER_REASON is not None, reason=f"{COMPILER_REASON}")
@pytest.mark.parametrize("name", ["staged_kernel", "global_kernel"])
def test_kernels_compile_to_float32_ptx(monkeypatch, name):
    """What the simulator cannot check: the kernels type and compile for a real GPU (sm_90)."""
    import numba.cuda.dispatcher
    from numba import cuda
    from numba import types as nb

    from nlmeans.backends.cuda import _kernels as cuda_kernels

    # Compiling the device function asks for the current device's compute
    # capability; a machine without a GPU answers for an H100.
    monkeypatch.setattr(
        numba.cuda.dispatcher,
        "get_current_device",
        lambda: types.SimpleNamespace(compute_capability=(9, 0)),
        raising=False,
    )
    signature = (nb.float32[::1], *[nb.int64] * 7, nb.float32, nb.float32, nb.float32[:, :, ::1])
    ptx, _ = cuda.compile_ptx(getattr(cuda_kernels, name).py_func, signature, cc=(9, 0))
    assert ".f64" not in ptx  # float32 arithmetic only
    assert "bar.sync" in ptx and "ld.shared.f32" in ptx
