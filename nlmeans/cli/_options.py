"""The options the commands that denoise share, as Typer ``Annotated`` aliases.

Their parameter names are the fields of :class:`nlmeans.Request`, which
each command builds from them once (:meth:`~nlmeans.Request.from_options`).
"""

from __future__ import annotations

from typing import Annotated

import typer

HOption = Annotated[
    float | None,
    typer.Option(
        "--h", help="Filtering strength h, raw intensity units (0-255 for 8-bit). Default: preset."
    ),
]
SigmaOption = Annotated[
    float | None,
    typer.Option(
        "--sigma", help="Noise standard deviation, raw intensity units. Default: estimated."
    ),
]

NoiseOption = Annotated[
    str,
    typer.Option(
        "--noise",
        help="Noise model: gaussian; poisson-gaussian (photon counts: variance-stabilised, "
        "denoised, exact unbiased inverse); or rician (magnitude MRI: NLM of the squared "
        "magnitude with the 2*N*sigma^2 bias removed; sigma from the background unless given).",
    ),
]
GainOption = Annotated[
    float | None,
    typer.Option(
        "--gain", help="poisson-gaussian: raw units per photon count. Default: estimated."
    ),
]
ReadNoiseOption = Annotated[
    float | None,
    typer.Option(
        "--read-noise",
        help="poisson-gaussian: Gaussian read noise deviation, raw units. Default: estimated.",
    ),
]
OffsetOption = Annotated[
    float | None,
    typer.Option("--offset", help="poisson-gaussian: the dark level, raw units. Default: 0."),
]


def parse_radii(value: str | None):
    """``--r``/``--f``: one int for every spatial axis, or comma-separated ints, one per axis."""
    if value is None:
        return None
    parts = [part.strip() for part in str(value).split(",")]
    try:
        numbers = [int(part) for part in parts]
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not an integer or a comma-separated list of integers (e.g. 2,10,10)"
        ) from None
    return numbers[0] if len(numbers) == 1 else tuple(numbers)


ROption = Annotated[
    str | None,
    typer.Option(
        "--r",
        callback=parse_radii,
        help="Search radius, pixels: window 2r+1 along each spatial axis; one value for all "
        "axes or one per axis, e.g. 2,10,10 (time, y, x). Default: preset.",
    ),
]
FOption = Annotated[
    str | None,
    typer.Option(
        "--f",
        callback=parse_radii,
        help="Patch radius, pixels: patch 2f+1 along each spatial axis; one value for all "
        "axes or one per axis, e.g. 0,3,3 (2-D patches across frames). Default: preset.",
    ),
]
MethodOption = Annotated[
    str | None,
    typer.Option(
        "--method",
        help="pixel (the exact pixelwise formula), patch (patchwise aggregation, IPOL 2011) or "
        "combined (a SURE-weighted combination of pixel and patch estimates and the noisy "
        "image); bayes (NL-Bayes, Lebrun, Buades & Morel 2013: Wiener filters of groups of "
        "similar patches, two steps); auto (tunes: SURE chooses between the --tune result and "
        "NL-Bayes, at the cost of two NL-Bayes runs). Default: pixel, or chosen by --tune.",
    ),
]
PatchKernelOption = Annotated[
    str,
    typer.Option(
        "--patch-kernel",
        help="uniform (the mean over the patch, IPOL 2011) or gaussian (Gaussian-weighted "
        "patch distance, sigma = f/2 per axis, CVPR 2005; as scikit-image's fast_mode=False).",
    ),
]
TuneOption = Annotated[
    bool | None,
    typer.Option(
        "--tune/--presets",
        help="--tune: choose the unset h, f, r and method (and, for color, h-chroma) by "
        "minimising SURE on the noisy image (a few times the cost of one denoise). "
        "--presets: the preset parameters, the fast path. Default: tune unless --h is given "
        "(presets for masks, sigma maps, Rician noise, --motion and streamed videos).",
    ),
]
CompareTuneOption = Annotated[
    bool,
    typer.Option(
        "--tune",
        help="Choose nlmeans' unset h, f, r and method by minimising SURE (timed apart); the "
        "peers take the same h, f and r. Default: the presets.",
    ),
]
HChromaOption = Annotated[
    float | None,
    typer.Option(
        "--h-chroma",
        help="Color images: filter in luminance-chrominance planes, luminance with h and "
        "chrominance with this h, raw intensity units. Default: one h for RGB, or --tune's.",
    ),
]
BackendOption = Annotated[str, typer.Option("--backend", help="auto, cpu, cuda or reference.")]
ThreadsOption = Annotated[
    int | None, typer.Option("--threads", min=1, help="CPU threads. Default: all cores.")
]
OverwriteOption = Annotated[bool, typer.Option("--overwrite", help="Replace existing outputs.")]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing on success.")]
DebugOption = Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")]
JsonOption = Annotated[
    bool,
    typer.Option(
        "--json", help="Print one JSON document on stdout instead of text; notes go to stderr."
    ),
]
AxesOption = Annotated[
    str | None,
    typer.Option(
        "--axes",
        help="The input's axes in order: T (time), Z (depth), Y, X, C (channels; S is read as "
        "C), e.g. ZYX, TYX, ZYXC, TZYXC. Default: from the file (TIFF metadata; .npy: YX, YXC "
        "or ZYX by shape). A T axis gets f=0, r=2 on that axis unless --f/--r are given.",
    ),
]
CodecOption = Annotated[
    str | None,
    typer.Option(
        "--codec",
        help="Video outputs: lossless (default: FFV1 in .mkv/.avi, libx264rgb qp 0 in .mp4), "
        "lossy (libx264 crf 17, yuv444p), or an encoder: ffv1, libx264rgb, libx264.",
    ),
]
