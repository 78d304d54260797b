"""The napari dock widget: denoise an image layer into a new layer.

The widget proposes what the command line would resolve for the layer (the
noise σ estimated, h and the radii from the presets) and shows it; radii
follow the layer's ``scale`` when its voxels are anisotropic
(:mod:`.defaults`). The denoising runs in a napari thread worker, so the
viewer stays responsive: :func:`nlmeans.denoise` reports its progress between
slabs along the first spatial axis, which drives the progress bar, and the
cancel button makes the next report raise, which stops the run there. The
result is added as a new layer with the input's scale, translation and
metadata (plus the parameters used, under ``metadata["nlmeans"]``).
"""

from __future__ import annotations

import threading
import time

import numpy as np
from magicgui.widgets import (
    CheckBox,
    ComboBox,
    Container,
    Label,
    LineEdit,
    ProgressBar,
    PushButton,
)
from napari.layers import Image
from napari.qt.threading import create_worker
from qtpy.QtCore import QObject, Signal

from .._denoise import denoise as _denoise
from .._reporting import params_line, params_record
from .._resolve import resolve_params
from ..backends import availability
from ..errors import NLMeansError
from ..noise import estimate_sigma
from ._defaults import (
    default_channel_axis,
    format_radii,
    is_anisotropic,
    parse_number,
    parse_radii,
    scaled_radius,
    spatial_scale,
)

#: The methods the widget offers, as :func:`nlmeans.denoise` names them.
METHODS = ("pixel", "patch", "combined", "bayes", "auto")
#: The noise models the widget offers (:func:`nlmeans.denoise`'s ``noise``).
NOISE_MODELS = ("gaussian", "poisson-gaussian", "rician")


class Cancelled(Exception):
    """Raised from the progress callback after the cancel button was pressed."""


class _Relay(QObject):
    """Carries progress reports from the worker thread to the widget (a queued signal)."""

    progressed = Signal(int, int)


def full_resolution(layer: Image):
    """Return the layer's full-resolution array as the layer holds it (multiscale: level 0)."""
    return layer.data[0] if layer.multiscale else layer.data


def layer_pixels(layer: Image) -> np.ndarray:
    """Return the layer's full-resolution pixels as a NumPy array."""
    return np.asarray(full_resolution(layer))


def cancellable_progress(cancel: threading.Event, report):
    """Make a ``progress(done, total)`` callback for :func:`nlmeans.denoise`.

    It raises :class:`Cancelled` once ``cancel`` is set, else passes the report on.
    """

    def progress(done: int, total: int) -> None:
        if cancel.is_set():
            raise Cancelled
        report(done, total)

    return progress


class DenoiseWidget(Container):
    """Non-local means over an image layer, as a napari dock widget.

    Parameters
    ----------
    napari_viewer : napari.viewer.Viewer
        The viewer whose image layers the widget lists (napari passes it).

    References
    ----------
    A. Buades, B. Coll, J.-M. Morel, "Non-Local Means Denoising", IPOL 1 (2011).
    """

    def __init__(self, napari_viewer) -> None:
        super().__init__(labels=True)
        self._viewer = napari_viewer
        self.image = ComboBox(label="image", choices=self._image_layers)
        self.method = ComboBox(label="method", choices=METHODS, value="pixel")
        self.noise = ComboBox(label="noise model", choices=NOISE_MODELS, value="gaussian")
        self.sigma = LineEdit(label="noise σ")
        self.estimate = Label(label="", value="")
        self.h = LineEdit(label="h")
        self.patch_radius = LineEdit(label="patch radius f")
        self.search_radius = LineEdit(label="search radius r")
        self.tune = CheckBox(text="tune h, f and method by SURE", value=False)
        self.backend = ComboBox(label="backend", choices=_backend_choices(), value="auto")
        self.channel_axis = ComboBox(label="channel axis", choices=self._channel_choices)
        self.run_button = PushButton(text="Denoise")
        self.cancel_button = PushButton(text="Cancel", enabled=False)
        self.progress = ProgressBar(label="progress", min=0, max=1, value=0)
        self.status = Label(label="", value="")
        self.extend(
            [
                self.image,
                self.method,
                self.noise,
                self.sigma,
                self.estimate,
                self.h,
                self.patch_radius,
                self.search_radius,
                self.tune,
                self.backend,
                self.channel_axis,
                self.run_button,
                self.cancel_button,
                self.progress,
                self.status,
            ]
        )
        self.sigma.native.setPlaceholderText("estimated")
        self.h.native.setPlaceholderText("preset")
        for field in (self.patch_radius, self.search_radius):
            field.native.setPlaceholderText("preset (one value, or one per axis)")
        self._cancel = threading.Event()
        self._relay = _Relay()
        self._relay.progressed.connect(self._on_progress)
        self._worker = None
        self._estimator = None
        self._started = 0.0
        self.image.changed.connect(self._layer_changed)
        self.channel_axis.changed.connect(self._refresh_defaults)
        self.run_button.clicked.connect(self.run)
        self.cancel_button.clicked.connect(self.cancel)
        events = napari_viewer.layers.events
        for event in (events.inserted, events.removed, events.reordered):
            event.connect(self.reset_choices)
        self.reset_choices()
        self._layer_changed()

    # -- the layer and what the widget proposes for it ---------------------------

    def _image_layers(self, widget=None) -> list[tuple[str, Image]]:
        return [(layer.name, layer) for layer in self._viewer.layers if isinstance(layer, Image)]

    def _channel_choices(self, widget=None) -> list[tuple[str, int | None]]:
        layer = self.image.value if hasattr(self, "image") else None
        ndim = 0 if layer is None else full_resolution(layer).ndim
        return [("none", None)] + [(str(k), k) for k in range(ndim)]

    def _layer_changed(self, *_) -> None:
        self.channel_axis.reset_choices()
        layer = self.image.value
        if layer is None:
            return
        self.channel_axis.value = default_channel_axis(full_resolution(layer).shape, layer.rgb)
        self._refresh_defaults()

    def _refresh_defaults(self, *_) -> None:
        """Estimate σ in a worker, then show it and the presets (radii scaled to the voxels)."""
        layer = self.image.value
        if layer is None:
            return
        channel_axis = self.channel_axis.value
        self.estimate.value = "estimating σ…"
        worker = create_worker(
            _presets, layer_pixels(layer), channel_axis, _ignore_errors=True, _start_thread=False
        )
        worker.returned.connect(
            lambda found: self._show_defaults(layer, channel_axis, *found)
        )  # fmt: skip
        worker.errored.connect(lambda error: setattr(self.estimate, "value", f"σ: {error}"))
        self._estimator = worker
        worker.start()

    def _show_defaults(self, layer, channel_axis, sigma: float, params) -> None:
        if layer is not self.image.value or channel_axis != self.channel_axis.value:
            return  # the choice changed meanwhile; its own estimate follows
        self.estimate.value = (
            f"estimated σ = {sigma:.4g}; presets f={format_radii(params.f)} "
            f"r={format_radii(params.r)} h={params.h:.4g}"
        )
        self.h.native.setPlaceholderText(f"preset {params.h:.4g}")
        scale = spatial_scale(layer.scale, channel_axis)
        if is_anisotropic(scale):
            self.patch_radius.value = format_radii(scaled_radius(params.f, scale))
            self.search_radius.value = format_radii(scaled_radius(params.r, scale))
        else:
            self.patch_radius.value = ""
            self.search_radius.value = ""
            self.patch_radius.native.setPlaceholderText(f"preset {format_radii(params.f)}")
            self.search_radius.native.setPlaceholderText(f"preset {format_radii(params.r)}")

    # -- running -----------------------------------------------------------------

    def options(self, ndim: int) -> dict:
        """Return the keyword arguments of :func:`nlmeans.denoise` the fields say.

        Raises NLMeansError naming the field when one is not valid.
        """
        return dict(
            sigma=parse_number("noise σ", self.sigma.value),
            h=parse_number("h", self.h.value),
            f=parse_radii("patch radius", self.patch_radius.value, ndim),
            r=parse_radii("search radius", self.search_radius.value, ndim),
            method=self.method.value,
            noise=self.noise.value,
            tune=self.tune.value,
            backend=self.backend.value,
            channel_axis=self.channel_axis.value,
            return_params=True,
        )

    def run(self) -> None:
        """Denoise the chosen layer in a thread worker; the result becomes a new layer."""
        layer = self.image.value
        if layer is None or self._worker is not None:
            return
        pixels = layer_pixels(layer)
        channel_axis = self.channel_axis.value
        try:
            options = self.options(pixels.ndim - (channel_axis is not None))
        except NLMeansError as error:
            self.status.value = f"error: {error}"
            return
        self._cancel.clear()
        progress = cancellable_progress(self._cancel, self._relay.progressed.emit)
        worker = create_worker(
            _run, pixels, options, progress, self._cancel, _ignore_errors=True,
            _start_thread=False,
        )  # fmt: skip
        worker.returned.connect(lambda done: self._add_result(layer, *done))
        worker.errored.connect(self._on_error)
        worker.finished.connect(self._idle)
        self._worker = worker
        self.run_button.enabled = False
        self.cancel_button.enabled = True
        self.progress.max = 1
        self.progress.value = 0
        self.status.value = "denoising…"
        self._started = time.perf_counter()
        worker.start()

    def cancel(self) -> None:
        """Stop the run at its next progress report (between slabs)."""
        if self._worker is not None:
            self._cancel.set()
            self.status.value = "cancelling…"

    def _on_progress(self, done: int, total: int) -> None:
        self.progress.max = total
        self.progress.value = done

    def _add_result(self, layer, result: np.ndarray, params) -> None:
        self.progress.value = self.progress.max
        metadata = {**layer.metadata, "nlmeans": params_record(params)}
        extra = {} if layer.rgb else {"colormap": layer.colormap.name}
        self._viewer.add_image(
            result,
            name=f"{layer.name} (nlmeans)",
            scale=layer.scale,
            translate=layer.translate,
            metadata=metadata,
            rgb=layer.rgb,
            contrast_limits=layer.contrast_limits,
            **extra,
        )
        elapsed = time.perf_counter() - self._started
        self.status.value = (
            f"done in {elapsed:.2f} s: f={format_radii(params.f)} r={format_radii(params.r)} "
            f"h={params.h:.4g}"
        )
        self.status.tooltip = params_line(params)

    def _on_error(self, error: BaseException) -> None:
        if isinstance(error, Cancelled):
            self.status.value = "cancelled"
        elif isinstance(error, NLMeansError):
            self.status.value = f"error: {error}"
        else:
            self.status.value = f"internal error: {type(error).__name__}: {error}"

    def _idle(self) -> None:
        self._worker = None
        self.run_button.enabled = True
        self.cancel_button.enabled = False


def _backend_choices() -> list[tuple[str, str]]:
    """``auto`` (naming the backend it picks: the GPU when one is usable) and the usable ones."""
    usable = [name for name in ("cuda", "cpu", "reference") if availability(name) is None]
    picked = "cuda (GPU)" if "cuda" in usable else "cpu"
    labels = {"cuda": "cuda (GPU)", "cpu": "cpu (Numba)", "reference": "reference (slow NumPy)"}
    return [(f"auto: {picked}", "auto")] + [(labels[name], name) for name in usable]


def _presets(pixels: np.ndarray, channel_axis):
    """Estimate σ and resolve the preset parameters for ``pixels`` (runs in a worker)."""
    sigma = float(estimate_sigma(pixels, channel_axis=channel_axis))
    return sigma, resolve_params(pixels, sigma=sigma, channel_axis=channel_axis)


def _run(pixels: np.ndarray, options: dict, progress, cancel: threading.Event):
    """:func:`nlmeans.denoise` with ``progress`` (runs in a worker); Cancelled if cancelled."""
    if cancel.is_set():
        raise Cancelled
    return _denoise(pixels, progress=progress, **options)
