"""What the napari widget proposes for a layer (nlmeans.napari._defaults: no Qt, no napari)."""

from __future__ import annotations

import pytest

from nlmeans import NLMeansError
from nlmeans.napari._defaults import (
    default_channel_axis,
    format_radii,
    is_anisotropic,
    parse_number,
    parse_radii,
    scaled_radius,
    spatial_scale,
)


def test_radii_span_the_same_length_on_every_axis():
    # z-steps 3x the pixel size: 3 px in y/x spans 9 units, 1 z-step spans 3.
    assert scaled_radius(3, (3.0, 1.0, 1.0)) == (1, 3, 3)
    assert scaled_radius(1, (3.0, 1.0, 1.0)) == (0, 1, 1)
    assert scaled_radius(10, (0.5, 0.25, 0.25)) == (5, 10, 10)
    assert scaled_radius(2, (1.0, 1.0)) == (2, 2)


def test_scale_must_be_positive():
    with pytest.raises(NLMeansError, match="positive"):
        scaled_radius(1, (0.0, 1.0, 1.0))


def test_channel_axis_is_not_spatial():
    assert spatial_scale((1, 2.0, 1.0, 1.0), channel_axis=0) == (2.0, 1.0, 1.0)
    assert spatial_scale((2.0, 1.0, 1.0, 1), channel_axis=-1) == (2.0, 1.0, 1.0)
    assert spatial_scale((2.0, 1.0), channel_axis=None) == (2.0, 1.0)


def test_anisotropy():
    assert is_anisotropic((2.0, 1.0, 1.0))
    assert not is_anisotropic((0.3, 0.3, 0.3))


def test_radii_text_round_trips():
    assert format_radii((0, 1, 1)) == "0,1,1"
    assert format_radii(2) == "2"
    assert parse_radii("f", "0,1,1", 3) == (0, 1, 1)
    assert parse_radii("f", " 2 ", 3) == 2
    assert parse_radii("f", "", 3) is None


@pytest.mark.parametrize("text, message", [("a", "not an integer"), ("1,2", "2 values for 3")])
def test_bad_radii_name_the_field(text, message):
    with pytest.raises(NLMeansError, match=f"patch radius .*{message}"):
        parse_radii("patch radius", text, 3)


def test_numbers():
    assert parse_number("h", "") is None
    assert parse_number("h", "12.5") == 12.5
    with pytest.raises(NLMeansError, match="h 'x' is not a number"):
        parse_number("h", "x")


def test_channel_axis_default():
    assert default_channel_axis((512, 512, 3), rgb=True) == 2
    assert default_channel_axis((32, 96, 96), rgb=False) is None
