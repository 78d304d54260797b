"""The README's before/after figure: a crop of the bundled sample, denoised.

Crops ``samples/astronaut.png`` and ``samples/astronaut_noisy.png`` (σ = 20)
to 192×192 around the face, runs ``nlmeans compare`` on the crop with
``--montage`` (noisy | nlmeans | scikit-image | clean, each with its PSNR)
and writes ``docs/_static/astronaut-montage.png``. Run it by hand:
``python docs/scripts/sample_montage.py``.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "docs" / "_static" / "astronaut-montage.png"
CROP = (slice(20, 212), slice(150, 342))  # rows, columns: the face and the helmet's edge


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for name in ("astronaut", "astronaut_noisy"):
            pixels = np.asarray(Image.open(ROOT / "samples" / f"{name}.png"))[CROP]
            path = Path(folder) / f"{name}.png"
            Image.fromarray(np.ascontiguousarray(pixels)).save(path)
            paths.append(path)
        clean, noisy = paths
        command = [sys.executable, "-m", "nlmeans", "compare", str(clean), "--noisy", str(noisy)]
        subprocess.run([*command, "--no-opencv", "--montage", str(OUT)], check=True)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
