"""A labelled side-by-side picture of a comparison."""

from __future__ import annotations

import numpy as np

from ._comparison import Comparison

#: Panels of the montage, left to right.
MONTAGE_PANELS = ("noisy", "nlmeans", "scikit-image", "clean")


def montage_label_height(width: int) -> int:
    """Height in pixels of the label band above each panel of a montage."""
    return max(16, width // 20)


def montage(comparison: Comparison, clean: np.ndarray) -> np.ndarray:
    """Return noisy | nlmeans | scikit-image | clean side by side, uint8 RGB.

    Each under a label with its name and PSNR, drawn with Pillow.

    The result is (H + label band) × 4W × 3, the band being
    :func:`montage_label_height` pixels high.
    """
    from PIL import Image, ImageDraw, ImageFont

    height, width = clean.shape[:2]
    band = montage_label_height(width)
    psnrs = {row.method: row.psnr for row in comparison.rows}
    canvas = Image.new("RGB", (width * len(MONTAGE_PANELS), height + band), "white")
    draw = ImageDraw.Draw(canvas)
    try:
        font = ImageFont.load_default(size=int(band * 0.7))
    except TypeError:  # Pillow < 10.1 has a single bitmap size
        font = ImageFont.load_default()
    for column, name in enumerate(MONTAGE_PANELS):
        panel = clean if name == "clean" else comparison.estimates[name]
        pixels = np.clip(np.rint(panel), 0, 255).astype(np.uint8)
        if pixels.ndim == 2:
            pixels = np.repeat(pixels[..., np.newaxis], 3, axis=-1)
        canvas.paste(Image.fromarray(pixels[..., :3]), (column * width, band))
        label = name if name == "clean" else f"{name}  {psnrs[name]:.2f} dB"
        draw.text((column * width + band // 4, band // 8), label, fill="black", font=font)
    return np.asarray(canvas)
