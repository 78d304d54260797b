"""The request: what the user asked for, in one frozen record, checked once.

The command line builds a :class:`Request` from its options
(:meth:`Request.from_options`), the API from its keyword arguments
(:func:`nlmeans.denoise` and :func:`nlmeans.dask.denoise`), and every path (one
image, a stack, a ``.zarr`` store, a batch, a Dask cluster, a streamed video,
the comparison) takes that record as it is: no path lists the options again.
Each value is checked when the record is made, by the normalisers of
:mod:`nlmeans.params` and :mod:`nlmeans.noise`, with one message each.

This module imports nothing heavy: the command line's start-up reads its
defaults.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

#: Side of a chunk, pixels per spatial axis, for ``.zarr`` inputs and outputs.
DEFAULT_CHUNK = 1024

#: The method a request without one runs.
DEFAULT_METHOD = "pixel"


@dataclass(frozen=True, eq=False)
class Request:
    """What the user asked for: the choices that decide a denoised result.

    Unset values (None) are resolved from the image later, by the presets, the
    noise estimator or SURE. Making a record checks every value given (an
    NLMeansError names the first bad one); a record is immutable, and
    :func:`dataclasses.replace` makes a changed copy, checked again.

    Attributes
    ----------
    h, sigma, f, r, method, tune, h_chroma, patch_kernel
        As in :func:`nlmeans.denoise` (``sigma`` may be a σ map there).
    components : tuple of Component
        ``method="combined"`` with its terms fixed (``Params.components``, as
        :meth:`with_params` sets them): the combination is computed as given,
        not fitted. Empty otherwise.
    noise, gain, read_noise, offset, coils, motion
        The noise model and its settings, and motion-compensated search, as in
        :func:`nlmeans.denoise`.
    backend : {"auto", "cpu", "cuda", "reference"}
        Where the kernels run.
    threads : int, optional
        CPU threads (Numba), >= 1; None for every core (or, on Dask, the
        per-task rule of :func:`nlmeans.dask.task_threads`).
    channel_axis : int, None or "auto"
        The channels' axis, None when every axis is spatial; "auto" as in
        :func:`nlmeans.denoise`.
    data_range : float, optional
        The raw value corresponding to 255 on the presets' 8-bit scale.
    axes : str, optional
        A file's axes (``--axes``: T, Z, Y, X, C), None to read them from the file.
    chunks : int
        Chunk side of a ``.zarr`` input or output, pixels per spatial axis.
    """

    h: float | None = None
    sigma: Any = None
    f: Any = None
    r: Any = None
    method: str | None = None
    tune: bool | None = None
    h_chroma: float | None = None
    components: tuple = ()
    patch_kernel: str = "uniform"
    noise: str = "gaussian"
    gain: float | None = None
    read_noise: float | None = None
    offset: float | None = None
    coils: int = 1
    motion: bool = False
    backend: str = "auto"
    threads: int | None = None
    channel_axis: Any = "auto"
    data_range: float | None = None
    axes: str | None = None
    chunks: int = DEFAULT_CHUNK

    def __post_init__(self) -> None:
        for name, value in normalise(self).items():
            object.__setattr__(self, name, value)

    @classmethod
    def from_options(cls, options: dict) -> Request:
        """Return the record of a command's options: each of its fields the command takes.

        ``options`` maps option names to values (a command's ``locals()``);
        names that are not fields (paths, ``--quiet``, …) are left out, and an
        option left at None keeps the field's default.
        """
        names = {field.name for field in fields(cls)}
        given = {k: v for k, v in options.items() if k in names}
        defaults = {f.name: f.default for f in fields(cls)}
        return cls(**{k: (defaults[k] if v is None else v) for k, v in given.items()})

    @property
    def tuned(self) -> bool:
        """Whether SURE chooses the parameters.

        When ``tune`` is True or the method is "combined" or "auto"; and by
        default (``tune`` None) when ``h`` is not given and SURE can tune the
        request: an NLM method, the uniform patch kernel, Gaussian or
        Poisson-Gaussian noise with one σ, no motion compensation. ``tune=False`` keeps the presets.
        """
        if self.tune_asked:
            return True
        return self.tune is None and self.h is None and self.tunable

    @property
    def tune_asked(self) -> bool:
        """Whether tuning was asked for: ``tune=True``, or the combined or auto method."""
        fitted = self.method in ("combined", "auto") and not self.components
        return bool(self.tune) or fitted

    @property
    def tunable(self) -> bool:
        """Whether SURE can choose this request's parameters (what the default tuning asks)."""
        nlm = self.method in (None, "pixel", "patch")  # NL-Bayes keeps its presets
        return nlm and self.patch_kernel == "uniform" and not self.mapped and not self.motion

    @property
    def mapped(self) -> bool:
        """Whether a σ map or a noise model other than Gaussian or Poisson-Gaussian is asked."""
        return self.noise == "rician" or self.coils != 1 or hasattr(self.sigma, "shape")

    def kernels_to_warm(self, backend) -> list[tuple[str, int]]:
        """Return (method, number of h) pairs to compile or load before the first image.

        The methods come from ``backend.methods`` (the registry): a combination
        is fitted by SURE, so "combined" (or tuning without a method) warms the
        pixelwise method with one and two strengths (SURE's sweeps; "auto"
        every method the backend declares, NL-Bayes among them); tuning with a
        method warms that method's two.
        """
        if self.method == "auto":
            return [(m, k) for m in backend.methods for k in (1, 2)]
        if self.method == "combined" or (self.tuned and self.method is None):
            # Images large enough for tiles search pixelwise candidates only; the
            # patchwise kernels of smaller ones load (or compile) when first used.
            return [("pixel", 1), ("pixel", 2)]
        if self.tuned:
            return [(self.method, 1), (self.method, 2)]
        return [(self.method or DEFAULT_METHOD, 1)]

    def keywords(self, *names: str) -> dict:
        """Return the fields ``names`` as a dict, for the calls that take a few of them."""
        return {name: getattr(self, name) for name in names}

    def with_params(self, params) -> Request:
        """Return this request with the resolved (or tuned) ``params`` fixed, tuning off.

        What ``batch --same-params`` gives the files after the first (a
        combination with its terms and weights, not fitted again). With a
        Poisson-Gaussian model the stabilised image's σ is 1: the model's gain,
        read noise and offset are fixed instead of σ.
        """
        fixed = dict(h=params.h, sigma=params.sigma, f=params.f, r=params.r)
        fixed.update(h_chroma=params.h_chroma, method=params.method, tune=False)
        fixed.update(components=params.components)  # a combination's terms, as fitted
        model = params.noise_model
        if model is not None:
            fixed.update(sigma=None, gain=model.gain, read_noise=model.read_noise)
            fixed.update(offset=model.offset)
        return replace(self, **fixed)


def normalise(request: Request) -> dict:
    """Return the checked values of ``request``'s fields, or NLMeansError naming the first bad one.

    Every value is checked here once, by the normalisers of
    :mod:`nlmeans.params` (:func:`~nlmeans.params.validate`: ranges and names) and
    :func:`nlmeans.noise._models.check_noise`;
    what needs the image (a tuple's length against its axes, ``channel_axis``'s
    range, ``h_chroma``'s three channels) is checked where the image is known.
    """
    from .errors import NLMeansError
    from .noise._models import check_noise
    from .params import check_channel_axis_type, check_components, check_count, validate

    r = request
    mapped = hasattr(r.sigma, "shape")  # a σ map is checked with its image
    values = validate(
        h=r.h, sigma=None if mapped else r.sigma, f=r.f, r=r.r,
        method=r.method or DEFAULT_METHOD, h_chroma=r.h_chroma, patch_kernel=r.patch_kernel,
    )  # fmt: skip
    values.update(method=r.method, sigma=r.sigma if mapped else values["sigma"])
    values.update({
        "noise": check_noise(r.noise, r.gain, r.read_noise, r.offset),
        "threads": None if r.threads is None else check_count("threads", r.threads),
        "chunks": check_count("chunks", r.chunks),
        "coils": check_count("coils", r.coils),
        "channel_axis": check_channel_axis_type(r.channel_axis),
        "tune": None if r.tune is None else bool(r.tune),
        "motion": bool(r.motion),
    })  # fmt: skip
    if r.tuned and r.patch_kernel != "uniform":
        raise NLMeansError(
            f"tune=True chooses parameters for the uniform patch kernel only, not "
            f"patch_kernel={r.patch_kernel!r}; give h (and f, r) to use it"
        )
    if r.components:
        if r.method != "combined" or r.tune:
            raise NLMeansError("components= fixes a combination: method='combined', tune unset")
        # The weights' chrominance rule needs the image: checked again when resolved.
        values["components"] = check_components(r.components, 3)
    if r.coils != 1 and r.noise != "rician":
        raise NLMeansError(f"coils={r.coils} needs noise='rician'")
    if r.motion and (r.tune or r.method == "auto"):
        raise NLMeansError("motion=True takes given or preset parameters, not tune=True")
    return values
