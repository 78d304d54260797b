"""The parameter record :class:`Params`, and radii given per axis or for all axes."""

from __future__ import annotations

from dataclasses import dataclass

from ._components import Component

#: A radius: one int for every spatial axis, or one per axis (None: resolve that axis).
Radii = int | tuple[int, ...]


@dataclass(frozen=True)
class Params:
    """Resolved non-local means parameters.

    Attributes
    ----------
    f : int or tuple of int
        Patch radius: patches are (2f+1) pixels along every spatial axis (an
        int), or (2f_k+1) along axis k (a tuple, one value per spatial axis).
    r : int or tuple of int
        Search radius: candidates lie in a window of (2r+1) (or 2r_k+1) pixels
        along each spatial axis.
    h : float
        Filtering strength, raw intensity units.
    sigma : float
        Noise standard deviation, raw intensity units.
    sigma_estimated : bool
        True when ``sigma`` came from :func:`estimate_sigma` rather than the caller.
    method : {"pixel", "patch"}
        Pixelwise estimate (the exact formula) or patchwise aggregation (IPOL 2011).
    h_chroma : float or None
        3-channel images only: the filtering strength, raw intensity units, of
        the two chrominance channels of the orthonormal opponent transform
        (:mod:`nlmeans._color`), whose luminance channel uses ``h``. None (the
        default): every RGB channel uses ``h``, the exact formula.
    components : tuple of Component
        ``method="combined"`` only: the terms Σ a_i D_i(u) (+ a_0 u) of the
        SURE-weighted combination (:mod:`nlmeans.sure._combination`); ``f``,
        ``r``, ``h`` (and ``h_chroma``) are then those of its SURE-best single
        estimate, for reporting. Empty otherwise.
    patch_kernel : {"uniform", "gaussian"}
        The patch distance: the mean over the patch (the default), or its
        Gaussian-weighted mean (weights Π_k exp(−j_k² / (2 σ_k²)), σ_k = f_k / 2,
        normalised to sum 1).
    noise_model : PoissonGaussian or None
        ``noise="poisson-gaussian"``: the model's parameters
        (:class:`nlmeans.noise._models.PoissonGaussian`); the other fields then
        apply to the variance-stabilised image, whose noise has σ = 1. None:
        Gaussian noise, the fields in raw units.
    """

    f: Radii
    r: Radii
    h: float
    sigma: float
    sigma_estimated: bool = False
    method: str = "pixel"
    h_chroma: float | None = None
    components: tuple[Component, ...] = ()
    patch_kernel: str = "uniform"
    noise_model: object | None = None


def radii(value: Radii, ndim: int) -> tuple[int, ...]:
    """Return a resolved radius as one int per spatial axis."""
    if isinstance(value, tuple):
        return value
    return (int(value),) * ndim


def compact(values: tuple[int, ...]) -> Radii:
    """Per-axis radii as one int when they are all equal, else the tuple."""
    return values[0] if len(set(values)) == 1 else tuple(values)
