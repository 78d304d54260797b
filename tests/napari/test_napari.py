"""The napari plugin (``nlmeans[napari]``) in a real viewer.

Needs napari with a Qt binding, pytest-qt and a display: ``tests/run_all.sh``
runs this module under ``xvfb-run`` (napari's viewer needs OpenGL, which Qt's
offscreen platform does not give). Skipped only when napari is not installed.
"""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest

# "napari.viewer", not "napari": pytest's importlib mode registers this test
# folder as a module named napari, which an import of "napari" alone would find.
pytest.importorskip("napari.viewer")

import nlmeans  # noqa: E402
from nlmeans.napari import _samples as samples  # noqa: E402
from nlmeans.napari import _widget as widget  # noqa: E402
from nlmeans.napari._widget import DenoiseWidget  # noqa: E402

if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
    pytest.fail(
        "the napari tests need a display: run them under xvfb-run (tests/run_all.sh does)",
        pytrace=False,
    )

WAIT_MS = 120_000  # generous: the first run compiles (or loads) the kernels


def docked(viewer) -> DenoiseWidget:
    panel = DenoiseWidget(viewer)
    viewer.window.add_dock_widget(panel, name="nlmeans")
    return panel


def wait_for_defaults(qtbot, panel):
    qtbot.waitUntil(lambda: panel.estimate.value.startswith("estimated σ"), timeout=WAIT_MS)


def test_the_manifest_is_found_through_the_entry_point():
    import npe2

    manager = npe2.PluginManager.instance()
    manager.discover()
    manifest = manager.get_manifest("nlmeans")
    assert manifest.name == "nlmeans"
    commands = {command.id: command for command in manifest.contributions.commands}
    assert {"nlmeans.denoise_widget", "nlmeans.noisy_volume", "nlmeans.noisy_photo"} <= set(
        commands
    )
    for command in commands.values():
        assert callable(_load(command.python_name))
    assert [w.command for w in manifest.contributions.widgets] == ["nlmeans.denoise_widget"]
    keys = {sample.key for sample in manifest.contributions.sample_data}
    assert keys == {"noisy_volume", "noisy_photo"}


def _load(python_name: str):
    from importlib import import_module

    module, name = python_name.split(":")
    return getattr(import_module(module), name)


def test_sample_data():
    [(volume, volume_meta, kind)] = samples.noisy_volume()
    assert kind == "image" and volume.dtype == np.uint8 and volume.shape == (32, 96, 96)
    assert volume_meta["scale"] == (2.0, 1.0, 1.0)
    [(photo, photo_meta, _)] = samples.noisy_photo()
    assert photo.shape == (512, 512, 3) and photo_meta["rgb"]
    # Noisy: the estimate of the added noise is near its sigma (8-bit units).
    assert 15 < nlmeans.estimate_sigma(photo, channel_axis=-1) < 25


def test_anisotropic_volume_gets_anisotropic_radii(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    [(volume, meta, _)] = samples.noisy_volume()
    layer = viewer.add_image(volume, **meta, translate=(5.0, 0.0, -3.0), metadata={"id": 7})
    panel = docked(viewer)
    assert panel.image.value is layer
    assert panel.channel_axis.value is None
    wait_for_defaults(qtbot, panel)
    preset = nlmeans.resolve_params(volume)
    sigma = nlmeans.estimate_sigma(volume)
    assert f"{sigma:.4g}" in panel.estimate.value
    # Voxels twice as deep as wide: the presets' radii halved (rounded) along z.
    assert preset.f == 1 and preset.r == 3
    assert panel.patch_radius.value == "0,1,1"
    assert panel.search_radius.value == "2,3,3"

    panel.run_button.clicked.emit()
    qtbot.waitUntil(lambda: len(viewer.layers) == 2, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: panel.run_button.enabled, timeout=WAIT_MS)
    result = viewer.layers[1]
    # The widget's "tune" box is unchecked: the presets' h for the proposed radii.
    expected = nlmeans.denoise(volume, f=(0, 1, 1), r=(2, 3, 3), tune=False)
    np.testing.assert_array_equal(result.data, expected)
    assert result.data.dtype == volume.dtype
    np.testing.assert_array_equal(result.scale, layer.scale)
    np.testing.assert_array_equal(result.translate, layer.translate)
    assert result.metadata["id"] == 7
    assert result.metadata["nlmeans"]["f"] == (0, 1, 1)
    assert result.metadata["nlmeans"]["sigma_estimated"] is True
    assert panel.progress.value == panel.progress.max
    assert panel.status.value.startswith("done in")


def test_rgb_photo_uses_its_channel_axis_and_given_parameters(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    [(photo, meta, _)] = samples.noisy_photo()
    crop = np.ascontiguousarray(photo[:96, 200:296])
    viewer.add_image(crop, **meta)
    panel = docked(viewer)
    assert panel.channel_axis.value == 2
    wait_for_defaults(qtbot, panel)
    assert panel.patch_radius.value == ""  # square pixels: the presets
    panel.sigma.value = "20"
    panel.h.value = "9"
    panel.search_radius.value = "4"
    panel.method.value = "patch"
    panel.backend.value = "cpu"
    panel.run_button.clicked.emit()
    qtbot.waitUntil(lambda: len(viewer.layers) == 2, timeout=WAIT_MS)
    result = viewer.layers[1]
    assert result.rgb
    expected = nlmeans.denoise(crop, h=9, sigma=20, r=4, method="patch", channel_axis=2)
    np.testing.assert_array_equal(result.data, expected)


def test_noise_model_reaches_the_library(make_napari_viewer, qtbot):
    rng = np.random.default_rng(3)
    clean = np.full((48, 48), 60.0)
    clean[12:36, 12:36] = 160.0
    magnitude = np.hypot(clean + rng.normal(0, 8, clean.shape), rng.normal(0, 8, clean.shape))
    viewer = make_napari_viewer()
    viewer.add_image(magnitude.astype(np.float32))
    panel = docked(viewer)
    panel.noise.value = "rician"
    panel.sigma.value = "8"
    panel.h.value = "8"
    panel.backend.value = "cpu"
    panel.run_button.clicked.emit()
    qtbot.waitUntil(lambda: len(viewer.layers) == 2, timeout=WAIT_MS)
    expected = nlmeans.denoise(
        magnitude.astype(np.float32), h=8, sigma=8, noise="rician", channel_axis=None
    )
    np.testing.assert_array_equal(viewer.layers[1].data, expected)
    gaussian = nlmeans.denoise(magnitude.astype(np.float32), h=8, sigma=8, channel_axis=None)
    assert not np.array_equal(expected, gaussian)


def test_auto_method_lets_sure_choose_between_nlm_and_nl_bayes(make_napari_viewer, qtbot):
    rng = np.random.default_rng(4)
    y, x = np.mgrid[0:48, 0:48]
    noisy = (100 + 60 * np.sin(x / 5.0) * (y > 20) + rng.normal(0, 20, (48, 48))).astype(np.float32)
    viewer = make_napari_viewer()
    viewer.add_image(noisy)
    panel = docked(viewer)
    assert "auto" in panel.method.choices
    panel.method.value = "auto"
    panel.sigma.value = "20"
    panel.backend.value = "cpu"
    panel.run_button.clicked.emit()
    qtbot.waitUntil(lambda: len(viewer.layers) == 2, timeout=WAIT_MS)
    expected, params = nlmeans.denoise(
        noisy, sigma=20, method="auto", channel_axis=None, return_params=True
    )
    np.testing.assert_array_equal(viewer.layers[1].data, expected)
    assert params.method in ("pixel", "patch", "combined", "bayes")
    assert params.method in panel.status.tooltip


def test_bad_field_is_reported_and_nothing_runs(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    viewer.add_image(np.zeros((16, 16), np.uint8))
    panel = docked(viewer)
    panel.patch_radius.value = "1,x"
    panel.run_button.clicked.emit()
    assert panel.status.value.startswith("error: patch radius '1,x'")
    assert panel._worker is None and len(viewer.layers) == 1


def test_library_error_is_shown(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    viewer.add_image(np.zeros((16, 16), np.int8))  # a dtype nlmeans refuses
    panel = docked(viewer)
    panel.sigma.value = "1"
    panel.run_button.clicked.emit()
    qtbot.waitUntil(lambda: panel.run_button.enabled, timeout=WAIT_MS)
    assert panel.status.value.startswith("error:") and "int8" in panel.status.value
    assert len(viewer.layers) == 1


def test_cancel_stops_between_slabs(make_napari_viewer, qtbot, monkeypatch):
    # Many slabs (tiny slab work). The first slab's report waits until Cancel has been
    # pressed, so the cancel lands there whatever the machine's load.
    import nlmeans._blocks

    monkeypatch.setattr(nlmeans._blocks, "SLAB_WORK", 1.0)
    first, gate = threading.Event(), threading.Event()
    reports = []
    real = widget._denoise

    def gated(pixels, progress, **options):
        def counted(done, total):
            reports.append((done, total))
            first.set()
            gate.wait(WAIT_MS / 1000)
            progress(done, total)

        return real(pixels, progress=counted, **options)

    monkeypatch.setattr(widget, "_denoise", gated)
    viewer = make_napari_viewer()
    viewer.add_image(np.random.default_rng(0).integers(0, 255, (64, 64), dtype=np.uint8))
    panel = docked(viewer)
    panel.sigma.value = "10"
    panel.run_button.clicked.emit()
    assert not panel.run_button.enabled and panel.cancel_button.enabled
    qtbot.waitUntil(first.is_set, timeout=WAIT_MS)
    panel.cancel_button.clicked.emit()
    gate.set()
    qtbot.waitUntil(lambda: panel.run_button.enabled, timeout=WAIT_MS)
    assert panel.status.value == "cancelled"
    assert len(viewer.layers) == 1
    # Stopped at the first slab's report: no further slab was computed.
    [(done, total)] = reports
    assert done < total == 64
    assert not panel.cancel_button.enabled


def test_cancellable_progress():
    cancel = threading.Event()
    seen = []
    progress = widget.cancellable_progress(cancel, lambda done, total: seen.append(done))
    progress(1, 4)
    cancel.set()
    with pytest.raises(widget.Cancelled):
        progress(2, 4)
    assert seen == [1]
