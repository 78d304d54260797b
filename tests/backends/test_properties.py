"""Property-based invariants of ``nlmeans.denoise`` (hypothesis).

Derandomised with a modest number of small examples, so that CI is fast and
deterministic; the properties are drawn over every (backend, method) pair the
backend registry offers here (CUDA too where a GPU is usable).
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import nlmeans
from nlmeans.backends import REGISTRY

PROFILE = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

DTYPES = (np.uint8, np.uint16, np.float32, np.float64)


@st.composite
def images(draw, constant=False, wild=False, rgb=False):
    """(image, channel_axis): 1..9 px sides, gray or 1..4 channels on axis 0 or -1.

    ``wild`` float images take any value, NaN, Inf and 1e300 included; ``rgb``
    images have 3 channels.
    """
    dtype = np.dtype(draw(st.sampled_from(DTYPES)))
    height, width = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    channels = 3 if rgb else draw(st.sampled_from([None, 1, 2, 3, 4]))
    axis = None if channels is None else draw(st.sampled_from([0, -1]))
    shape = (height, width) if channels is None else (height, width, channels)
    if axis == 0:
        shape = (channels, height, width)
    if dtype.kind == "u":
        elements = st.integers(0, np.iinfo(dtype).max)
    elif wild:
        elements = st.floats(width=8 * dtype.itemsize)
    else:
        elements = st.floats(-1e4, 1e4, width=8 * dtype.itemsize, allow_subnormal=False)
    if constant:
        return np.full(shape, draw(elements), dtype), axis
    return draw(hnp.arrays(dtype, shape, elements=elements)), axis


#: Every (backend, method) pair usable here: the GPU joins where one is present. The NL-Bayes
#: oracle is left out: a literal transcription taking seconds per 9×9 image, it is checked
#: against the CPU kernels in test_bayes.py, and the CPU kernels take the properties here.
KERNELS = sorted(
    (name, method)
    for name, backend in REGISTRY.items()
    if backend.availability() is None
    for method in backend.methods
    if (name, method) != ("reference", "bayes")
)

valid_params = st.builds(
    lambda numbers, kernel: {**numbers, "backend": kernel[0], "method": kernel[1]},
    st.fixed_dictionaries(
        {
            "h": st.none() | st.floats(1e-3, 1e4),
            "sigma": st.none() | st.floats(0, 1e3),
            "f": st.none() | st.integers(0, 3),
            "r": st.none() | st.integers(0, 4),
        }
    ),
    st.sampled_from(KERNELS),
)

any_value = (
    st.none()
    | st.integers(-5, 10**6)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=3)
    | st.booleans()
)
any_params = st.fixed_dictionaries(
    {
        "h": any_value,
        "sigma": any_value,
        "f": any_value,
        "r": any_value,
        "method": st.sampled_from(["pixel", "patch", "nope", None]),
        "backend": st.sampled_from(["cpu", "reference"]),
        "h_chroma": st.none() | any_value,
    }
)


def channel_ranges(image, axis):
    planes = image[np.newaxis] if axis is None else np.moveaxis(image, axis, 0)
    return planes.min(axis=(1, 2)), planes.max(axis=(1, 2)), planes


def check_shape_dtype_finite_and_ranges(image, axis, result):
    """The result keeps the image's shape and dtype, is finite, and each channel its range."""
    assert result.shape == image.shape and result.dtype == image.dtype
    assert np.isfinite(result).all()
    low, high, _ = channel_ranges(image, axis)
    out_low, out_high, _ = channel_ranges(result, axis)
    assert (out_low >= low).all() and (out_high <= high).all()


NO_PARAMS = {"h": None, "sigma": None, "f": None, "r": None, "method": None, "backend": "cpu"}


@PROFILE
@given(images(wild=True), any_params)
# Magnitudes whose squares overflow float32 (the CPU kernel once returned NaN for them).
@example((np.array([[1e20, 0.0, 5.0], [3.0, 2.0, 1.0]]), None), NO_PARAMS)
@example((np.full((4, 4), 1e30, np.float32) * np.array([1, -1, 0, 0], np.float32), None), NO_PARAMS)
@example((np.array([[np.nan, 1.0]]), None), NO_PARAMS)
def test_denoise_returns_or_raises_nlmeans_error(case, params):
    image, axis = case
    try:
        result = nlmeans.denoise(image, channel_axis=axis, **params)
    except nlmeans.NLMeansError:
        return
    assert result.shape == image.shape and result.dtype == image.dtype
    assert np.isfinite(result).all()  # no NaN or Inf ever leaves for finite input


@PROFILE
@given(images(), valid_params)
def test_output_shape_dtype_finite_and_within_each_channels_range(case, params):
    image, axis = case
    result = nlmeans.denoise(image, channel_axis=axis, **params)
    check_shape_dtype_finite_and_ranges(image, axis, result)


@PROFILE
@given(images(constant=True), valid_params)
def test_constant_image_comes_back_unchanged(case, params):
    image, axis = case
    np.testing.assert_array_equal(nlmeans.denoise(image, channel_axis=axis, **params), image)


@PROFILE
@given(images(), valid_params)
def test_input_array_is_never_modified(case, params):
    image, axis = case
    before = image.copy()
    image.flags.writeable = False  # any in-place write would raise
    nlmeans.denoise(image, channel_axis=axis, **params)
    np.testing.assert_array_equal(image, before)


#: h_chroma applies to the NLM methods; NL-Bayes refuses it (it filters colour in its own planes).
nlm_params = valid_params.filter(lambda params: params["method"] != "bayes")


@PROFILE
@given(images(rgb=True), nlm_params, st.floats(1e-3, 1e4))
def test_luminance_chrominance_output_is_finite_and_within_each_channels_range(
    case, params, h_chroma
):
    image, axis = case
    result = nlmeans.denoise(image, channel_axis=axis, h_chroma=h_chroma, **params)
    check_shape_dtype_finite_and_ranges(image, axis, result)


@PROFILE
@given(images(rgb=True, constant=True), nlm_params, st.floats(1e-3, 1e4))
def test_constant_rgb_image_comes_back_unchanged_with_h_chroma(case, params, h_chroma):
    image, axis = case
    result = nlmeans.denoise(image, channel_axis=axis, h_chroma=h_chroma, **params)
    np.testing.assert_array_equal(result, image)


@pytest.mark.parametrize("dtype", DTYPES)
def test_properties_hold_on_a_noisy_photo_sized_example(dtype, rng):
    """One larger, non-hypothesis example per dtype: the same checks at 64x48x3."""
    top = 255 if dtype == np.uint8 else 65535 if dtype == np.uint16 else 1.0
    image = np.clip(rng.normal(top / 2, top / 6, (64, 48, 3)), 0, top).astype(dtype)
    before = image.copy()
    result = nlmeans.denoise(image, channel_axis=-1)
    np.testing.assert_array_equal(image, before)
    assert result.dtype == dtype and np.isfinite(result).all()
    low, high, planes = channel_ranges(image, -1)
    out_low, out_high, out_planes = channel_ranges(result, -1)
    assert (out_low >= low).all() and (out_high <= high).all()
    assert out_planes.astype(float).std() < planes.astype(float).std()
