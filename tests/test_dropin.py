"""nlmeans.denoise_nl_means: scikit-image's interface (shapes, dtypes, units) and results.

Every behavioural test runs on the CPU backend and, when a GPU or Numba's CUDA
simulator is available (NUMBA_ENABLE_CUDASIM=1), on the CUDA backend with tiny
images (each simulated GPU thread is a Python thread).
"""

import numba
import numpy as np
import pytest

import nlmeans
from nlmeans import denoise_nl_means
from nlmeans.backends.cuda import _launcher as launcher
from nlmeans.dropin import fast_mode_h
from nlmeans.errors import NLMeansError

CUDA_REASON = launcher.availability()
BACKENDS = [
    "cpu",
    pytest.param(
        "cuda",
        marks=[
            pytest.mark.cuda,
            pytest.mark.skipif(
                CUDA_REASON is not None, reason=f"no GPU or simulator ({CUDA_REASON})"
            ),
        ],
    ),
]


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


def side(backend: str) -> int:
    """Image side: small on the CPU, tiny in the CUDA simulator."""
    return 24 if backend == "cpu" else 8


def smooth(shape, seed=0):
    """A smooth test image in [0.2, 0.8] plus white noise of 0.1 (float64), and the clean one."""
    grids = np.meshgrid(*[0.12 * np.arange(n) for n in shape], indexing="ij")
    clean = 0.5 + 0.3 * np.sin(sum(grids)) * np.cos(grids[0])
    noisy = clean + np.random.default_rng(seed).normal(0, 0.1, shape)
    return clean, noisy


def psnr(clean, image):
    return 10 * np.log10(1.0 / np.mean((clean - image) ** 2))


# ---------------------------------------------------------------- shapes


@pytest.mark.parametrize("fast_mode", [True, False])
def test_2d_gray(backend, fast_mode):
    n = side(backend)
    clean, noisy = smooth((n, n))
    out = denoise_nl_means(noisy, 3, 2, h=0.08, sigma=0.1, fast_mode=fast_mode, backend=backend)
    assert out.shape == noisy.shape and out.dtype == np.float64
    assert np.mean((out - clean) ** 2) < 0.7 * np.mean((noisy - clean) ** 2)


@pytest.mark.parametrize("channels", [2, 3, 6])
def test_2d_channels(backend, channels):
    n = side(backend)
    clean, noisy = smooth((n, n, channels))
    out = denoise_nl_means(noisy, 3, 2, h=0.08, sigma=0.1, channel_axis=-1, backend=backend)
    assert out.shape == noisy.shape
    assert psnr(clean, out) > psnr(clean, noisy) + 1.5


@pytest.mark.parametrize("fast_mode", [True, False])
def test_3d_gray(backend, fast_mode):
    n = side(backend) // 2
    clean, noisy = smooth((6, n, n))
    out = denoise_nl_means(noisy, 3, 1, h=0.1, sigma=0.1, fast_mode=fast_mode, backend=backend)
    assert out.shape == noisy.shape
    assert psnr(clean, out) > psnr(clean, noisy) + 1.5


def test_3d_channels(backend):
    n = side(backend) // 2
    clean, noisy = smooth((5, n, n, 3))
    out = denoise_nl_means(noisy, 3, 1, h=0.1, sigma=0.1, channel_axis=-1, backend=backend)
    assert out.shape == noisy.shape
    assert psnr(clean, out) > psnr(clean, noisy) + 1.5


@pytest.mark.parametrize("channels", [None, 2])
@pytest.mark.parametrize("fast_mode", [True, False])
def test_4d(channels, fast_mode):
    shape = (4, 5, 10, 10) + (() if channels is None else (channels,))
    clean, noisy = smooth(shape)
    axis = None if channels is None else -1
    out = denoise_nl_means(noisy, 3, 1, h=0.1, sigma=0.1, fast_mode=fast_mode, channel_axis=axis)
    assert out.shape == noisy.shape
    assert psnr(clean, out) > psnr(clean, noisy) + 1.5


@pytest.mark.cuda
def test_4d_on_cuda_is_refused_clearly():
    noisy = smooth((3, 3, 4, 4))[1]
    with pytest.raises(NLMeansError, match="up to 3 spatial axes"):
        denoise_nl_means(noisy, 3, 1, h=0.1, backend="cuda")


@pytest.mark.parametrize(
    "shape, axis",
    [((16,), None), ((2, 3, 4, 5, 6), None), ((16, 3), -1), ((2, 3, 4, 5, 6, 3), -1)],
)
def test_wrong_dimensions_raise_not_implemented(shape, axis):
    with pytest.raises(NotImplementedError, match="2-D, 3-D or 4-D"):
        denoise_nl_means(np.zeros(shape), channel_axis=axis)


def test_channel_axis_first_and_last_agree(backend):
    n = side(backend)
    _, noisy = smooth((n, n, 3))
    last = denoise_nl_means(noisy, 3, 2, h=0.08, sigma=0.1, channel_axis=-1, backend=backend)
    first = denoise_nl_means(
        np.moveaxis(noisy, -1, 0), 3, 2, h=0.08, sigma=0.1, channel_axis=0, backend=backend
    )
    np.testing.assert_allclose(np.moveaxis(first, 0, -1), last, atol=1e-6)


# ---------------------------------------------------------------- dtypes and units


@pytest.mark.parametrize(
    "dtype, expected",
    [(np.float16, np.float32), (np.float32, np.float32), (np.float64, np.float64)],
)
def test_float_dtypes(backend, dtype, expected):
    n = side(backend)
    _, noisy = smooth((n, n))
    out = denoise_nl_means(noisy.astype(dtype), 3, 2, h=0.08, sigma=0.1, backend=backend)
    assert out.dtype == expected
    reference = denoise_nl_means(noisy.astype(dtype).astype(np.float64), 3, 2, h=0.08, sigma=0.1)
    np.testing.assert_allclose(out, reference, atol=1e-5)


def test_float32_and_float64_agree(backend):
    n = side(backend)
    _, noisy = smooth((n, n))
    a = denoise_nl_means(noisy.astype(np.float32), 3, 2, h=0.08, backend=backend)
    b = denoise_nl_means(noisy.astype(np.float64), 3, 2, h=0.08, backend=backend)
    assert a.dtype == np.float32 and b.dtype == np.float64
    np.testing.assert_allclose(a, b, atol=1e-5)


def test_integers_are_scaled_like_img_as_float(backend):
    n = side(backend)
    _, noisy = smooth((n, n))
    u8 = np.clip(noisy * 255, 0, 255).astype(np.uint8)
    out = denoise_nl_means(u8, 3, 2, h=0.08, sigma=0.1, backend=backend)
    assert out.dtype == np.float64 and out.max() <= 1.0
    want = denoise_nl_means(u8 / 255.0, 3, 2, h=0.08, sigma=0.1, backend=backend)
    np.testing.assert_allclose(out, want, atol=1e-6)
    # Signed integers to [−1, 1], as img_as_float.
    i16 = (u8.astype(np.int16) - 128) * 200
    out = denoise_nl_means(i16, 3, 2, h=0.08, backend=backend)
    np.testing.assert_allclose(
        out, denoise_nl_means(i16 / 32767.0, 3, 2, h=0.08, backend=backend), atol=1e-6
    )


def test_preserve_range(backend):
    n = side(backend)
    _, noisy = smooth((n, n))
    u8 = np.clip(noisy * 255, 0, 255).astype(np.uint8)
    out = denoise_nl_means(u8, 3, 2, h=20.0, sigma=25.0, preserve_range=True, backend=backend)
    assert out.dtype == np.float64 and out.max() > 1.5
    want = denoise_nl_means(u8.astype(np.float64), 3, 2, h=20.0, sigma=25.0, backend=backend)
    np.testing.assert_allclose(out, want, atol=1e-4)
    scaled = denoise_nl_means(u8, 3, 2, h=20 / 255, sigma=25 / 255, backend=backend)
    np.testing.assert_allclose(out / 255, scaled, atol=1e-5)


def test_tiny_h_does_not_denoise(backend):
    n = side(backend)
    _, noisy = smooth((n, n))
    for fast_mode in (True, False):
        out = denoise_nl_means(noisy, 3, 2, h=1e-6, fast_mode=fast_mode, backend=backend)
        np.testing.assert_allclose(out, noisy, atol=1e-6)


def test_denoising_raises_psnr_and_lowers_noise(backend):
    n = side(backend) * 2
    clean, noisy = smooth((n, n), seed=4)
    for fast_mode in (True, False):
        out = denoise_nl_means(noisy, 5, 3, h=0.08, sigma=0.1, fast_mode=fast_mode, backend=backend)
        assert psnr(clean, out) > psnr(clean, noisy) + 3
        assert np.std(out - clean) < 0.6 * np.std(noisy - clean)


# ---------------------------------------------------------------- the semantics


def test_modes_are_the_front_door_with_exact_parameters(backend):
    n = side(backend)
    _, noisy = smooth((n, n))
    # Slow mode: the Gaussian patch kernel, f = patch_size // 2, h as given.
    slow = denoise_nl_means(noisy, 5, 2, h=0.1, sigma=0.05, fast_mode=False, backend=backend)
    want = nlmeans.denoise(noisy, 0.1, 0.05, f=2, r=2, backend="reference", patch_kernel="gaussian")
    np.testing.assert_allclose(slow, want, atol=1e-4)
    # Fast mode: uniform, h scaled by (s / (s − 1))^(D/2) (scikit-image's normalisation).
    fast = denoise_nl_means(noisy, 5, 2, h=0.1, sigma=0.05, backend=backend)
    want = nlmeans.denoise(noisy, 0.1 * 5 / 4, 0.05, f=2, r=2, backend="reference")
    np.testing.assert_allclose(fast, want, atol=1e-4)


def test_fast_mode_h():
    assert fast_mode_h(0.1, 7, 2) == pytest.approx(0.1 * 7 / 6)
    assert fast_mode_h(0.1, 5, 3) == pytest.approx(0.1 * (5 / 4) ** 1.5)
    assert fast_mode_h(0.1, 1, 2) == 0.1


@pytest.mark.parametrize("fast_mode", [True, False])
def test_even_patch_size_is_the_next_odd_one(fast_mode):
    _, noisy = smooth((20, 20))
    six = denoise_nl_means(noisy, 6, 2, h=0.1, fast_mode=fast_mode)
    seven = denoise_nl_means(noisy, 7, 2, h=0.1, fast_mode=fast_mode)
    np.testing.assert_array_equal(six, seven)


def test_invalid_parameters():
    image = np.zeros((8, 8))
    for kwargs in ({"patch_size": 0}, {"patch_distance": -1}, {"h": 0.0}, {"sigma": -1.0},
                   {"patch_size": 2.5}):  # fmt: skip
        with pytest.raises(ValueError):
            denoise_nl_means(image, **kwargs)
    with pytest.raises(ValueError, match="channel_axis"):
        denoise_nl_means(np.zeros((8, 8, 3)), channel_axis=3)


def test_threads_are_restored():
    before = numba.get_num_threads()
    denoise_nl_means(smooth((12, 12))[1], 3, 2, h=0.1, threads=1)
    assert numba.get_num_threads() == before


def test_top_level_export():
    import nlmeans.dropin

    assert nlmeans.denoise_nl_means is nlmeans.dropin.denoise_nl_means
    assert "denoise_nl_means" in nlmeans.__all__


# ---------------------------------------------------------------- against scikit-image

#: Mean absolute difference from scikit-image (values in [0, 1], noise 0.08) within which
#: the results agree: everywhere, either mode (fast: centred patch, h rescaled), and,
#: in slow mode, on the pixels at least patch_distance from the borders, where
#: scikit-image's search window (clipped to the image) is nlmeans' (mirrored); it
#: also cuts off small weights. See the Notes of denoise_nl_means.
TOLERANCE = 0.012
SLOW_INTERIOR_TOLERANCE = 0.003

SKIMAGE_CASES = [
    # (shape, channel_axis, patch_size, patch_distance, fast_mode)
    ((48, 48), None, 5, 4, True),
    ((48, 48), None, 6, 4, True),
    ((48, 48, 3), -1, 5, 4, True),
    ((6, 20, 20), None, 3, 2, True),
    ((48, 48), None, 5, 4, False),
    ((48, 48, 3), -1, 7, 3, False),
    ((6, 20, 20), None, 3, 2, False),
]


@pytest.mark.parametrize("shape, axis, size, distance, fast_mode", SKIMAGE_CASES)
def test_agrees_with_scikit_image(backend, shape, axis, size, distance, fast_mode):
    from skimage.restoration import denoise_nl_means as skimage_nlm

    if backend == "cuda":
        shape = tuple(min(n, 10) for n in shape)
        distance = min(distance, 2)
    _, noisy = smooth(shape, seed=7)
    noisy = np.clip(noisy, 0, 1)
    kwargs = dict(h=0.07, sigma=0.08, fast_mode=fast_mode, channel_axis=axis)
    theirs = skimage_nlm(noisy, size, distance, **kwargs)
    ours = denoise_nl_means(noisy, size, distance, backend=backend, **kwargs)
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
    difference = np.abs(ours - theirs)
    assert difference.mean() < TOLERANCE
    if not fast_mode:
        spatial = len(shape) - (axis is not None)
        inside = tuple(slice(distance, n - distance) for n in shape[:spatial])
        assert difference[inside].mean() < SLOW_INTERIOR_TOLERANCE
