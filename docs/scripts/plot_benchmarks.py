"""Draw the documentation's benchmark plots from the recorded benchmark tables.

The figures are those of ``benchmarks/README.md``, where every table sits
beside the command that measured it (``benchmarks/bench_cpu.py`` for speed,
``benchmarks/quality.py`` for quality). This script reads those Markdown
tables and draws:

- ``docs/_static/bench-speed.png``: the peers' time over nlmeans' time on
  every case of the CPU speed table (higher: nlmeans faster);
- ``docs/_static/bench-quality.png``: mean PSNR over the quality table's
  images at each noise level, for nlmeans (its default, tuned by SURE, and
  the presets), the oracle-tuned scikit-image and OpenCV, and BM3D.

Run by the Sphinx build (``docs/conf.py``) or by hand:
``python docs/scripts/plot_benchmarks.py``.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "benchmarks" / "README.md"
OUT = ROOT / "docs" / "_static"

#: The quality table's columns drawn, and their labels.
QUALITY_COLUMNS = {
    "presets pixel": "nlmeans --presets",
    "tune σ̂": "nlmeans, the default (tuned by SURE)",
    "skimage oracle": "scikit-image, oracle h and patch",
    "OpenCV oracle": "OpenCV, oracle h",
    "BM3D": "BM3D, σ given",
}


def tables(text: str) -> list[list[dict[str, str]]]:
    """Every Markdown table of ``text`` as a list of rows keyed by the header's cells."""
    found, rows, header = [], None, None
    for line in text.splitlines() + [""]:
        if line.startswith("|"):
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            if header is None:
                header, rows = cells, []
            elif not all(re.fullmatch(r":?-+:?", cell) for cell in cells):
                rows.append(dict(zip(header, cells, strict=False)))
        elif header is not None:
            found.append(rows)
            header, rows = None, None
    return found


def number(cell: str) -> float:
    """The first number of a cell ("41.74 / 0.985" → 41.74, "4.90" → 4.9)."""
    return float(re.match(r"-?[\d.]+", cell).group())


def table_with(all_tables, *columns: str) -> list[dict[str, str]]:
    for rows in all_tables:
        if rows and all(column in rows[0] for column in columns):
            return rows
    raise SystemExit(f"{SOURCE}: no table with the columns {columns}")


def plot_speed(rows: list[dict[str, str]], path: Path) -> None:
    ratios: dict[str, dict[str, float]] = defaultdict(dict)
    for row in rows:
        if row["peer"] != "nlmeans":
            ratios[row["case"]][row["peer"]] = number(row["× nlmeans"])
    cases = list(ratios)
    peers = ["OpenCV", "scikit-image"]
    fig, ax = plt.subplots(figsize=(8, 0.42 * len(cases) + 1.2))
    height = 0.38
    for k, peer in enumerate(peers):
        ys = [i + (k - 0.5) * height for i in range(len(cases))]
        values = [ratios[case].get(peer, 0.0) for case in cases]
        bars = ax.barh(ys, values, height=height, label=peer)
        ax.bar_label(bars, labels=[f"{v:.1f}×" if v else "" for v in values], padding=2, fontsize=7)
    ax.set_yticks(range(len(cases)), cases, fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlim(0.8, 2 * max(max(r.values()) for r in ratios.values()))
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_xlabel("peer's time / nlmeans' time (log scale; > 1: nlmeans is faster)")
    ax.set_title("CPU speed, same parameters, 2 cores (benchmarks/bench_cpu.py)", fontsize=10)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(fig)


def plot_quality(rows: list[dict[str, str]], path: Path) -> None:
    by_sigma: dict[int, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    # One row per (image, σ): summaries and a repeated header left out, repeats counted once.
    rows = list(
        {(r["image"], r["σ"]): r for r in reversed(rows) if re.fullmatch(r"\d+", r["σ"])}.values()
    )
    for row in rows:
        for column in QUALITY_COLUMNS:
            by_sigma[int(number(row["σ"]))][column].append(number(row[column]))
    sigmas = sorted(by_sigma)
    images = len(rows) // len(sigmas)
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for column, label in QUALITY_COLUMNS.items():
        means = [sum(by_sigma[s][column]) / len(by_sigma[s][column]) for s in sigmas]
        ax.plot(sigmas, means, marker="o", label=label)
    ax.set_xlabel("noise σ (8-bit units)")
    ax.set_ylabel(f"mean PSNR over {images} images (dB)")
    ax.set_title("Quality against the peers and BM3D (benchmarks/quality.py)", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(fig)


def main() -> None:
    found = tables(SOURCE.read_text(encoding="utf-8"))
    OUT.mkdir(exist_ok=True)
    plot_speed(table_with(found, "case", "peer", "× nlmeans"), OUT / "bench-speed.png")
    plot_quality(table_with(found, "image", "σ", *QUALITY_COLUMNS), OUT / "bench-quality.png")


if __name__ == "__main__":
    main()
