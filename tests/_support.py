"""Shared test inputs: the oracle comparison cases, padded stacks made the way the front
door pads them, and a few small images.

Test modules import it as ``import _support`` or ``from _support import ...``: pytest puts
the tests folder on ``sys.path`` (``pythonpath`` in pyproject.toml). Fixtures live in
``conftest.py``.
"""

import os
import signal

import numpy as np

import nlmeans
from nlmeans._arrays import to_channels_first
from nlmeans.backends import padding, reference_bayes
from nlmeans.backends import reference as oracle
from nlmeans.backends._contract import motion_padding

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

#: (channels, spatial shape, f, r) of the mapped-method (σ map, mask, values) oracle
#: comparisons, CPU and CUDA; values in [0, 1), so 1e-4 of the range is 1e-4.
MAPPED_CASES = [
    (1, (9, 11), (1, 1), (2, 2)),
    (2, (7, 8), (1, 0), (1, 2)),
    (1, (4, 5, 6), (1, 1, 0), (1, 1, 2)),
    (1, (3, 4), (2, 2), (3, 3)),  # smaller than the patch and the window
]

#: The oracle's function for each method, in the backend signature.
ORACLE = {"pixel": oracle.pixelwise, "patch": oracle.patchwise, "bayes": reference_bayes.bayes}


def pad_stack(planes, f, r, method="pixel", dtype=np.float32):
    """A (C, *S) stack reflect-padded on its spatial axes as the front door pads it.

    Each spatial axis k gets the padding ``method`` needs with radii f_k and r_k (r + f
    for "pixel", r + 2 f for "patch", the NL-Bayes rule for "bayes"); ``f`` and ``r``
    are ints (the same on every axis) or per-axis tuples. The result is ``dtype``
    (float32, as the backends take it), or the input's dtype when ``dtype`` is None.
    """
    planes = np.asarray(planes) if dtype is None else np.asarray(planes, dtype=dtype)
    axes = planes.ndim - 1
    f = (f,) * axes if np.isscalar(f) else tuple(f)
    r = (r,) * axes if np.isscalar(r) else tuple(r)
    widths = ((0, 0), *((p, p) for p in padding(method, f, r)))
    return np.pad(planes, widths, mode="reflect")


def front_door_stack(image, method="pixel", channel_axis=None, **kwargs):
    """(padded float32 stack, f tuple, r tuple, Params): ``image`` as the front door hands it
    to a backend's ``method``, with parameters resolved from ``kwargs`` (h, sigma, f, r)."""
    params = nlmeans.resolve_params(image, channel_axis=channel_axis, method=method, **kwargs)
    planes = to_channels_first(np.asarray(image), channel_axis)
    f, r = (params.f,) * 2, (params.r,) * 2
    return pad_stack(planes, f, r, method), f, r, params


def oracle_estimate(padded, f, r, params):
    """The NumPy oracle's (C, H, W) estimate of ``padded`` for ``params`` (its method and h)."""
    return ORACLE[params.method](padded, f, r, params.sigma, [params.h])[0]


def mapped_inputs(rng, n_channels, shape, f, r, *, with_map, with_mask, with_values):
    """(guide, values, sigma_map, mask) of a random image, padded alike for the pixelwise
    method; the parts not asked for are None."""
    image = rng.random((n_channels, *shape)).astype(np.float32)
    guide = pad_stack(image, f, r)
    values = np.square(guide) if with_values else None
    sigma_map = mask = None
    if with_map:
        sigma_map = pad_stack((0.03 + 0.2 * rng.random(shape))[None], f, r, dtype=None)[0]
    if with_mask:
        mask = pad_stack((rng.random(shape) > 0.4)[None], f, r, dtype=None)[0]
    return guide, values, sigma_map, mask


def motion_case(rng, channels, frames, height, width, rt, f, r, block, margin):
    """(padded stack, random block displacements) for an oracle comparison."""
    image = rng.random((channels, frames, height, width)).astype(np.float32)
    pad = motion_padding((0, f, f), (rt, r, r), margin)
    padded = np.pad(image, [(0, 0)] + [(p, p) for p in pad], mode="reflect").astype(np.float32)
    blocks = (-(-height // block), -(-width // block))
    moves = rng.integers(-margin, margin + 1, (frames, 2 * rt + 1, *blocks, 2))
    moves[:, rt] = 0
    moves[1, :, 0, 0] = 0  # some blocks keep their boxes in both directions: the symmetric pass
    moves[2, :, 0, 0] = 0
    return padded, moves


def noisy_camera(sigma: float = 20.0, seed: int = 0):
    """skimage's camera (clean, float64) and a float copy with Gaussian noise."""
    from skimage import data

    clean = data.camera().astype(np.float64)
    noisy = clean + np.random.default_rng(seed).normal(0.0, sigma, clean.shape)
    return clean, noisy


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


def assert_publish_holds_interrupts(publish, module, name, run_command):
    """Check that a command's last output holds Ctrl-C from its rename to the end of the run.

    ``publish()`` publishes an output with ``final=True``: SIGINT must then be held
    until ``release_held_signals()``. ``run_command()`` runs the command line while
    ``module.name`` (the publishing function) is spied on: it must pass ``final=True``.
    """
    import pytest

    from nlmeans.io._write import release_held_signals

    try:
        publish()
        assert signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, [])
    finally:
        release_held_signals()
    assert signal.SIGINT not in signal.pthread_sigmask(signal.SIG_BLOCK, [])
    original, finals = getattr(module, name), []

    def spy(*args, **kwargs):
        finals.append(kwargs.get("final"))
        return original(*args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(module, name, spy)
        run_command()
    assert finals == [True]
