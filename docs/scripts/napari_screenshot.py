"""Screenshot of the napari widget docked beside a noisy and a denoised volume, for the docs.

Opens napari with the plugin's noisy volume sample (voxels twice as deep as
wide), docks the nlmeans widget, lets it propose its parameters (σ estimated,
radii halved along z), denoises, and saves the whole window, widget included,
to ``docs/_static/napari-widget.png``. Needs the napari extra and a display:
``docs/build.sh`` runs it under ``xvfb-run`` when there is none.
"""

from __future__ import annotations

import time
from pathlib import Path

import napari
from qtpy.QtWidgets import QApplication

from nlmeans.napari._samples import noisy_volume
from nlmeans.napari._widget import DenoiseWidget

OUT = Path(__file__).resolve().parents[1] / "_static" / "napari-widget.png"
TIMEOUT_S = 300


def wait_until(condition, what: str) -> None:
    start = time.monotonic()
    while not condition():
        QApplication.processEvents()
        time.sleep(0.02)
        if time.monotonic() - start > TIMEOUT_S:
            raise SystemExit(f"napari_screenshot: timed out waiting for {what}")


def main() -> None:
    viewer = napari.Viewer(title="nlmeans", show=True)
    viewer.window.resize(1560, 720)
    [(volume, meta, _)] = noisy_volume()
    viewer.add_image(volume, **meta)
    panel = DenoiseWidget(viewer)
    viewer.window.add_dock_widget(panel, name="Non-local means (nlmeans)", area="right")
    wait_until(lambda: panel.estimate.value.startswith("estimated σ"), "the σ estimate")
    panel.run_button.clicked.emit()
    wait_until(lambda: len(viewer.layers) == 2 and panel.run_button.enabled, "the denoising")
    # The noisy and the denoised slice side by side (napari 0.9 moved grid to viewer.canvas).
    (viewer.canvas if hasattr(viewer, "canvas") else viewer).grid.enabled = True
    viewer.dims.axis_labels = ("z", "y", "x")
    viewer.dims.set_point(0, volume.shape[0] // 2 * meta["scale"][0])
    settle = time.monotonic() + 1.0  # let the canvas take its size before framing it
    while time.monotonic() < settle:
        QApplication.processEvents()
        time.sleep(0.02)
    viewer.reset_view()
    QApplication.processEvents()
    OUT.parent.mkdir(exist_ok=True)
    viewer.screenshot(str(OUT), canvas_only=False)
    viewer.close()
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
