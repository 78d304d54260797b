"""The CUDA N-D sweep kernels (pixelwise and patchwise, K strengths) against NumPy oracles.

Run with NUMBA_ENABLE_CUDASIM=1 (Numba's CUDA simulator, enabled before numba
is imported) or on a machine with an NVIDIA GPU; elsewhere the device tests are
skipped with the reason. The simulator runs each GPU thread as a Python thread:
keep the images tiny. 2-D cases are checked against nlmeans.reference, the
others against the brute-force N-D oracle below.
"""

import os
import subprocess
import sys
import types
import warnings

import numpy as np
import pytest
from _support import pad_stack, ptx_compiler_reason

from nlmeans.backends import padding, reference
from nlmeans.backends._contract import weight_constants
from nlmeans.backends.cuda import _launcher as nlm_cuda
from nlmeans.backends.cuda import _ndim as ndim
from nlmeans.errors import NLMeansError

pytestmark = pytest.mark.cuda

REASON = nlm_cuda.availability()
device = pytest.mark.skipif(
    REASON is not None,
    reason=f"no CUDA device and no simulator ({REASON}); run with NUMBA_ENABLE_CUDASIM=1",
)

METHODS = {"pixel": ndim.pixelwise, "patch": ndim.patchwise}


def padded_image(rng, method, n_channels, shape, f, r):
    """float32 (C, *S) in [0, 1), reflect-padded for ``method``."""
    return pad_stack(rng.random((n_channels, *shape)), f, r, method)


ORACLES = {"pixel": reference.pixelwise, "patch": reference.patchwise}
TOLERANCE = 1e-4  # of the data range, which is 1


@device
@pytest.mark.parametrize("method", ["pixel", "patch"])
@pytest.mark.parametrize(
    "n_channels, shape, f, r, sigma, hs",
    [
        (1, (9, 10), 1, 2, 0.0, [0.15]),
        (3, (8, 9), 1, 1, 0.05, [0.1, 0.25, 0.6]),
        (1, (7, 8), 0, 2, 0.02, [0.1, 0.3, 1.0]),
        (2, (3, 4), 2, 3, 0.0, [0.2]),  # smaller than the patch and the window
    ],
)
def test_2d_matches_reference(rng, method, n_channels, shape, f, r, sigma, hs):
    padded = padded_image(rng, method, n_channels, shape, (f, f), (r, r))
    expected = ORACLES[method](padded, (f, f), (r, r), sigma, hs)
    got = METHODS[method](padded, (f, f), (r, r), sigma, hs)
    assert got.shape == (len(hs), n_channels, *shape) and got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=0, atol=TOLERANCE)


@device
@pytest.mark.parametrize("method", ["pixel", "patch"])
@pytest.mark.parametrize(
    "n_channels, shape, f, r, sigma, hs",
    [
        (1, (4, 5, 6), (1, 1, 1), (1, 1, 1), 0.05, [0.1, 0.3, 0.8]),
        (3, (3, 4, 5), (0, 1, 1), (1, 1, 1), 0.0, [0.3]),  # patch radius 0 on an axis
        (1, (5, 3, 4), (1, 0, 2), (2, 1, 0), 0.02, [0.2, 0.5, 1.5]),  # anisotropic, r = 0
        (3, (2, 3, 2), (1, 1, 1), (2, 2, 2), 0.03, [0.4]),  # smaller than the window
        (1, (7, 9), (1, 2), (2, 1), 0.0, [0.25, 0.5, 1.0]),  # anisotropic 2-D
        (3, (11,), (2,), (3,), 0.05, [0.3]),  # 1-D
    ],
)
def test_nd_matches_oracle(rng, method, n_channels, shape, f, r, sigma, hs):
    padded = padded_image(rng, method, n_channels, shape, f, r)
    expected = ORACLES[method](padded, f, r, sigma, hs)
    got = METHODS[method](padded, f, r, sigma, hs)
    assert got.shape == (len(hs), n_channels, *shape) and got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=0, atol=TOLERANCE)


@device
@pytest.mark.parametrize("method", ["pixel", "patch"])
def test_batches_and_tiles_match_one_run(rng, method):
    """Several shift batches (patchwise: the second pass recomputes distances) and tiles."""
    f, r, hs = (1, 1, 0), (1, 1, 1), [0.2, 0.6]
    padded = padded_image(rng, method, 2, (5, 3, 4), f, r)
    whole = METHODS[method](padded, f, r, 0.05, hs)
    np.testing.assert_allclose(whole, ORACLES[method](padded, f, r, 0.05, hs), atol=TOLERANCE)
    # 27 shifts in batches of 4 (a partial last batch); tiles of 2 slices (a partial last tile).
    batched = METHODS[method](padded, f, r, 0.05, hs, batch=4)
    np.testing.assert_allclose(batched, whole, rtol=0, atol=1e-6)
    tiled = METHODS[method](padded, f, r, 0.05, hs, tile=2)
    np.testing.assert_array_equal(tiled, whole)  # each tile repeats the same arithmetic


@device
@pytest.mark.parametrize("method", ["pixel", "patch"])
@pytest.mark.parametrize("shape, f, r", [((7, 5), (1, 2), (2, 1)), ((9,), (1,), (2,))])
def test_tiles_cut_the_first_spatial_axis_of_2d_and_1d_images(
    rng, monkeypatch, method, shape, f, r
):
    padded = padded_image(rng, method, 3, shape, f, r)
    whole = METHODS[method](padded, f, r, 0.02, [0.3, 0.9])
    np.testing.assert_allclose(whole, ORACLES[method](padded, f, r, 0.02, [0.3, 0.9]), atol=1e-4)
    tiles = []
    run = ndim._Plan.run

    def spy(plan, cuda, kernels, piece, tile_shape, *args):
        tiles.append(tile_shape)
        return run(plan, cuda, kernels, piece, tile_shape, *args)

    monkeypatch.setattr(ndim._Plan, "run", spy)
    tiled = METHODS[method](padded, f, r, 0.02, [0.3, 0.9], tile=3)
    # 3-D views (1, H, W) and (1, 1, L): the first input axis is cut in 3 + 3 + rest.
    lead = 3 - len(shape)
    assert tiles == [(1,) * lead + (n,) + shape[1:] for n in (3, 3, shape[0] - 6)]
    np.testing.assert_array_equal(tiled, whole)


@device
@pytest.mark.parametrize("method", ["pixel", "patch"])
# patch_sum · scale overflows float32 to inf on purpose (w = exp(−inf) = 0); the
# simulator's NumPy scalars warn about it, a GPU does not.
@pytest.mark.filterwarnings("ignore:.*overflow encountered in scalar multiply:RuntimeWarning")
def test_tiny_h_keeps_pixels_finite(rng, method):
    f, r = (1, 1), (1, 1)
    padded = padded_image(rng, method, 1, (6, 7), f, r)
    got = METHODS[method](padded, f, r, 0.0, [1e-6, 1e-30])
    assert np.isfinite(got).all()
    pad = padding(method, f, r)
    image = padded[:, pad[0] : -pad[0], pad[1] : -pad[1]]
    # Only the centre weights survive: every estimate is the noisy image.
    np.testing.assert_allclose(got, np.stack([image, image]), atol=1e-6)


@pytest.mark.skipif(os.environ.get("NUMBA_ENABLE_CUDASIM") != "1", reason="simulator off")
def test_simulator_run_really_runs_the_kernels():
    """The simulator run fails, rather than skipping every device test, if it cannot start."""
    assert REASON is None, f"NUMBA_ENABLE_CUDASIM=1 but the CUDA backend is unavailable: {REASON}"


@pytest.mark.parametrize(
    "args, message",
    [
        ((np.zeros((1, 5, 5), np.float32), (1,), (1, 1), 0.0, [1.0]), "one radius per axis"),
        ((np.zeros((1, 3, 3, 3, 3), np.float32), (0,) * 4, (1,) * 4, 0.0, [1.0]), "1 to 3"),
        ((np.zeros((1, 5, 5), np.float32), (1, 1), (1, -1), 0.0, [1.0]), ">= 0"),
        ((np.zeros((1, 5, 5), np.float32), (1, 1), (1, 1), 0.0, [0.0]), "strengths > 0"),
        ((np.zeros((1, 4, 5), np.float32), (1, 1), (1, 1), 0.0, [1.0]), "too small"),
    ],
)
def test_bad_arguments_are_refused_before_any_device_work(args, message):
    with pytest.raises(ValueError, match=message):
        ndim.pixelwise(*args)


def test_weight_constants():
    scale, offset = weight_constants([0.5, 2.0], 0.1, (1, 0, 2), 3)
    assert scale.dtype == offset.dtype == np.float32
    np.testing.assert_allclose(scale, [1 / (3 * 15 * 0.25), 1 / (3 * 15 * 4.0)], rtol=1e-6)
    np.testing.assert_allclose(offset, [0.02 / 0.25, 0.02 / 4.0], rtol=1e-6)


def test_memory_plan_tiles_and_batches():
    """A small free-memory figure cuts the output into slabs and the shifts into batches."""
    plan = ndim._Plan("patch", 3, 5, (1, 2, 2), (2, 3, 3), (4, 7, 7), 0)
    shape = (64, 40, 50)
    fixed, per_shift = plan.sizes(shape)
    assert plan.fit(shape, float("inf"), None, None) == (64, 7 * 7 * 5)
    free = 4 * (fixed + 10 * per_shift) / ndim.MEMORY_FRACTION
    assert plan.fit(shape, free, None, None) == (64, 10)
    rows, batch = plan.fit(shape, 4 * (fixed + per_shift) / 3 / ndim.MEMORY_FRACTION, None, None)
    assert rows < 64 and batch >= 1
    assert sum(plan.sizes((rows, 40, 50))) <= (fixed + per_shift) / 3
    # A 2-D image (3-D view (1, H, W)) is cut along H, its first spatial axis.
    flat = ndim._Plan("pixel", 1, 1, (0, 1, 1), (0, 2, 2), (0, 3, 3), 1)
    fixed, per_shift = flat.sizes((1, 40, 50))
    rows, _ = flat.fit((1, 40, 50), 4 * (fixed + per_shift) / 2 / ndim.MEMORY_FRACTION, None, None)
    assert rows < 40 and flat.cut((1, 40, 50), rows) == (1, rows, 50)
    assert plan.fit(shape, float("inf"), 5, 3) == (5, 3)
    with pytest.raises(NLMeansError, match="not enough free CUDA device memory"):
        plan.fit(shape, 1000.0, None, None)


def test_importing_the_module_does_not_import_numba_cuda():
    code = (
        "import sys, nlmeans.backends.cuda._ndim; "
        "assert 'numba.cuda' not in sys.modules, 'imported'"
    )
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root)


def kernel_signatures():
    """{kernel name: argument types}, as the host launches them."""
    from numba import types as nb

    a, i, x = nb.float32[::1], nb.int64, nb.float32
    shifts = nb.int32[:, ::1]
    return {
        "fill_zero": (a, i),
        "squared_differences_axis0": (a, i, i, i, i, shifts, *[i] * 9, a),
        "box_sum": (a, *[i] * 6, a),
        "pixel_accumulate": (a, i, i, i, i, shifts, *[i] * 9, a, a, a, i, a, a),
        "pixel_normalise": (a, a, i, i, i),
        "patch_normalisation": (a, *[i] * 5, a, a, i, a),
        "patch_weights": (a, *[i] * 5, a, a, i, a, x, a),
        "patch_aggregate": (a, i, i, i, i, shifts, *[i] * 9, a, i, a),
    }


COMPILER_REASON = ptx_compiler_reason()


@pytest.mark.skipif(COMPILER_REASON is not None, reason=f"{COMPILER_REASON}")
@pytest.mark.parametrize("name", sorted(kernel_signatures()))
def test_kernels_compile_to_float32_ptx(monkeypatch, name):
    """What the simulator cannot check: the kernels type and compile for a real GPU (sm_90)."""
    import numba.cuda.dispatcher
    from numba import cuda

    from nlmeans.backends.cuda import _ndim_kernels as ndim_kernels

    # A machine without a GPU answers the current device's compute capability for an H100.
    monkeypatch.setattr(
        numba.cuda.dispatcher,
        "get_current_device",
        lambda: types.SimpleNamespace(compute_capability=(9, 0)),
        raising=False,
    )
    kernel = getattr(ndim_kernels, name)
    ptx, _ = cuda.compile_ptx(kernel.py_func, kernel_signatures()[name], cc=(9, 0))
    assert ".f64" not in ptx  # float32 arithmetic only
    if name in ("pixel_accumulate", "patch_normalisation", "patch_weights"):
        assert "ex2.approx" in ptx  # exp of a float32 (no double-precision exp)


@pytest.mark.skipif(
    os.environ.get("NUMBA_ENABLE_CUDASIM") == "1", reason="the simulator never warns about grids"
)
def test_small_grids_launch_without_numba_performance_warning():
    """numba.cuda warns when a grid has under 128 blocks; the launcher silences it."""
    kernels = pytest.importorskip(
        "nlmeans.backends.cuda._ndim_kernels", reason="numba.cuda is missing"
    )

    class ConfigureOnly:
        """Configures the real kernel (where numba.cuda warns) and launches nothing."""

        def __getitem__(self, launch):
            kernels.fill_zero[launch]
            return lambda *args: None

    with pytest.warns(Warning, match=nlm_cuda.LOW_OCCUPANCY_WARNING):
        ConfigureOnly()[1, ndim.THREADS]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ndim._launch(ConfigureOnly(), 10)
