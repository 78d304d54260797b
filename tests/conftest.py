"""Shared harness: small deterministic images, the oracle comparison cases, and padded
stacks made the way the front door makes them.

Test files import the helpers with ``from conftest import ...`` (pytest puts this
folder on sys.path).
"""

import os

import numpy as np
import pytest

import nlmeans
from nlmeans._arrays import to_channels_first
from nlmeans.backends import REGISTRY, Backend, padding
from nlmeans.backends import reference as oracle

#: Oracle comparisons of the pixelwise method: (shape, channel_axis, f, r, h, sigma),
#: values in [0, 1).
PIXEL_CASES = [
    ((17, 23), None, 1, 2, 0.15, 0.0),
    ((17, 23), None, 2, 3, 0.3, 0.05),
    ((17, 23), None, 0, 4, 0.1, 0.02),
    ((3, 4), None, 2, 5, 0.2, 0.0),  # smaller than the patch and the window
    ((1, 1), None, 1, 2, 0.2, 0.0),
    ((11, 9, 3), -1, 1, 3, 0.2, 0.05),
    ((3, 11, 9), 0, 2, 2, 0.25, 0.0),
    ((9, 4, 7), 1, 1, 2, 0.2, 0.1),  # 4 channels on the middle axis
    ((40, 70), None, 3, 2, 0.2, 0.05),  # more than one band of rows
    # One case per branch of the horizontal patch sum (f = 0 … 5, and > 5).
    ((13, 15), None, 4, 2, 0.3, 0.02),
    ((13, 15, 3), -1, 5, 2, 0.3, 0.0),
    ((13, 15), None, 6, 1, 0.3, 0.05),
    ((9, 12), None, 9, 1, 0.3, 0.0),
    ((6, 5, 2), -1, 3, 2, 0.2, 0.02),  # 2 channels: the generic channel loops
    ((10, 13), None, 1, 0, 0.2, 0.0),  # r = 0: no shifts, the image comes back
]

#: The same for the patchwise method.
PATCH_CASES = [
    ((17, 23), None, 1, 2, 0.15, 0.0),
    ((17, 23), None, 2, 3, 0.3, 0.05),
    ((13, 15), None, 0, 3, 0.1, 0.02),
    ((3, 4), None, 2, 4, 0.2, 0.0),  # smaller than the patch and the window
    ((11, 9, 3), -1, 1, 3, 0.2, 0.05),
    ((3, 11, 9), 0, 2, 2, 0.25, 0.0),
    ((41, 37), None, 3, 2, 0.2, 0.05),  # more than one band of rows
]

#: Tiny pixelwise cases for slow backends (Numba's CUDA simulator runs each GPU
#: thread as a Python thread).
TINY_CASES = [
    ((12, 13), None, 1, 2, 0.15, 0.0),
    ((12, 13), None, 2, 3, 0.3, 0.05),
    ((12, 13), None, 0, 3, 0.1, 0.02),
    ((3, 4), None, 2, 3, 0.2, 0.0),  # smaller than the patch and the window
    ((9, 10, 3), -1, 1, 2, 0.2, 0.05),
    ((3, 9, 10), 0, 2, 1, 0.25, 0.0),
    ((6, 7, 5), -1, 1, 1, 0.3, 0.05),  # 5 channels: two channel groups
]

#: The oracle's function for each method, in the backend signature.
ORACLE = {"pixel": oracle.pixelwise, "patch": oracle.patchwise, "bayes": oracle.bayes}


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


def noisy_camera(sigma: float = 20.0, seed: int = 0):
    """skimage's camera (clean, float64) and a float copy with Gaussian noise."""
    from skimage import data

    clean = data.camera().astype(np.float64)
    noisy = clean + np.random.default_rng(seed).normal(0.0, sigma, clean.shape)
    return clean, noisy


def pad_planes(planes, f, r, method="pixel"):
    """float32 reflect padding of a (C, H, W) stack for ``method`` with radii ``f``, ``r``
    (ints or per-axis tuples), as the front door pads it."""
    f = (f, f) if np.isscalar(f) else tuple(f)
    r = (r, r) if np.isscalar(r) else tuple(r)
    pads = padding(method, f, r)
    widths = ((0, 0), *((p, p) for p in pads))
    return np.pad(np.asarray(planes, dtype=np.float32), widths, mode="reflect")


def random_padded(rng, shape, f, r, method="pixel"):
    """A random (C, H, W) stack in [0, 1), padded by :func:`pad_planes`."""
    return pad_planes(rng.random(shape).astype(np.float32), f, r, method)


def padded_stack(image, method="pixel", channel_axis=None, **kwargs):
    """(padded float32 stack, f tuple, r tuple, Params): ``image`` as the front door hands it
    to a backend's ``method``, with parameters resolved from ``kwargs`` (h, sigma, f, r)."""
    params = nlmeans.resolve_params(image, channel_axis=channel_axis, method=method, **kwargs)
    planes = to_channels_first(np.asarray(image), channel_axis)
    f, r = (params.f,) * 2, (params.r,) * 2
    return pad_planes(planes, f, r, method), f, r, params


def oracle_estimate(padded, f, r, params):
    """The NumPy oracle's (C, H, W) estimate of ``padded`` for ``params`` (its method and h)."""
    return ORACLE[params.method](padded, f, r, params.sigma, [params.h])[0]


@pytest.fixture
def pixel_only_backend(monkeypatch):
    """A backend "gpu" that computes the pixelwise method only (the oracle's), registered
    in nlmeans.backends.REGISTRY for the test and removed afterwards."""
    backend = Backend(
        name="gpu", summary="test double, pixelwise only", methods={"pixel": oracle.pixelwise}
    )
    monkeypatch.setitem(REGISTRY, backend.name, backend)
    return backend


def _store_one(values):
    values[0] = 1.0


def ptx_compiler_reason() -> str | None:
    """None when numba.cuda can compile PTX here (simulator off, CUDA toolkit found), else why."""
    if os.environ.get("NUMBA_ENABLE_CUDASIM"):
        return "the simulator compiles nothing"
    try:
        from numba import cuda
        from numba import types as nb

        cuda.compile_ptx(_store_one, (nb.float32[::1],), cc=(9, 0))
    except Exception as exc:  # numba.cuda, NVVM or NVRTC missing
        return f"numba.cuda cannot compile PTX here: {str(exc).splitlines()[0]}"
    return None
