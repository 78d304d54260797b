"""Axes of arrays read from files: which axes are spatial (T, Z, Y, X) and which holds channels.

An array read from a file keeps the file's axis order; its axes are named by
a string of letters, one per axis:

- ``T`` time, ``Z`` depth, ``Y`` rows, ``X`` columns: spatial axes, at most
  one of each (so at most 4), ``Y`` and ``X`` always present;
- ``C`` channels (``S``, TIFF samples, is read as ``C``): at most one.

:func:`nlmeans.denoise` treats every spatial axis alike; a ``T`` axis only
changes the defaults of the radii (:func:`radii_for_axes`).
"""

from __future__ import annotations

from ..errors import NLMeansError

#: Letters nlmeans understands in an axes string (S is read as C).
AXES_LETTERS = "TZYXC"

#: Examples quoted in the messages that ask for ``--axes``.
AXES_EXAMPLES = "ZYX, TYX, ZYXC or TZYXC"

#: Default radii on a time (T) axis when --f/--r are not given: frames are compared
#: with 2-D patches (f_t = 0) across a temporal window of 2 r_t + 1 = 5 frames.
T_PATCH_RADIUS, T_SEARCH_RADIUS = 0, 2


def parse_axes(value: str | None) -> str | None:
    """Validate an axes string (``--axes``).

    Letters T, Z, Y, X, C (S read as C), each at most once, Y and X present.
    Returns it in upper case with S as C, or None.

    Raises NLMeansError with one line naming the problem.
    """
    if value is None:
        return None
    axes = str(value).strip().upper().replace("S", "C")
    if not axes:
        raise NLMeansError("--axes is empty; name the file's axes in order, e.g. " + AXES_EXAMPLES)
    bad = sorted({letter for letter in axes if letter not in AXES_LETTERS})
    if bad:
        raise NLMeansError(
            f"--axes {value!r}: unknown letter(s) {', '.join(bad)}; use T (time), Z (depth), "
            "Y, X and C (channels; S is read as C), e.g. " + AXES_EXAMPLES
        )
    repeated = sorted({letter for letter in axes if axes.count(letter) > 1})
    if repeated:
        raise NLMeansError(f"--axes {value!r}: {', '.join(repeated)} named more than once")
    if "Y" not in axes or "X" not in axes:
        raise NLMeansError(f"--axes {value!r}: Y and X must both be named (the image's rows and "
                           "columns)")  # fmt: skip
    return axes


def check_axes_count(axes: str, shape: tuple[int, ...], what: str = "the file") -> None:
    """Raise NLMeansError unless ``axes`` names exactly the axes of ``shape``."""
    if len(axes) != len(shape):
        size = "x".join(map(str, shape))
        raise NLMeansError(
            f"--axes {axes} names {len(axes)} axes but {what} has {len(shape)} (shape {size})"
        )


def from_metadata(letters: str) -> str | None:
    """Translate a file's own axes letters (tifffile's series axes) to nlmeans axes.

    None when they do not say what every axis is (``I``/``Q``: a plain sequence of pages, or
    letters with no nlmeans meaning) or name two channel axes.
    """
    axes = letters.upper().replace("S", "C")
    if any(letter not in AXES_LETTERS for letter in axes):
        return None
    if len(set(axes)) != len(axes) or "Y" not in axes or "X" not in axes:
        return None
    return axes


def spatial_axes(axes: str) -> str:
    """Return the spatial letters of ``axes``, in order (channels left out)."""
    return axes.replace("C", "")


def channel_axis(axes: str) -> int | None:
    """Index of the channel axis in ``axes``, None when there is none."""
    return axes.index("C") if "C" in axes else None


def radii_for_axes(axes: str, f, r):
    """``(f, r)`` for :func:`nlmeans.denoise` of an array with these axes.

    A time axis (``T``) gets ``f_t = 0`` and ``r_t = 2`` (2-D patches compared
    across 5 frames) when the radius is not given; the other axes get None
    entries, which take the presets (those of the remaining spatial axes: the
    2-D presets for a TYX stack, the volume presets for TZYX). Given radii,
    and arrays without a T axis, are returned as they are.
    """
    spatial = spatial_axes(axes)
    if "T" not in spatial:
        return f, r
    if f is None:
        f = tuple(T_PATCH_RADIUS if letter == "T" else None for letter in spatial)
    if r is None:
        r = tuple(T_SEARCH_RADIUS if letter == "T" else None for letter in spatial)
    return f, r
