"""The ``denoise`` command's σ map, mask and noise model options, and reading their files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

SigmaMapOption = Annotated[
    Path | None,
    typer.Option(
        "--sigma-map",
        help="File (TIFF, .npy, PNG) of the noise sigma per pixel, raw units, the image's "
        "spatial shape; h is resolved for its root mean square. Pixelwise only.",
    ),
]
MaskOption = Annotated[
    Path | None,
    typer.Option(
        "--mask",
        help="File of the image's spatial shape (read with the image's spatial axes): nonzero "
        "pixels are denoised (averaging only each other), zero pixels are copied unchanged. "
        "Pixelwise only.",
    ),
]
CoilsOption = Annotated[
    int,
    typer.Option("--coils", min=1, help="--noise rician: coils combined by sum of squares (N)."),
]


def read_spatial(path: Path, name: str, picture):
    """Return the array in ``path`` (a value per pixel of ``picture``), or raise naming it.

    The file's axes are the image's spatial ones (its ``--axes`` or metadata
    without C): a stack's mask saved without axes metadata reads as the stack.
    """
    from ..errors import NLMeansError
    from ..io import read_image

    values = read_image(path, picture.spatial if picture.is_stack else None).pixels
    shape = tuple(n for a, n in enumerate(picture.pixels.shape) if a != _axis(picture))
    if values.shape != shape:
        raise NLMeansError(
            f"{name} {path} has shape {values.shape}; expected the image's spatial shape {shape}"
        )
    return values


def _axis(picture):
    axis = picture.channel_axis
    return None if axis is None else axis % picture.pixels.ndim


def read_maps(sigma, sigma_map: Path | None, mask: Path | None, picture):
    """(sigma or the σ map, the mask or None) for ``picture``, from the options' files."""
    from ..errors import NLMeansError

    if sigma_map is not None:
        if sigma is not None:
            raise NLMeansError("--sigma and --sigma-map are exclusive; give one")
        sigma = read_spatial(sigma_map, "--sigma-map", picture)
    inside = None if mask is None else read_spatial(mask, "--mask", picture) != 0
    return sigma, inside


def warm_mapped(backend, ndim: int) -> None:
    """Compile (or load) ``backend``'s mapped kernel for ``ndim`` spatial axes.

    The reported time is then the run's (the plain kernels are warmed by
    ``prepare_backend``).
    """
    import numpy as np

    if backend.mapped is None:
        return
    ndim = min(ndim, backend.max_dims)
    tiny = np.zeros((1,) + (5,) * ndim, np.float32)  # 3 pixels per axis, padded by f + r = 2
    ones = np.ones(tiny.shape[1:])
    backend.mapped(tiny, tiny, (1,) * ndim, (1,) * ndim, 1.0, [1.0], sigma_map=ones, mask=ones > 0)
    # A mask alone: the CPU backend's 2-D tiles on 2-D images (the N-D kernel otherwise).
    backend.mapped(tiny, None, (1,) * ndim, (1,) * ndim, 1.0, [1.0], mask=ones > 0)
