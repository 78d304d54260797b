"""What every backend provides, and the pieces of the formulas they all share.

A backend is a :class:`Backend` record: its methods, as functions of one
signature, and what it can do here. The padding each method needs and the
weight constants are defined once, here.

The method signature, for every backend and method::

    fn(padded, f, r, sigma, hs, *, patch_kernel="uniform") -> float32 ndarray (K, C, *S)

- ``padded``: float32 (C, S_1 + 2 p_1, …, S_D + 2 p_D), the image's C planes
  mirror-extended by :func:`padding` (``np.pad(mode="reflect")``);
- ``f``, ``r``: the patch and search radii, one int per spatial axis;
- ``sigma``: the noise standard deviation, raw units;
- ``hs``: K filtering strengths. One for a denoise; several for SURE's sweeps,
  where a backend computes each patch distance once and turns it into K weights;
- ``patch_kernel``: how the patch distance weighs the offsets of the patch,
  "uniform" (the mean) or "gaussian" (the weights :func:`patch_profiles`); a
  backend declares the kernels it computes in :attr:`Backend.patch_kernels`.

The result holds the K estimates, each the non-local means of the planes with
that h (see :mod:`nlmeans.backends.reference` for the formulas).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..params import check_patch_kernel
from ._bayes_rules import TILE as BAYES_TILE
from ._bayes_rules import padding_rule as bayes_padding

#: fn(padded, f, r, sigma, hs, *, patch_kernel="uniform") -> (K, C, *S) float32; see the
#: module docstring.
MethodFunction = Callable[..., np.ndarray]

#: method -> reflect padding on axis k from (f_k, r_k): pixelwise needs r + f; patchwise
#: r + 2f (the patch centres that cover a border pixel lie up to f outside the image);
#: NL-Bayes 4(r + f) + 2(TILE − 1) (:mod:`.bayes_rules`: two steps, tiles of references).
PADDING_RULES: Mapping[str, Callable[[int, int], int]] = {
    "pixel": lambda f, r: r + f,
    "patch": lambda f, r: r + 2 * f,
    "bayes": bayes_padding,
}

#: method -> the multiple of rows along the first axis that a block of its may be cut
#: on and give the same result as the whole image (NL-Bayes visits tiles of rows).
SLAB_ALIGN: Mapping[str, int] = {"bayes": BAYES_TILE}


def padding(method: str, f: Sequence[int], r: Sequence[int]) -> tuple[int, ...]:
    """Reflect padding per spatial axis that ``method`` needs with radii ``f`` and ``r``.

    Parameters
    ----------
    method : str
        A method of :data:`PADDING_RULES`.
    f, r : sequence of int
        Patch and search radii per spatial axis.

    Returns
    -------
    tuple of int
        The reflect padding of each spatial axis.
    """
    rule = PADDING_RULES[method]
    return tuple(rule(fk, rk) for fk, rk in zip(f, r, strict=True))


def gaussian_profile(fk: int) -> np.ndarray:
    """float64 g_k(j), j = −f_k … f_k: the Gaussian patch weights along one axis.

    g_k(j) = exp(−j² / (2 σ_k²)) / Σ_{i=−f_k}^{f_k} exp(−i² / (2 σ_k²)) with
    σ_k = f_k / 2 (a patch of side 2 f_k + 1 spans ±2 σ_k), so Σ_j g_k(j) = 1; for
    f_k = 0 the single offset has weight 1. This is the Gaussian of Buades, Coll
    & Morel (CVPR 2005) with the width scikit-image's slow mode gives a patch of
    that side ((side − 1) / 4).
    """
    fk = int(fk)
    if fk == 0:
        return np.ones(1)
    j = np.arange(-fk, fk + 1, dtype=np.float64)
    g = np.exp(-(j * j) / (2.0 * (fk / 2.0) ** 2))
    return g / g.sum()


def patch_profiles(f: Sequence[int], patch_kernel: str = "uniform") -> list[np.ndarray]:
    """Return the per-axis patch weights g_k of ``patch_kernel``.

    The patch weight of offset j is g(j) = Π_k g_k(j_k).

    "uniform": g_k = 1 (the patch distance is the plain sum, normalised by
    :func:`weight_constants`); "gaussian": :func:`gaussian_profile`, Σ_j g(j) = 1.
    """
    if check_patch_kernel(patch_kernel) == "gaussian":
        return [gaussian_profile(fk) for fk in f]
    return [np.ones(2 * int(fk) + 1) for fk in f]


#: Largest weight-constant scale handed to float32 kernels: far below float32's
#: 3.4e38, so that scale · log2(e) and offsets stay finite too.
MAX_SCALE = 1e37


def weight_constants(
    hs: Sequence[float],
    sigma: float,
    f: Sequence[int],
    n_channels: int,
    patch_kernel: str = "uniform",
) -> tuple[np.ndarray, np.ndarray]:
    """float32 (scales, offsets): ``d²/h_k² = patch_sum · scales[k]``, ``offsets[k] = 2σ²/h_k²``.

    ``patch_sum`` is Σ_c Σ_j g(j) (u_c(p+j) − u_c(q+j))² over the C channels and the
    Π(2f_k+1) offsets of the patch, with g = 1 ("uniform": the scale divides by
    C Π(2f_k+1)) or the normalised Gaussian of :func:`patch_profiles` ("gaussian":
    Σ g = 1, the scale divides by C), so that the weight is
    ``w = exp(−max(patch_sum · scale − offset, 0))`` = exp(−max(d² − 2σ², 0) / h²).

    For an h so small that 1/h² would overflow float32, the scale is capped
    at :data:`MAX_SCALE` (and below, so that the offset stays finite) with the
    offset kept at the same ratio, ``offset / scale = 2σ² · C · Π(2f_k+1)``:
    the weights are then the h → 0 limit of the formula, 1 for the candidates
    with d² ≤ 2σ² (the centre always) and 0 for the others, never NaN.

    Parameters
    ----------
    hs : sequence of float
        The K strengths h.
    sigma : float
        Noise standard deviation.
    f : sequence of int
        Patch radii per spatial axis.
    n_channels : int
        C, the channels the patch distance sums over.
    patch_kernel : {"uniform", "gaussian"}
        The patch weights g.

    Returns
    -------
    scales, offsets : ndarray, float32, shape (K,)
        Per strength, as above.
    """
    h2 = np.asarray(hs, dtype=np.float64) ** 2
    patch_profiles(f, patch_kernel)  # refuses an unknown kernel
    offsets_per_patch = 1 if patch_kernel == "gaussian" else math.prod(2 * fk + 1 for fk in f)
    patch_count = n_channels * offsets_per_patch
    # 2σ² in patch-sum units: the patch sums whose weight is 1.
    threshold = 2.0 * sigma * sigma * patch_count
    with np.errstate(divide="ignore", over="ignore"):
        scales = 1.0 / (patch_count * h2)  # inf where h² underflows to 0
        # MAX_SCALE / threshold overflows to inf for a tiny σ: the cap is then MAX_SCALE.
        cap = MAX_SCALE if threshold == 0 else min(MAX_SCALE, np.float64(MAX_SCALE) / threshold)
    scales = np.minimum(scales, cap)
    offsets = threshold * scales
    return scales.astype(np.float32), offsets.astype(np.float32)


def is_square(f: Sequence[int], r: Sequence[int]) -> bool:
    """Tell whether 2-D radii are equal on both axes: what the 2-D kernels take.

    Parameters
    ----------
    f, r : sequence of int
        Patch and search radii per spatial axis.

    Returns
    -------
    bool
    """
    return len(f) == 2 and len(set(f)) == 1 and len(set(r)) == 1


def is_time_stack(f: Sequence[int], r: Sequence[int]) -> bool:
    """Tell whether 3-D radii are those of a time stack compared frame by frame.

    That is f_t = 0 and equal radii on the two spatial axes (what the
    frame-pair kernels take).

    Parameters
    ----------
    f, r : sequence of int
        Patch and search radii per axis (time first).

    Returns
    -------
    bool
    """
    return len(f) == 3 and int(f[0]) == 0 and is_square(f[1:], r[1:])


def motion_padding(f: Sequence[int], r: Sequence[int], margin: int) -> tuple[int, ...]:
    """Return the reflect padding of a motion-compensated time stack.

    r_t in time, r + f + ``margin`` in space (a search box displaced by up to
    ``margin`` pixels, and its patches).
    """
    return (int(r[0]),) + tuple(
        int(rk) + int(fk) + int(margin) for fk, rk in zip(f[1:], r[1:], strict=True)
    )


def always_available() -> str | None:
    """Report a backend that needs nothing beyond nlmeans' dependencies as available."""
    return None


@dataclass(frozen=True)
class Backend:
    """A backend, declared as data.

    Attributes
    ----------
    name : str
        What ``backend=`` and ``--backend`` call it.
    summary : str
        One line on what it computes with, for ``nlmeans info``.
    methods : mapping of str to MethodFunction
        The methods it computes ("pixel", "patch", "bayes"), each
        ``fn(padded, f, r, sigma, hs, *, patch_kernel="uniform")``: ``padded``
        the image channels first, (C, *S), reflect-padded as :func:`padding`
        says; ``f`` and ``r`` the patch and search radii per spatial axis;
        ``sigma`` the noise standard deviation (pixel-value units); ``hs`` K
        strengths > 0 (SURE's sweeps use K > 1). Returns the K estimates,
        float32 (K, C, *S).
    max_dims : int
        The most spatial axes its methods take.
    patch_kernels : tuple of str
        The patch kernels its methods compute ("uniform", "gaussian").
    availability : callable
        ``None`` when it can run here, else the reason it cannot.
    set_threads : callable or None
        Limits the CPU threads it computes with; None when it computes without
        CPU threads of its own (a GPU, or NumPy on one thread).
    device : callable or None
        The device it runs on, for ``nlmeans info`` (e.g. the GPU's name).
    mapped : callable or None
        The mapped pixelwise method (weights from a guide, averages of a values
        image, a σ map and a mask), ``fn(guide, values, f, r, sigma, hs, *,
        sigma_map=None, mask=None)`` as :func:`nlmeans.backends.reference.mapped_pixelwise`;
        None when the backend lacks it.
    motion : callable or None
        Motion-compensated pixelwise NLM of a time stack with 2-D patches, or
        None: ``fn(padded, f, r, sigma, h, moves, block, margin) -> (C, T, H, W)``
        float32 (:func:`nlmeans.backends.reference.motion_pixelwise`; padding
        :func:`motion_padding`).
    """

    name: str
    summary: str
    methods: Mapping[str, MethodFunction]
    max_dims: int = 2
    patch_kernels: tuple[str, ...] = ("uniform",)
    availability: Callable[[], str | None] = always_available
    set_threads: Callable[[int], None] | None = None
    device: Callable[[], str] | None = field(default=None, compare=False)
    mapped: MethodFunction | None = None
    motion: MethodFunction | None = None

    def warm_up(
        self, method: str, strengths: int = 1, patch_kernel: str = "uniform", ndim: int = 2
    ) -> None:
        """Compile (or load from the cache) ``method``'s kernels for ``strengths`` h at once.

        On ``ndim`` spatial axes: volumes and stacks may take other kernels than images.
        """
        hs = [1.0 + k for k in range(strengths)]
        shapes = [((1,) * ndim, (1,) * ndim)]
        if method == "pixel" and ndim == 3:
            # A time stack (2-D patches across frames) may take a kernel of its own.
            shapes.append(((0, 1, 1), (1, 1, 1)))
        for f, r in shapes:
            pad = padding(method, f, r)
            tiny = np.zeros((1, *(3 + 2 * p for p in pad)), dtype=np.float32)
            self.methods[method](tiny, f, r, 0.0, hs, patch_kernel=patch_kernel)
