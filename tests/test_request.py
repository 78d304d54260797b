"""The request record: checked once when made, immutable, and what it derives."""

import dataclasses

import numpy as np
import pytest

import nlmeans
from nlmeans import NLMeansError, Request
from nlmeans.backends import REGISTRY


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            dict(patch_kernel="box"),
            "patch_kernel='box' is unknown; expected one of uniform, gaussian",
        ),
        (dict(h=0), "h=0 is out of range"),
        (dict(r=(1, "x")), "r='x' is not an integer"),
        (dict(method="mixed"), "method='mixed' is unknown"),
        (dict(threads=0), "threads=0 is out of range; expected an integer >= 1"),
        (dict(chunks=2.5), "chunks=2.5 is out of range; expected an integer >= 1"),
        (dict(coils=0, noise="rician"), "coils=0 is out of range"),
        (dict(coils=2), "coils=2 needs noise='rician'"),
        (dict(gain=2.0), "gain applies to noise='poisson-gaussian' only"),
        (dict(channel_axis="last"), "channel_axis='last' is not an integer axis"),
        (dict(tune=True, patch_kernel="gaussian"), "uniform patch kernel only"),
        (dict(method="combined", patch_kernel="gaussian"), "uniform patch kernel only"),
        (dict(method="bayes", h_chroma=5.0), "h_chroma is not available with method='bayes'"),
        (dict(motion=True, tune=True), "motion=True takes given or preset parameters"),
    ],
)
def test_a_bad_value_is_refused_when_the_record_is_made(fields, message):
    with pytest.raises(NLMeansError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Request(**fields)


def test_the_api_and_the_record_give_the_same_message():
    image = np.zeros((8, 8), np.uint8)
    with pytest.raises(NLMeansError) as api:
        nlmeans.denoise(image, patch_kernel="box")
    with pytest.raises(NLMeansError) as record:
        Request(patch_kernel="box")
    assert str(api.value) == str(record.value)


def test_values_are_normalised_and_a_replaced_copy_is_checked_again():
    request = Request(h=3, f=(0, 1, 1), threads=np.int64(2))
    assert request.h == 3.0 and isinstance(request.h, float)
    assert request.f == (0, 1, 1) and request.threads == 2 and type(request.threads) is int
    with pytest.raises(dataclasses.FrozenInstanceError):
        request.h = 4.0
    with pytest.raises(NLMeansError, match="h=-1"):
        dataclasses.replace(request, h=-1)


def test_from_options_takes_the_fields_and_keeps_defaults_for_none():
    request = Request.from_options(
        {"h": 7.0, "patch_kernel": "gaussian", "method": None, "quiet": True, "input_path": "x"}
    )
    assert request.h == 7.0 and request.patch_kernel == "gaussian"
    assert request.method is None and request.channel_axis == "auto"


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_warm_up_lists_come_from_the_registry(name):
    backend = REGISTRY[name]
    every = [(m, k) for m in backend.methods for k in (1, 2)]
    nlm = [("pixel", 1), ("pixel", 2)]  # what the exact search of a large image runs
    assert Request(method="auto").kernels_to_warm(backend) == every
    assert Request(method="combined").kernels_to_warm(backend) == nlm
    assert Request(tune=True).kernels_to_warm(backend) == nlm
    assert Request().kernels_to_warm(backend) == nlm  # tuned by default
    assert Request(tune=True, method="patch").kernels_to_warm(backend) == [
        ("patch", 1),
        ("patch", 2),
    ]
    assert Request(tune=False).kernels_to_warm(backend) == [("pixel", 1)]
    assert Request(h=5.0).kernels_to_warm(backend) == [("pixel", 1)]  # h given: presets
    for method, _ in every:  # every name it lists is one the backend computes
        assert method in backend.methods


def test_with_params_fixes_what_was_resolved_and_stops_tuning():
    image = np.random.default_rng(0).integers(0, 255, (24, 24)).astype(np.uint8)
    _, params = nlmeans.denoise(image, return_params=True)
    fixed = Request(tune=True).with_params(params)
    assert (fixed.h, fixed.sigma, fixed.f, fixed.r) == (params.h, params.sigma, params.f, params.r)
    assert fixed.method == params.method and not fixed.tune


def test_with_params_of_a_combination_reproduces_it_without_fitting_again(monkeypatch):
    from nlmeans import _denoise

    rng = np.random.default_rng(2)
    first, second = (rng.normal(128, 20, (40, 44)).clip(0, 255).astype(np.uint8) for _ in "ab")
    _, params = nlmeans.denoise(first, method="combined", return_params=True)
    fixed = Request(method="combined", channel_axis=None).with_params(params)
    assert fixed.components == params.components and not fixed.tuned

    def no_tuning(*args, **kwargs):
        raise AssertionError("the fixed combination was fitted again")

    monkeypatch.setattr(_denoise, "tune_params", no_tuning)
    result, used = _denoise.denoise_request(second, fixed, return_params=True)
    assert used.components == params.components and used.method == "combined"
    np.testing.assert_array_equal(result, nlmeans.denoise(second, params=params))
    with pytest.raises(NLMeansError, match="components="):
        Request(components=params.components)  # a combination's terms need method="combined"


@pytest.mark.parametrize(
    "options",
    [
        dict(h=0.1, sigma=0.05, f=1, r=2),
        dict(sigma=0.05, f=(1, 2), r=(2, 3), tune=False),  # the presets fill h
        dict(h=0.1, sigma=np.full((12, 14), 0.05), f=1, r=2, noise="rician"),  # mapped path
    ],
)
def test_a_denoise_checks_the_given_values_once(monkeypatch, options):
    # The record checks the values when it is made; resolving them for the image must not
    # check them again (only what needs the image: a radius tuple's length, h_chroma).
    from nlmeans import params
    from nlmeans.params import _checks, _presets

    calls = []
    real = _checks.validate

    def counting(**values):
        calls.append(values)
        return real(**values)

    monkeypatch.setattr(_checks, "validate", counting)
    monkeypatch.setattr(_presets, "validate", counting)
    monkeypatch.setattr(params, "validate", counting)
    image = np.random.default_rng(1).random((12, 14), dtype=np.float32)
    nlmeans.denoise(image, channel_axis=None, **options)
    assert len(calls) == 1, calls
