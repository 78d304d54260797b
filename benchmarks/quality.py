"""Quality table: nlmeans (presets, SURE-tuned, combined) against scikit-image, OpenCV and BM3D.

Evaluation set: centre crops (at most 256×256) of twelve ``skimage.data``
images — textures (brick, gravel, grass), smooth scenes (moon, camera,
coins), text and line art (text, page), colour photographs (astronaut,
coffee, chelsea, immunohistochemistry) — × σ ∈ {5, 10, 15, 20, 30, 50}
(8-bit units); noise from ``numpy.random.default_rng(σ)`` added in float
without clipping; PSNR (data_range 255) and SSIM on the 8-bit scale. Columns:

- presets pixel / patch: IPOL 2011 tables with σ estimated, i.e. what
  ``nlmeans.denoise(noisy, tune=False)`` does, and ``method="patch"``.
- tune σ̂: ``nlmeans.denoise(noisy, tune=True)`` (σ estimated, no clean image),
  which is the SURE-best single estimate or the SURE-weighted combination;
  single σ̂: the SURE-best single estimate; combined σ̂: ``method="combined"``.
- tune σ: the SURE-best single estimate with σ known, and candidate oracle: the
  best PSNR over the same search space (every method × f ∈ {1, 2, 3} ×
  r ∈ {5, 8}, the radii of images too small for the exact search's tiles, with
  a dense h grid; colour: the best luminance and chrominance h of each), which
  needs the clean image.
- scikit-image oracle: ``denoise_nl_means`` (fast_mode, sigma given) best over
  h ∈ {0.5, 0.7, 0.9, 1.1}σ × patch_size ∈ {3, 5, 7} (patch_distance 6).
- OpenCV oracle: best over h ∈ {0.6, 0.8, 1.0, 1.2, 1.5}σ, template 7,
  search 21, of ``fastNlMeansDenoising`` (RGB for colour) and, for colour,
  ``fastNlMeansDenoisingColored``; OpenCV needs uint8, so its input is
  rounded and clipped to [0, 255].
- BM3D (``bm3d`` package, ``bench`` extra): ``bm3d``, colour ``bm3d_rgb``, σ given.
- NL-Bayes σ: ``nlmeans.denoise(noisy, sigma=σ, method="bayes")``, its presets.

``--bayes-only`` computes just the NL-Bayes and BM3D columns (with their times)
and the mean PSNR gap per kind, e.g.
``python benchmarks/quality.py --bayes-only --sigmas 10,20,30,50``.

Run ``python benchmarks/quality.py`` for the whole table, or a subset, e.g.
``python benchmarks/quality.py --images camera --sigmas 20 --no-bm3d``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import time

import numpy as np

import nlmeans
from nlmeans._arrays import pad_reflect
from nlmeans._color import to_opponent
from nlmeans.backends import padding, select
from nlmeans.evaluate import add_noise, psnr, ssim
from nlmeans.sure import SMALL_IMAGE_SEARCH_RADII, centre_ratio, patch_scale

GRAY = ("brick", "gravel", "grass", "moon", "camera", "coins", "text", "page")
COLOUR = ("astronaut", "coffee", "chelsea", "immunohistochemistry")
IMAGES = GRAY + COLOUR
SIGMAS = (5, 10, 15, 20, 30, 50)
CROP = 256
SKIMAGE_H = (0.5, 0.7, 0.9, 1.1)
SKIMAGE_PATCH = (3, 5, 7)
OPENCV_H = (0.6, 0.8, 1.0, 1.2, 1.5)

COLUMNS = (
    ("presets pixel", "presets_pixel"),
    ("presets patch", "presets_patch"),
    ("tune σ̂", "tune"),
    ("single σ̂", "single"),
    ("combined σ̂", "combined"),
    ("single σ", "single_known"),
    ("cand. oracle", "candidate_oracle"),
    ("skimage oracle", "skimage_oracle"),
    ("OpenCV oracle", "opencv_oracle"),
    ("BM3D", "bm3d"),
    ("NL-Bayes σ", "bayes"),
)


def load(name: str) -> tuple[np.ndarray, int | None]:
    """The clean centre crop (at most CROP × CROP) as float64, 8-bit scale, and its channel axis."""
    from skimage import data

    image = getattr(data, name)().astype(np.float64)
    y = max(0, (image.shape[0] - CROP) // 2)
    x = max(0, (image.shape[1] - CROP) // 2)
    image = np.ascontiguousarray(image[y : y + CROP, x : x + CROP])
    return image, (-1 if image.ndim == 3 else None)


def score(clean: np.ndarray, estimate: np.ndarray, choice: str = "") -> dict:
    return {"psnr": psnr(clean, estimate), "ssim": ssim(clean, estimate), "choice": choice}


def best(clean: np.ndarray, runs) -> dict:
    """The run with the best PSNR among ``runs`` (label, estimate) pairs."""
    return max((score(clean, e, label) for label, e in runs), key=lambda r: r["psnr"])


def label(params) -> str:
    chroma = "" if params.h_chroma is None else f" hc={params.h_chroma:.3g}"
    terms = f" ({len(params.components)} terms)" if params.components else ""
    return f"{params.method} f={params.f} r={params.r} h={params.h:.3g}{chroma}{terms}"


def single_of(scores, params, opponent: bool):
    """The SURE-best single estimate among tune's fine-pass candidates."""
    from nlmeans.sure import best_per_group

    singles = [c for c in scores if c.method != "combined"]
    if opponent:
        method, f, r, h, hc, _ = best_per_group(singles)
    else:
        c = min(singles, key=lambda c: c.sure)
        method, f, r, h, hc = c.method, c.f, c.r, c.h, None
    return nlmeans.Params(f, r, h, params.sigma, method=method, h_chroma=hc)


def nlmeans_columns(clean, noisy, sigma, axis, oracle: bool) -> dict:
    def run(params):
        return nlmeans.denoise(noisy, channel_axis=axis, params=params).astype(np.float64)

    row = {}
    for method in ("pixel", "patch"):
        start = time.perf_counter()
        out, params = nlmeans.denoise(
            noisy,
            channel_axis=axis,
            data_range=255.0,
            method=method,
            return_params=True,
            tune=False,
        )
        seconds = time.perf_counter() - start
        row[f"presets_{method}"] = {**score(clean, out, label(params)), "seconds": seconds}
    opponent = axis is not None
    start = time.perf_counter()
    params, scores = nlmeans.tune(noisy, channel_axis=axis, data_range=255.0, return_scores=True)
    tuning = time.perf_counter() - start
    row["tune"] = {**score(clean, run(params), label(params)), "sigma": params.sigma}
    row["tune"]["tune_seconds"] = tuning
    single = single_of(scores, params, opponent)
    row["single"] = score(clean, run(single), label(single))
    combined = nlmeans.tune(noisy, channel_axis=axis, data_range=255.0, method="combined")
    start = time.perf_counter()
    estimate = run(combined)
    row["combined"] = {**score(clean, estimate, label(combined)),
                       "apply_seconds": time.perf_counter() - start}  # fmt: skip
    known, scores = nlmeans.tune(
        noisy, sigma, channel_axis=axis, data_range=255.0, return_scores=True
    )
    single = single_of(scores, known, opponent)
    row["single_known"] = score(clean, run(single), label(single))
    if oracle:
        row["candidate_oracle"] = candidate_oracle(clean, noisy, sigma, axis)
    return row


def candidate_oracle(
    clean, noisy, sigma, axis, methods=("pixel", "patch"), steps=None,
    radii=SMALL_IMAGE_SEARCH_RADII,
) -> dict:  # fmt: skip
    """The best PSNR over tune's search space (σ known), which needs the clean image.

    Every method of ``methods`` × f ∈ {1, 2, 3} × r in ``radii`` with ``steps`` strengths
    from h = 0.5 times the search's centre for that f, in steps of 15 % (12 for
    gray, 15 for colour by default); colour: in luminance–chrominance planes,
    the best luminance h and the best chrominance h of each (method, f, r).
    """
    steps = (15 if axis is not None else 12) if steps is None else steps
    backend = select("auto")
    planes = noisy[None] if axis is None else np.moveaxis(noisy, -1, 0)
    target = clean[None] if axis is None else np.moveaxis(clean, -1, 0)
    if axis is not None:
        planes, target = to_opponent(planes), to_opponent(target).astype(np.float64)
    planes = np.ascontiguousarray(planes, dtype=np.float32)
    runs = []
    for method, f, r in itertools.product(methods, (1, 2, 3), radii):  # tune's search space
        centre = centre_ratio(sigma) * patch_scale(f) * sigma
        hs = [centre * 0.5 * 1.15**k for k in range(steps)]
        padded = pad_reflect(planes, padding(method, (f, f), (r, r))[0])
        out = backend.methods[method](padded, (f, f), (r, r), float(sigma), hs)
        error = ((out - target) ** 2).mean(axis=(2, 3))  # (K, C)
        if axis is None:
            k = int(np.argmin(error[:, 0]))
            runs.append((error[k, 0], f"{method} f={f} r={r} h={hs[k]:.3g}"))
        else:
            kl, kc = int(np.argmin(error[:, 0])), int(np.argmin(error[:, 1:].sum(1)))
            mse = (error[kl, 0] + error[kc, 1:].sum()) / 3
            runs.append((mse, f"{method} f={f} r={r} h={hs[kl]:.3g} hc={hs[kc]:.3g}"))
    mse, choice = min(runs)
    return {"psnr": float(10 * np.log10(255.0**2 / mse)), "ssim": float("nan"), "choice": choice}


def skimage_oracle(clean, noisy, sigma, axis) -> dict:
    from skimage.restoration import denoise_nl_means

    unit = noisy / 255.0

    def run(ratio, patch):
        out = denoise_nl_means(unit, h=ratio * sigma / 255.0, sigma=sigma / 255.0,
                               patch_size=patch, patch_distance=6, fast_mode=True,
                               channel_axis=axis)  # fmt: skip
        return out * 255.0

    runs = ((f"h={a}σ p={p}", run(a, p)) for a in SKIMAGE_H for p in SKIMAGE_PATCH)
    return {"skimage_oracle": best(clean, runs)}


def opencv_oracle(clean, noisy, sigma, axis) -> dict:
    import cv2

    source = np.clip(np.rint(noisy), 0, 255).astype(np.uint8)

    def runs():
        for ratio in OPENCV_H:
            h = ratio * sigma
            out = cv2.fastNlMeansDenoising(source, None, h, 7, 21)
            yield f"gray/RGB h={ratio}σ", out.astype(np.float64)
            if axis is not None:
                # OpenCV's colour variant works in CIELAB, on BGR input.
                bgr = np.ascontiguousarray(source[..., ::-1])
                out = cv2.fastNlMeansDenoisingColored(bgr, None, h, h, 7, 21)
                yield f"Colored h={ratio}σ", out[..., ::-1].astype(np.float64)

    return {"opencv_oracle": best(clean, runs())}


def bm3d_column(clean, noisy, sigma, axis) -> dict:
    import bm3d

    unit = noisy / 255.0
    start = time.perf_counter()
    if axis is None:
        out = bm3d.bm3d(unit, sigma_psd=sigma / 255.0)
    else:
        out = bm3d.bm3d_rgb(unit, sigma_psd=sigma / 255.0)
    seconds = time.perf_counter() - start
    return {"bm3d": {**score(clean, np.asarray(out) * 255.0, "bm3d"), "seconds": seconds}}


def bayes_column(clean, noisy, sigma, axis) -> dict:
    start = time.perf_counter()
    out, params = nlmeans.denoise(noisy, sigma=float(sigma), channel_axis=axis,
                                  data_range=255.0, method="bayes", return_params=True)  # fmt: skip
    seconds = time.perf_counter() - start
    return {"bayes": {**score(clean, out.astype(np.float64), label(params)), "seconds": seconds}}


def bayes_markdown(rows: list[dict]) -> str:
    """NL-Bayes against BM3D: PSNR / SSIM, the gap and the time ratio, then the mean gaps."""
    lines = ["| image | σ | NL-Bayes | BM3D | NL-Bayes − BM3D | time NL-Bayes / BM3D |",
             "| --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    for row in rows:
        ours, peer = row["bayes"], row["bm3d"]
        lines.append(
            f"| {row['image']} | {row['sigma']} | {ours['psnr']:.2f} / {ours['ssim']:.3f} | "
            f"{peer['psnr']:.2f} / {peer['ssim']:.3f} | {ours['psnr'] - peer['psnr']:+.2f} | "
            f"{ours['seconds'] / peer['seconds']:.2f} |"
        )
    lines.append("")
    for kind, names in (("gray", GRAY), ("colour", COLOUR)):
        gaps = [r["bayes"]["psnr"] - r["bm3d"]["psnr"] for r in rows if r["image"] in names]
        if gaps:
            lines.append(
                f"- NL-Bayes − BM3D, {kind}, σ ≤ 50: mean {np.mean(gaps):+.2f} dB, "
                f"min {min(gaps):+.2f} dB over {len(gaps)} rows (target: gray ≥ −0.20, "
                f"colour ≥ 0)"
            )
    return "\n".join(lines)


def markdown(rows: list[dict]) -> str:
    """PSNR per column (SSIM for tune σ̂ and BM3D), σ̂, and tune's time over a presets denoise."""
    present = [(title, key) for title, key in COLUMNS if any(key in row for row in rows)]
    header = ["image", "σ", "σ̂"] + [title for title, _ in present] + ["tune / presets"]
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for row in rows:
        cells = [row["image"], str(row["sigma"]), f"{row['tune']['sigma']:.1f}"]
        for _, key in present:
            result = row.get(key)
            if result is None:
                cells.append("—")
            elif key in ("tune", "bm3d"):
                cells.append(f"{result['psnr']:.2f} / {result['ssim']:.3f}")
            else:
                cells.append(f"{result['psnr']:.2f}")
        ratio = row["tune"]["tune_seconds"] / row["presets_pixel"]["seconds"]
        cells.append(f"{ratio:.1f}×")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def targets(rows: list[dict]) -> str:
    """The targets, each with its margin."""
    lines = []

    def where(row):
        return f"{row['image']} σ={row['sigma']}"

    def psnr_of(row, key):
        return row[key]["psnr"]

    peers = [key for key in ("skimage_oracle", "opencv_oracle") if key in rows[0]]
    if peers:
        margins = [psnr_of(row, "tune") - max(psnr_of(row, k) for k in peers) for row in rows]
        worst = int(np.argmin(margins))
        below = sum(m < 0 for m in margins)
        lines.append(
            f"- tune σ̂ − best of {', '.join(peers)}: min {min(margins):+.2f} dB "
            f"({where(rows[worst])}), mean {np.mean(margins):+.2f} dB, below on {below} of "
            f"{len(rows)} rows"
        )
    for key in ("presets_pixel", "presets_patch"):
        margins = [psnr_of(row, "tune") - psnr_of(row, key) for row in rows]
        worst = int(np.argmin(margins))
        lines.append(
            f"- tune σ̂ − {key}: min {min(margins):+.2f} dB ({where(rows[worst])}), "
            f"mean {np.mean(margins):+.2f} dB"
        )
    if "candidate_oracle" in rows[0]:
        gaps = [psnr_of(row, "candidate_oracle") - psnr_of(row, "single_known") for row in rows]
        worst = int(np.argmax(gaps))
        lines.append(
            f"- SURE single choice (σ known) below its candidate oracle: max {max(gaps):.2f} dB "
            f"({where(rows[worst])}), mean {np.mean(gaps):.2f} dB (target ≤ 0.10)"
        )
    if "bm3d" in rows[0]:
        for kind, names in (("gray", GRAY), ("colour", COLOUR)):
            low = [row for row in rows if row["sigma"] <= 30 and row["image"] in names]
            if low:
                blind = [max(psnr_of(r, "tune"), psnr_of(r, "combined")) for r in low]
                gaps = [psnr_of(r, "bm3d") - b for r, b in zip(low, blind, strict=True)]
                lines.append(
                    f"- BM3D − best blind nlmeans (tune, combined), {kind}, σ ≤ 30: mean "
                    f"{np.mean(gaps):.2f} dB, max {max(gaps):.2f} dB (target mean ≤ 0.50)"
                )
    gains = [psnr_of(row, "combined") - psnr_of(row, "single") for row in rows]
    lines.append(
        f"- combined σ̂ − single σ̂: {min(gains):+.2f} to {max(gains):+.2f} dB, "
        f"mean {np.mean(gains):+.2f} dB; tune chose combined on "
        f"{sum(row['tune']['choice'].startswith('combined') for row in rows)} of {len(rows)} rows"
    )
    ratios = [row["tune"]["tune_seconds"] / row["presets_pixel"]["seconds"] for row in rows]
    lines.append(f"- tune / presets denoise (crops): median {np.median(ratios):.1f}×, "
                 f"max {max(ratios):.1f}×")  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", default=",".join(IMAGES), help="comma-separated names")
    parser.add_argument("--sigmas", default=",".join(map(str, SIGMAS)), help="comma-separated")
    parser.add_argument("--no-bm3d", action="store_true", help="skip BM3D (the slow one)")
    parser.add_argument("--no-oracle", action="store_true", help="skip the oracle searches")
    parser.add_argument("--no-opencv", action="store_true", help="skip OpenCV")
    parser.add_argument("--json", help="also write the raw results to this file")
    parser.add_argument("--bayes-only", action="store_true", help="NL-Bayes and BM3D only")
    args = parser.parse_args()
    if args.bayes_only:
        bayes_table(args)
        return

    started = time.perf_counter()
    warm, _ = load("camera")
    nlmeans.tune(warm[:64, :64], 10.0, data_range=255.0)  # compile the kernels first
    nlmeans.denoise(warm[:64, :64], 10.0, data_range=255.0, method="combined")
    rows = []
    for name in args.images.split(","):
        clean, axis = load(name)
        for sigma in (int(s) for s in args.sigmas.split(",")):
            noisy = add_noise(clean, sigma, seed=sigma)
            row = {"image": name, "sigma": sigma, "seed": sigma}
            row |= nlmeans_columns(clean, noisy, sigma, axis, not args.no_oracle)
            if not args.no_oracle:
                row |= skimage_oracle(clean, noisy, sigma, axis)
                if not args.no_opencv:
                    row |= opencv_oracle(clean, noisy, sigma, axis)
            if not args.no_bm3d:
                row |= bm3d_column(clean, noisy, sigma, axis)
            row |= bayes_column(clean, noisy, sigma, axis)
            rows.append(row)
            print(markdown([row]).splitlines()[-1], flush=True)
            if args.json:
                with open(args.json, "w") as handle:
                    json.dump(rows, handle, indent=1)
    print()
    print(markdown(rows))
    print()
    print(targets(rows))
    print(f"\n{len(rows)} rows in {time.perf_counter() - started:.0f} s")


def bayes_table(args) -> None:
    """The NL-Bayes and BM3D columns alone, each image and σ of ``args``."""
    started = time.perf_counter()
    warm, _ = load("camera")
    nlmeans.denoise(warm[:64, :64], sigma=10.0, data_range=255.0, method="bayes")
    rows = []
    for name in args.images.split(","):
        clean, axis = load(name)
        for sigma in (int(s) for s in args.sigmas.split(",")):
            noisy = add_noise(clean, sigma, seed=sigma)
            row = {"image": name, "sigma": sigma, "seed": sigma}
            row |= bayes_column(clean, noisy, sigma, axis)
            row |= bm3d_column(clean, noisy, sigma, axis)
            rows.append(row)
            print(bayes_markdown([row]).splitlines()[2], flush=True)
    print()
    print(bayes_markdown(rows))
    print(f"\n{len(rows)} rows in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
