"""Quality table: nlmeans (presets, SURE-tuned) against scikit-image, OpenCV and BM3D.

The evaluation set of DESIGN.md §5: ``skimage.data`` camera, astronaut, coins ×
σ ∈ {5, 10, 20, 30, 50} (8-bit units), noise from ``numpy.random.default_rng(σ)``
added in float without clipping; PSNR (data_range 255) and SSIM on the 8-bit
scale. Columns:

- nlmeans presets, pixel and patch: IPOL 2011 tables with σ estimated, i.e.
  what ``nlmeans.denoise(noisy)`` (and ``nlmeans denoise noisy.png``) does with
  no parameters, and the same with ``method="patch"``.
- SURE σ known / SURE σ̂: ``nlmeans.tune`` (no clean image) with the true σ,
  and with σ from ``nlmeans.estimate_sigma``; then one ``denoise``. Colour
  images are tuned in luminance–chrominance planes (``h`` and ``h_chroma``);
  SURE σ̂ one h: colour only, the candidate of least total SURE with one h for
  every channel (what tuning chose before ``h_chroma``).
- SURE oracle: the best PSNR over the same candidate set (uses the clean image;
  for colour, the best luminance h and the best chrominance h of each
  candidate (method, f, r), read from one plain run per h).
- scikit-image ``denoise_nl_means`` at its documented starting point
  (patch_size 5, patch_distance 6, h = 0.8σ, fast_mode, sigma given), and its
  oracle best over h ∈ {0.5, 0.7, 0.9, 1.1}σ × patch_size ∈ {3, 5, 7}
  (patch_distance 6), on the [0, 1] scale.
- OpenCV oracle best over h ∈ {0.6, 0.8, 1.0, 1.2, 1.5}σ, template 7, search 21;
  color: ``fastNlMeansDenoising`` on RGB and ``fastNlMeansDenoisingColored``
  (hColor = h), best of both. OpenCV needs uint8, so it gets the noisy image
  rounded and clipped to [0, 255] (this clipping alone changes the input).
- BM3D (``bm3d`` package, ``bench`` extra), the ceiling of classical denoisers.

Run ``python benchmarks/quality.py`` for the whole table (about five minutes
on two cores, mostly BM3D), or a subset, e.g.
``python benchmarks/quality.py --images camera --sigmas 20 --no-bm3d``.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

import nlmeans
from nlmeans.color import from_opponent, to_opponent
from nlmeans.evaluate import add_noise, psnr, run_nlmeans, ssim

IMAGES = ("camera", "astronaut", "coins")
SIGMAS = (5, 10, 20, 30, 50)
SKIMAGE_H = (0.5, 0.7, 0.9, 1.1)
SKIMAGE_PATCH = (3, 5, 7)
OPENCV_H = (0.6, 0.8, 1.0, 1.2, 1.5)
TIMING_RUNS = 3

COLUMNS = (
    ("presets pixel", "presets_pixel"),
    ("presets patch", "presets_patch"),
    ("SURE σ known", "sure_known"),
    ("SURE σ̂", "sure_estimated"),
    ("SURE σ̂ one h", "sure_estimated_one_h"),
    ("skimage 0.8σ", "skimage_default"),
    ("skimage oracle", "skimage_oracle"),
    ("OpenCV oracle", "opencv_oracle"),
    ("BM3D", "bm3d"),
)


def load(name: str) -> tuple[np.ndarray, int | None]:
    """The clean image as float64 on the 8-bit scale, and its channel axis."""
    from skimage import data

    image = getattr(data, name)().astype(np.float64)
    return image, (-1 if image.ndim == 3 else None)


def score(clean: np.ndarray, estimate: np.ndarray) -> dict:
    return {"psnr": psnr(clean, estimate), "ssim": ssim(clean, estimate)}


def best(clean: np.ndarray, runs) -> dict:
    """The run with the best PSNR among ``runs`` (label, estimate) pairs."""
    results = []
    for label, estimate in runs:
        results.append({**score(clean, estimate), "choice": label})
    return max(results, key=lambda result: result["psnr"])


def nlmeans_columns(clean, noisy, sigma, axis, oracle: bool) -> dict:
    def run(params):
        return run_nlmeans(noisy, params, "auto")

    row = {}
    for method in ("pixel", "patch"):
        params = nlmeans.resolve_params(noisy, channel_axis=axis, data_range=255.0, method=method)
        row[f"presets_{method}"] = {**score(clean, run(params)), "choice": params_label(params)}
    for key, given in (("sure_known", sigma), ("sure_estimated", None)):
        # The cost ratio: best of TIMING_RUNS, tune and denoise interleaved (shared machine).
        tuning, denoising = [], []
        for _ in range(TIMING_RUNS):
            start = time.perf_counter()
            params, scores = nlmeans.tune(
                noisy, given, channel_axis=axis, data_range=255.0, return_scores=True
            )
            tuning.append(time.perf_counter() - start)
            start = time.perf_counter()
            estimate = run(params)
            denoising.append(time.perf_counter() - start)
        row[key] = {
            **score(clean, estimate),
            "choice": params_label(params),
            "sigma": params.sigma,
            "tune_over_denoise": min(tuning) / min(denoising),
        }
        if oracle and key == "sure_known":
            row["sure_oracle"] = candidate_oracle(clean, params, scores, run)
        if key == "sure_estimated" and params.h_chroma is not None:
            one = min(scores, key=lambda c: c.sure)
            one_h = nlmeans.Params(one.f, one.r, one.h, params.sigma, method=one.method)
            estimate = run(one_h)
            row["sure_estimated_one_h"] = {**score(clean, estimate), "choice": params_label(one_h)}
    return row


def candidate_oracle(clean, params, scores, run) -> dict:
    """The best PSNR over tune's candidates, which needs the clean image.

    Colour: each candidate (method, f, r) takes the luminance h and the
    chrominance h of least true MSE; a plain RGB run per h gives every opponent
    channel exactly (the weights do not depend on the colour space).
    """
    estimates = {
        (c.method, c.f, c.r, c.h): run(nlmeans.Params(c.f, c.r, c.h, params.sigma, method=c.method))
        for c in scores
    }
    if params.h_chroma is None:
        return best(clean, ((params_label(nlmeans.Params(f, r, h, 0.0, method=m)), e)
                            for (m, f, r, h), e in estimates.items()))  # fmt: skip
    opponent_clean = to_opponent(np.moveaxis(clean, -1, 0)).astype(np.float64)
    planes = {key: to_opponent(np.moveaxis(e, -1, 0)) for key, e in estimates.items()}
    error = {key: ((p - opponent_clean) ** 2).mean(axis=(1, 2)) for key, p in planes.items()}
    runs = []
    for group in {key[:3] for key in estimates}:
        keys = [key for key in estimates if key[:3] == group]
        luma = min(keys, key=lambda key: error[key][0])
        chroma = min(keys, key=lambda key: error[key][1] + error[key][2])
        combined = np.concatenate([planes[luma][:1], planes[chroma][1:]])
        method, f, r = group
        choice = nlmeans.Params(f, r, luma[3], 0.0, method=method, h_chroma=chroma[3])
        runs.append((params_label(choice), np.moveaxis(from_opponent(combined), 0, -1)))
    return best(clean, runs)


def params_label(params) -> str:
    chroma = "" if params.h_chroma is None else f" h_chroma={params.h_chroma:.3g}"
    return f"{params.method} f={params.f} r={params.r} h={params.h:.3g}{chroma}"


def skimage_columns(clean, noisy, sigma, axis, oracle: bool) -> dict:
    from skimage.restoration import denoise_nl_means

    unit = noisy / 255.0

    def run(ratio, patch, distance):
        out = denoise_nl_means(
            unit,
            h=ratio * sigma / 255.0,
            sigma=sigma / 255.0,
            patch_size=patch,
            patch_distance=distance,
            fast_mode=True,
            channel_axis=axis,
        )
        return out * 255.0

    row = {"skimage_default": {**score(clean, run(0.8, 5, 6)), "choice": "h=0.8σ p=5 d=6"}}
    if oracle:
        runs = (
            (f"h={ratio}σ p={patch} d=6", run(ratio, patch, 6))
            for ratio in SKIMAGE_H
            for patch in SKIMAGE_PATCH
        )
        row["skimage_oracle"] = best(clean, runs)
    return row


def opencv_columns(clean, noisy, sigma, axis) -> dict:
    import cv2

    source = np.clip(np.rint(noisy), 0, 255).astype(np.uint8)

    def runs():
        for ratio in OPENCV_H:
            h = ratio * sigma
            yield f"gray/RGB h={ratio}σ", cv2.fastNlMeansDenoising(source, None, h, 7, 21)
            if axis is not None:
                # OpenCV's color variant works in CIELAB, on BGR input.
                bgr = np.ascontiguousarray(source[..., ::-1])
                out = cv2.fastNlMeansDenoisingColored(bgr, None, h, h, 7, 21)
                yield f"Colored h={ratio}σ", out[..., ::-1]

    return {
        "opencv_oracle": best(clean, ((label, out.astype(np.float64)) for label, out in runs()))
    }


def bm3d_column(clean, noisy, sigma, axis) -> dict:
    import bm3d

    unit = noisy / 255.0
    if axis is None:
        out = bm3d.bm3d(unit, sigma_psd=sigma / 255.0)
    else:
        out = bm3d.bm3d_rgb(unit, sigma_psd=sigma / 255.0)
    return {"bm3d": {**score(clean, np.asarray(out) * 255.0), "choice": "bm3d"}}


def markdown(rows: list[dict]) -> str:
    """The table: PSNR / SSIM per column, σ̂, SURE's gap to its candidate oracle, cost."""
    present = [(title, key) for title, key in COLUMNS if any(key in row for row in rows)]
    header = ["image", "σ", "σ̂"] + [title for title, _ in present]
    header += ["SURE − oracle (dB)", "tune / denoise"]
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for row in rows:
        cells = [row["image"], str(row["sigma"]), f"{row['sure_estimated']['sigma']:.2f}"]
        for _, key in present:
            result = row.get(key)
            cells.append("—" if result is None else f"{result['psnr']:.2f} / {result['ssim']:.3f}")
        oracle = row.get("sure_oracle")
        gap = row["sure_known"]["psnr"] - oracle["psnr"] if oracle else None
        cells.append("—" if gap is None else f"{gap:+.2f}")
        cells.append(f"{row['sure_known']['tune_over_denoise']:.1f}×")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def targets(rows: list[dict]) -> str:
    """The issue's targets, each with its margin (positive: met)."""
    lines = []
    peers = [key for key in ("skimage_oracle", "opencv_oracle") if key in rows[0]]
    if peers:
        margins = [
            row["sure_estimated"]["psnr"] - max(row[key]["psnr"] for key in peers) for row in rows
        ]
        worst = int(np.argmin(margins))
        lines.append(
            f"- SURE σ̂ − best of {', '.join(peers)}: min {min(margins):+.2f} dB "
            f"({rows[worst]['image']} σ={rows[worst]['sigma']}), mean {np.mean(margins):+.2f} dB"
        )
    if "sure_oracle" in rows[0]:
        gaps = [row["sure_oracle"]["psnr"] - row["sure_known"]["psnr"] for row in rows]
        lines.append(f"- SURE below its candidate oracle: max {max(gaps):.2f} dB (target ≤ 0.10)")
    if "bm3d" in rows[0]:
        low = [row for row in rows if row["sigma"] <= 30]
        if low:
            gaps = {row["image"]: [] for row in low}
            for row in low:
                gaps[row["image"]].append(row["bm3d"]["psnr"] - row["sure_estimated"]["psnr"])
            each = ", ".join(f"{name} {np.mean(g):.2f}" for name, g in gaps.items())
            gap = np.mean([g for g_list in gaps.values() for g in g_list])
            lines.append(f"- BM3D − SURE σ̂, mean over σ ≤ 30: {gap:.2f} dB ({each}; target ≤ 0.50)")
    gains = [
        row["sure_estimated"]["psnr"] - row["sure_estimated_one_h"]["psnr"]
        for row in rows
        if "sure_estimated_one_h" in row
    ]
    if gains:
        lines.append(
            f"- h_chroma over one h (colour, σ̂): {min(gains):+.2f} to {max(gains):+.2f} dB, "
            f"mean {np.mean(gains):+.2f} dB"
        )
    ratios = [row["sure_known"]["tune_over_denoise"] for row in rows]
    lines.append(f"- tune / denoise: max {max(ratios):.1f}×, median {np.median(ratios):.1f}× (≤ 4)")
    loss = [row["sure_known"]["psnr"] - row["sure_estimated"]["psnr"] for row in rows]
    lines.append(f"- PSNR lost using σ̂ instead of σ: max {max(loss):.2f} dB (≤ 0.2)")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", default=",".join(IMAGES), help="comma-separated names")
    parser.add_argument("--sigmas", default=",".join(map(str, SIGMAS)), help="comma-separated")
    parser.add_argument("--no-bm3d", action="store_true", help="skip BM3D (the slow one)")
    parser.add_argument("--no-oracle", action="store_true", help="skip the oracle searches")
    parser.add_argument("--no-opencv", action="store_true", help="skip OpenCV")
    parser.add_argument("--json", help="also write the raw results to this file")
    args = parser.parse_args()

    warm, _ = load("camera")
    nlmeans.tune(warm[:64, :64], 10.0, data_range=255.0)  # compile the kernels first
    rows = []
    for name in args.images.split(","):
        clean, axis = load(name)
        for sigma in (int(s) for s in args.sigmas.split(",")):
            noisy = add_noise(clean, sigma, seed=sigma)
            row = {"image": name, "sigma": sigma, "seed": sigma}
            row |= nlmeans_columns(clean, noisy, sigma, axis, not args.no_oracle)
            row |= skimage_columns(clean, noisy, sigma, axis, not args.no_oracle)
            if not args.no_opencv and not args.no_oracle:
                row |= opencv_columns(clean, noisy, sigma, axis)
            if not args.no_bm3d:
                row |= bm3d_column(clean, noisy, sigma, axis)
            rows.append(row)
            print(markdown([row]).splitlines()[-1], flush=True)
    print()
    print(markdown(rows))
    print()
    print(targets(rows))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(rows, handle, indent=1)


if __name__ == "__main__":
    main()
