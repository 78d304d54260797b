"""The documented float bound of ``nlmeans.dask.denoise`` against the in-memory denoise,
over random chunkings, methods, patch kernels, 2-D, 3-D and color arrays (hypothesis)."""

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nlmeans

da = pytest.importorskip("dask.array")
nd = pytest.importorskip("nlmeans.dask")

#: The bound the docstring of ``nlmeans.dask.denoise`` and docs/dask.md state: float
#: results within this fraction of the largest magnitude in the array.
BOUND = 4e-6

PROFILE = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@st.composite
def cases(draw):
    kind = draw(st.sampled_from(["2d", "3d", "rgb"]))
    if kind == "2d":
        shape, axis = tuple(draw(st.integers(6, 48)) for _ in range(2)), None
    elif kind == "3d":
        shape, axis = tuple(draw(st.integers(4, 12)) for _ in range(3)), None
    else:
        shape, axis = (draw(st.integers(6, 32)), draw(st.integers(6, 32)), 3), -1
    spatial = shape[:-1] if axis is not None else shape
    chunks = tuple(draw(st.integers(1, n)) for n in spatial) + ((3,) if axis is not None else ())
    scale = 10.0 ** draw(st.integers(-3, 4))
    offset = draw(st.sampled_from([0.0, 0.0, -1.0, -0.5, 3.0, 100.0, -1000.0]))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    seed = draw(st.integers(0, 2**16))
    values = scale * (offset + np.random.default_rng(seed).random(shape))
    options = {
        "h": scale * draw(st.sampled_from([0.05, 0.2, 0.5])),
        "sigma": scale * draw(st.sampled_from([0.05, 0.2])),
        "f": draw(st.integers(1, 3)),
        "r": draw(st.integers(1, 3 if kind == "3d" else 6)),
        "method": draw(st.sampled_from(["pixel", "patch"])),
        "patch_kernel": draw(st.sampled_from(["uniform", "gaussian"])),
        "channel_axis": axis,
    }
    return values.astype(dtype), chunks, options


@PROFILE
@given(cases())
def test_chunked_floats_within_the_documented_bound(case):
    image, chunks, options = case
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # chunks thinner than the overlap
        expected = nlmeans.denoise(image, **options)
        lazy = nd.denoise(da.from_array(image, chunks=chunks), **options)
        chunked = lazy.compute(scheduler="synchronous")
    assert chunked.dtype == expected.dtype and chunked.shape == expected.shape
    difference = np.abs(chunked.astype(np.float64) - expected.astype(np.float64)).max()
    assert difference <= BOUND * np.abs(image).max(), (difference, chunks, options)
