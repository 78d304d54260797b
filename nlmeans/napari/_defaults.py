"""What the napari widget proposes for a layer, without Qt.

A layer's ``scale`` is its voxel size along each axis. Non-local means counts
radii in pixels, so an anisotropic volume (a z-step three times the pixel size)
given the same radius on every axis would compare patches three times deeper
than wide. The widget's default radii therefore shrink along the coarse axes:
``radius_k = round(preset * min(scale) / scale_k)``, so patches and search
windows span about the same physical distance along every axis.
"""

from __future__ import annotations

from ..errors import NLMeansError


def spatial_scale(scale, channel_axis: int | None) -> tuple[float, ...]:
    """Return the layer's ``scale`` without its channel axis: one voxel size per spatial axis."""
    values = [float(s) for s in scale]
    if channel_axis is not None:
        del values[channel_axis % len(values)]
    return tuple(values)


def scaled_radius(value: int, scale) -> tuple[int, ...]:
    """``value`` pixels along the finest axis, as few along the others as spans the same length.

    Parameters
    ----------
    value : int
        A radius (patch or search), pixels, for the axis with the smallest voxel.
    scale : sequence of float
        Voxel size per spatial axis, all > 0.

    Returns
    -------
    tuple of int
        One radius per axis: ``round(value * min(scale) / scale_k)``.
    """
    if any(not s > 0 for s in scale):
        raise NLMeansError(f"layer scale {tuple(scale)} must be positive on every axis")
    finest = min(scale)
    return tuple(int(round(value * finest / s)) for s in scale)


def is_anisotropic(scale, tolerance: float = 1e-6) -> bool:
    """Whether the voxel size differs between the spatial axes."""
    return max(scale) - min(scale) > tolerance * max(scale)


def format_radii(values) -> str:
    """Radii as the widget's text: ``"1"`` or ``"0,1,1"``."""
    if isinstance(values, int):
        return str(values)
    return ",".join(str(v) for v in values)


def parse_radii(name: str, text: str, ndim: int):
    """Parse the widget's radius text: blank (the presets), one int, or one per spatial axis.

    Returns None, an int or a tuple of ``ndim`` ints; raises NLMeansError naming
    the field when the text is none of these.
    """
    text = text.strip()
    if not text:
        return None
    try:
        values = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise NLMeansError(
            f"{name} {text!r} is not an integer or comma-separated integers (e.g. 0,1,1)"
        ) from None
    if len(values) == 1:
        return values[0]
    if len(values) != ndim:
        raise NLMeansError(f"{name} {text!r} gives {len(values)} values for {ndim} spatial axes")
    return values


def parse_number(name: str, text: str) -> float | None:
    """Parse the widget's σ or h text: blank (estimated or preset) or a number."""
    text = text.strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise NLMeansError(
            f"{name} {text!r} is not a number (leave it blank for the default)"
        ) from None


def default_channel_axis(shape, rgb: bool) -> int | None:
    """Propose the channel axis: the last for an RGB(A) layer, else none."""
    return len(shape) - 1 if rgb else None
