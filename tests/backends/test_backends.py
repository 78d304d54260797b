"""The backend registry (nlmeans.backends): declared methods, selection, padding, weights."""

import numpy as np
import pytest
from _support import ORACLE, pad_stack

import nlmeans.backends
from nlmeans import NLMeansError
from nlmeans.backends import REGISTRY, Backend, availability, padding, select, weight_constants

AVAILABLE = [name for name, backend in REGISTRY.items() if backend.availability() is None]
DECLARED = [(name, method) for name in AVAILABLE for method in REGISTRY[name].methods]


def test_the_registry_holds_the_three_backends_by_name():
    assert list(REGISTRY) == ["reference", "cpu", "cuda"]
    assert all(backend.name == name for name, backend in REGISTRY.items())
    assert {"reference", "cpu"} <= set(AVAILABLE)
    for name, backend in REGISTRY.items():
        assert set(backend.methods) <= {"pixel", "patch", "bayes"} and backend.methods, name
        assert availability(name) == backend.availability()


@pytest.mark.parametrize("name, method", DECLARED)
def test_every_declared_method_matches_the_reference(rng, name, method):
    # Two channels, unequal sides, several strengths at once (K = 3).
    f, r, sigma, hs = (1, 1), (2, 2), 0.05, [0.1, 0.3, 0.8]
    padded = pad_stack(rng.random((2, 9, 11)), f, r, method)
    got = REGISTRY[name].methods[method](padded, f, r, sigma, hs)
    assert got.shape == (3, 2, 9, 11) and got.dtype == np.float32
    expected = ORACLE[method](padded, f, r, sigma, hs)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-4)


@pytest.mark.parametrize("name, method", DECLARED)
def test_warm_up_runs_each_declared_method(name, method):
    REGISTRY[name].warm_up(method, strengths=2)


def test_select_names_the_problem(monkeypatch):
    with pytest.raises(NLMeansError, match=r"backend='tpu' is unknown; expected one of auto, "):
        select("tpu")
    with pytest.raises(NLMeansError, match="backend=3 is unknown"):
        select(3)
    with pytest.raises(NLMeansError, match="backend='tpu' is unknown"):
        availability("tpu")
    monkeypatch.setitem(REGISTRY, "gpu", Backend("gpu", "pixel only", {"pixel": ORACLE["pixel"]}))
    with_patch = ", ".join(name for name, b in REGISTRY.items() if "patch" in b.methods)
    with pytest.raises(
        NLMeansError,
        match=f"method='patch' is not available on backend='gpu'; backends with it: {with_patch}$",
    ):
        select("gpu", "patch")
    for name, backend in REGISTRY.items():
        too_many = backend.max_dims + 1
        with pytest.raises(
            NLMeansError,
            match=f"backend='{name}' takes images with up to {backend.max_dims} spatial axes, "
            f"not {too_many}",
        ):
            select(name, "pixel", ndim=too_many)
    with pytest.raises(NLMeansError, match="no available backend computes method='pixel' in 5-D"):
        select("auto", "pixel", ndim=5)
    monkeypatch.setitem(
        REGISTRY, "cpu", Backend(
            name="cpu", summary="unusable", methods=REGISTRY["cpu"].methods,
            availability=lambda: "no reason at all",
        ),
    )  # fmt: skip
    with pytest.raises(NLMeansError, match="backend='cpu' is not available: no reason at all"):
        select("cpu", "pixel")


def test_select_returns_the_registered_backend():
    assert select("reference", "patch") is REGISTRY["reference"]
    assert select("cpu", "pixel", 2) is REGISTRY["cpu"]
    assert select("auto", "patch").name in nlmeans.backends.AUTO_ORDER
    assert select("auto").name in nlmeans.backends.AUTO_ORDER


def test_a_registered_backend_is_used_by_the_front_door(rng, pixel_only_backend):
    image = rng.random((8, 9))
    kwargs = dict(h=0.2, sigma=0.05, f=1, r=2)
    got = nlmeans.denoise(image, backend="gpu", **kwargs)
    np.testing.assert_array_equal(got, nlmeans.denoise(image, backend="reference", **kwargs))
    with pytest.raises(NLMeansError, match="method='patch' is not available on backend='gpu'"):
        select("gpu", "patch")


def test_padding_per_method():
    assert padding("pixel", (1, 2), (3, 5)) == (4, 7)  # r + f
    assert padding("patch", (1, 2), (3, 5)) == (5, 9)  # r + 2f
    assert padding("pixel", (0,), (0,)) == (0,)
    assert padding("patch", (0, 0), (4, 4)) == padding("pixel", (0, 0), (4, 4))
    with pytest.raises(ValueError):
        padding("pixel", (1, 1), (1,))  # one radius per axis


def test_weight_constants_values():
    # scale = 1 / (C Π(2f_k+1) h²), offset = 2σ² / h²
    scales, offsets = weight_constants([0.5, 2.0], 0.1, (1, 2), 3)
    assert scales.dtype == offsets.dtype == np.float32
    np.testing.assert_allclose(scales, [1 / (3 * 15 * 0.25), 1 / (3 * 15 * 4.0)], rtol=1e-6)
    np.testing.assert_allclose(offsets, [2 * 0.01 / 0.25, 2 * 0.01 / 4.0], rtol=1e-6)
    # The weight they give is the formula's: exp(−max(d² − 2σ², 0) / h²).
    patch_sum = np.float32(3 * 15 * 0.09)  # d² = 0.09
    weight = np.exp(-max(patch_sum * scales[0] - offsets[0], 0.0))
    assert weight == pytest.approx(np.exp(-(0.09 - 0.02) / 0.25), rel=1e-5)
    none, zero = weight_constants([1.0], 0.0, (0,), 1)
    assert none[0] == 1.0 and zero[0] == 0.0
