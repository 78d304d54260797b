"""The Numba CPU backend against the NumPy oracle."""

import numpy as np
import pytest
from _support import PIXEL_CASES, oracle_estimate, pad_stack

from nlmeans import NLMeansError, Params, denoise
from nlmeans._arrays import pad_reflect
from nlmeans.backends import cpu
from nlmeans.backends.cpu import _fastexp as fastexp
from nlmeans.backends.cpu._pixelwise import TILE_COLS, TILE_ROWS, pixelwise


@pytest.mark.parametrize("shape, channel_axis, f, r, h, sigma", PIXEL_CASES)
def test_cpu_matches_reference(rng, shape, channel_axis, f, r, h, sigma):
    image = rng.random(shape).astype(np.float32)
    kwargs = dict(h=h, sigma=sigma, f=f, r=r, channel_axis=channel_axis)
    expected = denoise(image, backend="reference", **kwargs)
    got = denoise(image, backend="cpu", **kwargs)
    assert got.shape == image.shape
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-4)  # data range is 1


def test_cpu_matches_reference_in_8bit_units(rng):
    image = (rng.random((21, 19, 3)) * 255).astype(np.float64)
    kwargs = dict(h=12.0, sigma=10.0, f=2, r=3, channel_axis=-1)
    expected = denoise(image, backend="reference", **kwargs)
    got = denoise(image, backend="cpu", **kwargs)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-4 * 255)


def test_tiny_h_keeps_pixels_finite(rng):
    image = rng.random((15, 16)).astype(np.float32)
    out = denoise(image, h=1e-6, sigma=0.0, f=1, r=2, backend="cpu")
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out, image, atol=1e-6)  # only the centre weight survives


@pytest.mark.parametrize("n_channels", [1, 3, 4])
@pytest.mark.parametrize("tile_rows, tile_cols", [(1, 1), (3, 5), (4, 64), (64, 4)])
def test_tile_borders_match_reference(rng, n_channels, tile_rows, tile_cols):
    # Small tiles put tile borders everywhere: each tile computes its weights
    # W_t on the ty rows above it and |tx| columns beside it, and uses them for
    # the symmetric term W_t(p − t) u(p − t).
    params = Params(f=2, r=3, h=0.25, sigma=0.03)
    padded = pad_stack(rng.random((n_channels, 11, 14)), params.f, params.r)
    expected = oracle_estimate(padded, (2, 2), (3, 3), params)
    got = pixelwise(padded, 2, 3, params.sigma, params.h, tile_rows, tile_cols)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-4)


def test_wide_image_several_column_tiles(rng):
    # Wider than one default tile (TILE_COLS) and taller than TILE_ROWS.
    params = Params(f=1, r=2, h=0.3, sigma=0.0)
    shape = (1, TILE_ROWS + 3, TILE_COLS + 9)
    padded = pad_stack(rng.random(shape), params.f, params.r)
    expected = oracle_estimate(padded, (1, 1), (2, 2), params)
    got = pixelwise(padded, params.f, params.r, params.sigma, params.h)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-4)


@pytest.mark.parametrize("f", [0, 1, 2, 3, 4, 5, 7])
def test_symmetric_weights_in_16bit_units(rng, f):
    # Raw uint16-scale values: large squared differences in the float32 running
    # sums, and weights spanning many orders of magnitude down to underflow.
    image = rng.random((12, 17)) * 65535.0
    kwargs = dict(h=0.15 * 65535, sigma=0.05 * 65535, f=f, r=3)
    expected = denoise(image, backend="reference", **kwargs)
    got = denoise(image, backend="cpu", **kwargs)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-4 * 65535)


def test_fast_exp_is_accurate():
    # The kernels' 2^y (polynomial and exponent bits) against float64 exp.
    y = np.linspace(float(fastexp.EXP2_ARG_MIN), 0.0, 20001).astype(np.float32)
    got = np.array([fastexp.exp2(v) for v in y[::97]], dtype=np.float64)
    exact = np.exp2(y[::97].astype(np.float64))
    assert np.max(np.abs(got / exact - 1.0)) < 5e-7


@pytest.mark.parametrize("shape", [(1, 1, 1), (1, 2, 3), (3, 5, 4), (2, 17, 23)])
@pytest.mark.parametrize("pad", [0, 1, 3, 11])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float64])
def test_pad_reflect_is_np_pad_in_float32(rng, shape, pad, dtype):
    # The front door pads straight into one float32 buffer (no float32 copy of
    # the input first); it must give np.pad's reflection, repeated for images
    # smaller than the margin, from a strided channels-last view too.
    image = (rng.random(shape[1:] + shape[:1]) * 250).astype(dtype)
    planes = np.moveaxis(image, -1, 0)
    expected = np.pad(planes.astype(np.float32), ((0, 0), (pad, pad), (pad, pad)), mode="reflect")
    got = pad_reflect(planes, pad)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, expected)


def test_threads_give_the_same_result_and_bad_counts_are_refused(rng):
    import numba

    image = rng.random((70, 40)).astype(np.float32)  # two tiles of rows
    kwargs = dict(h=0.2, sigma=0.0, f=1, r=3, backend="cpu")
    most = numba.config.NUMBA_NUM_THREADS
    # Bit for bit, the patchwise tiles and SURE's choice too: the tiles follow the
    # machine's thread pool, not the threads in use.
    patch = dict(kwargs, method="patch")
    tuned = dict(sigma=0.1, backend="cpu", tune=True, return_params=True)
    try:
        cpu.set_threads(1)
        one = denoise(image, **kwargs)
        one_patch, (one_tuned, one_params) = denoise(image, **patch), denoise(image, **tuned)
        cpu.set_threads(most)
        np.testing.assert_array_equal(denoise(image, **kwargs), one)
        np.testing.assert_array_equal(denoise(image, **patch), one_patch)
        most_tuned, most_params = denoise(image, **tuned)
        assert most_params == one_params
        np.testing.assert_array_equal(most_tuned, one_tuned)
        for bad in (0, most + 1, 1.5, True):
            with pytest.raises(NLMeansError, match="threads="):
                cpu.set_threads(bad)
    finally:
        cpu.set_threads(most)


def test_sure_tiles_and_frame_pairs_do_not_depend_on_the_threads_in_use(rng):
    import numba

    from nlmeans.backends.cpu._sure_pixel import sure_tiles

    # One tile of 64 rows: its bands of rows (each with its own running sums) follow
    # the machine's thread pool, so 1 thread gives the bits that all threads give.
    windows = rng.random((1, 1, 64 + 2 * 4, 48 + 2 * 4)).astype(np.float32)
    # A time stack's frame-pair tiles: their rows follow the thread pool too.
    stack = rng.random((3, 128, 40)).astype(np.float32)
    frames = dict(h=0.2, sigma=0.0, f=(0, 1, 1), r=(1, 3, 3), backend="cpu", tune=False)
    most = numba.config.NUMBA_NUM_THREADS
    try:
        cpu.set_threads(1)
        one = sure_tiles(windows, 1, 3, 0.1, [0.1, 0.3])
        one_stack = denoise(stack, **frames)
        cpu.set_threads(most)
        for got, expected in zip(sure_tiles(windows, 1, 3, 0.1, [0.1, 0.3]), one, strict=True):
            np.testing.assert_array_equal(got, expected)
        np.testing.assert_array_equal(denoise(stack, **frames), one_stack)
    finally:
        cpu.set_threads(most)


def test_largest_window_keeps_float32_sums_accurate(rng):
    # r = 200 (the largest allowed) with h far above the data range: every one
    # of the 401² weights is close to 1, so one float32 sum per pixel would lose
    # about 3e-4; the kernel sums each row of shifts apart first (two levels).
    params = Params(f=0, r=200, h=10.0, sigma=0.0)
    padded = pad_stack(rng.random((1, 6, 6)), params.f, params.r)
    expected = oracle_estimate(padded, (0, 0), (200, 200), params)
    got = pixelwise(padded, params.f, params.r, params.sigma, params.h)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)
