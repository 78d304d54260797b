"""SURE's choice between tuned NLM and NL-Bayes (``method="auto"``) on held-out images.

Images: the 256² centre crops of ``benchmarks/quality.py`` that set neither the
NL-Bayes presets (camera, brick, text, coins; astronaut and coffee for colour) nor
the tuner's grids: gravel, grass, moon and page (gray), chelsea and
immunohistochemistry (colour), by default at σ ∈ {10, 20, 30, 50} (8-bit units,
noise from ``numpy.random.default_rng(σ)``, float, unclipped), σ given to every run.
Columns (PSNR, dB): today's ``tune=True``; NL-Bayes at its presets
(``method="bayes"``); ``method="auto"``, which is one of the two (the same NLM
search, then SURE's pick); the better of the two by the true PSNR (the oracle
choice). Cost: time of ``tune`` and of ``tune(method="auto")`` over one presets
denoise (``nlmeans.denoise(noisy, sigma=σ)``), same process, warm, one run each.
``--cost N`` instead times, best of N interleaved runs, the presets denoise, ``tune``,
``tune(method="auto")`` and NL-Bayes' denoise on each image at the first σ.

    python benchmarks/tune_bayes.py [--images moon,chelsea] [--sigmas 20,50] [--crop 256]
    python benchmarks/tune_bayes.py --cost 3 --images moon,chelsea --sigmas 20
"""

from __future__ import annotations

import argparse
import time
from functools import partial

import numpy as np
from skimage import data

import nlmeans
from nlmeans.evaluate import add_noise, psnr

IMAGES = ("gravel", "grass", "moon", "page", "chelsea", "immunohistochemistry")
SIGMAS = (10, 20, 30, 50)


def load(name: str, crop: int):
    """The clean centre crop (at most ``crop`` × ``crop``), float64, and its channel axis."""
    image = getattr(data, name)().astype(np.float64)
    y = max(0, (image.shape[0] - crop) // 2)
    x = max(0, (image.shape[1] - crop) // 2)
    image = np.ascontiguousarray(image[y : y + crop, x : x + crop])
    return image, (-1 if image.ndim == 3 else None)


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    value = function(*args, **kwargs)
    return value, time.perf_counter() - start


def row(name: str, clean, axis, sigma: float) -> dict:
    noisy = add_noise(clean, sigma, seed=int(sigma))
    common = dict(channel_axis=axis, data_range=255.0)
    _, presets_s = timed(nlmeans.denoise, noisy, sigma=sigma, **common)
    tuned, tune_s = timed(nlmeans.tune, noisy, sigma, **common)
    (auto, scores), auto_s = timed(
        nlmeans.tune, noisy, sigma, method="auto", return_scores=True, **common
    )
    tune_out = nlmeans.denoise(noisy, params=tuned, **common)
    bayes_out = nlmeans.denoise(noisy, sigma=sigma, method="bayes", **common)
    tune_db, bayes_db = psnr(clean, tune_out), psnr(clean, bayes_out)
    picked_bayes = auto.method == "bayes"
    if not picked_bayes and auto != tuned:
        raise SystemExit(f"{name} σ{sigma}: auto's NLM choice differs from tune's")
    bayes_sure = next(c.sure for c in scores if c.method == "bayes")
    return {
        "image": name,
        "sigma": sigma,
        "tune": tune_db,
        "bayes": bayes_db,
        "auto": bayes_db if picked_bayes else tune_db,
        "oracle": max(tune_db, bayes_db),
        "pick": "bayes" if picked_bayes else tuned.method,
        "right": picked_bayes == (bayes_db > tune_db),
        "bayes_sure": bayes_sure,
        "bayes_mse": float(np.mean((bayes_out.astype(np.float64) - clean) ** 2)),
        "tune_x": tune_s / presets_s,
        "auto_x": auto_s / presets_s,
    }


def markdown(rows) -> str:
    lines = [
        "| image | σ | tune | NL-Bayes | auto | oracle of the two | auto's pick | right? "
        "| tune / presets | auto / presets |",
        "| --- | --- | ---: | ---: | ---: | ---: | --- | --- | ---: | ---: |",
    ]
    for r in rows:
        lines.append(
            f"| {r['image']} | {r['sigma']} | {r['tune']:.2f} | {r['bayes']:.2f} | "
            f"{r['auto']:.2f} | {r['oracle']:.2f} | {r['pick']} | "
            f"{'yes' if r['right'] else 'no'} | {r['tune_x']:.1f}× | {r['auto_x']:.1f}× |"
        )
    mean = lambda key: np.mean([r[key] for r in rows])  # noqa: E731
    right = sum(r["right"] for r in rows)
    lost = [r["oracle"] - r["auto"] for r in rows if not r["right"]]
    lines.append(
        f"| mean | | {mean('tune'):.2f} | {mean('bayes'):.2f} | {mean('auto'):.2f} | "
        f"{mean('oracle'):.2f} | right {right}/{len(rows)} | "
        f"{'lost ' + format(max(lost), '.2f') + ' dB at most' if lost else ''} | "
        f"{mean('tune_x'):.1f}× | {mean('auto_x'):.1f}× |"
    )
    return "\n".join(lines)


def cost(names, sigma: float, crop: int, repeats: int) -> None:
    """Best-of-``repeats`` times over one presets denoise, runs interleaved."""
    for name in names:
        clean, axis = load(name, crop)
        noisy = add_noise(clean, sigma, seed=int(sigma))
        common = dict(channel_axis=axis, data_range=255.0)
        runs = {
            "presets": partial(nlmeans.denoise, noisy, sigma=sigma, **common),
            "tune": partial(nlmeans.tune, noisy, sigma, **common),
            "auto": partial(nlmeans.tune, noisy, sigma, method="auto", **common),
            "bayes": partial(nlmeans.denoise, noisy, sigma=sigma, method="bayes", **common),
        }
        best = dict.fromkeys(runs, np.inf)
        for _ in range(repeats):
            for key, run in runs.items():
                best[key] = min(best[key], timed(run)[1])
        ratios = "  ".join(f"{k} {best[k] / best['presets']:.1f}×" for k in runs)
        print(f"{name} {clean.shape} σ{sigma:g}: presets {best['presets']:.3f} s  {ratios}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", default=",".join(IMAGES))
    parser.add_argument("--sigmas", default=",".join(map(str, SIGMAS)))
    parser.add_argument("--crop", type=int, default=256)
    parser.add_argument("--cost", type=int, default=0, help="time, best of N, instead")
    args = parser.parse_args()
    for name in ("camera", "astronaut"):  # compile (or load) every kernel once
        warm, axis = load(name, 96)
        for sigma in (10.0, 50.0):
            noisy = add_noise(warm, sigma, seed=0)
            nlmeans.denoise(noisy, sigma=sigma, channel_axis=axis, data_range=255.0)
            nlmeans.tune(noisy, sigma, channel_axis=axis, data_range=255.0, method="auto")
    if args.cost:
        sigma = float(args.sigmas.split(",")[0])
        cost(args.images.split(","), sigma, args.crop, args.cost)
        return
    rows = []
    for name in args.images.split(","):
        clean, axis = load(name, args.crop)
        for sigma in (float(s) for s in args.sigmas.split(",")):
            rows.append(row(name, clean, axis, sigma))
            r = rows[-1]
            print(
                f"{name} σ{sigma:g}: tune {r['tune']:.2f} bayes {r['bayes']:.2f} pick {r['pick']}"
                f" right {r['right']} bayes SURE {r['bayes_sure']:.2f} MSE {r['bayes_mse']:.2f}"
                f" cost {r['tune_x']:.1f}× {r['auto_x']:.1f}×",
                flush=True,
            )
    print(markdown(rows))


if __name__ == "__main__":
    main()
