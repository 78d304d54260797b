"""nlmeans in napari (the ``nlmeans[napari]`` extra): an npe2 plugin.

- :mod:`.widget`: the dock widget that denoises an image layer in a thread
  worker, with a progress bar and a cancel button;
- :mod:`.defaults`: what the widget proposes for a layer (per-axis radii from
  the layer's scale, the channel axis), free of Qt;
- :mod:`.samples`: the sample data (a noisy volume and a noisy photo);
- ``napari.yaml``: the manifest napari reads through the ``napari.manifest``
  entry point.
"""
