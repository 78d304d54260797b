"""What the commands print: comparison tables, batch progress and summaries, JSON documents.

Kept apart from the Typer definitions in :mod:`nlmeans.cli` so that the
commands stay short; nothing here computes.
"""

from __future__ import annotations

import csv
import io
import sys
from dataclasses import asdict
from typing import TYPE_CHECKING, TextIO

from .params import Params

if TYPE_CHECKING:  # the batch and evaluation packages load when their commands print
    from .batch import ItemResult, Summary
    from .evaluate import Comparison, Row


def params_record(params: Params) -> dict:
    """Return the resolved parameters as a JSON-ready dict; a combination's terms as dicts."""
    record = asdict(params)
    record["components"] = [component._asdict() for component in params.components]
    return record


def params_line(params: Params) -> str:
    """Return the resolved parameters on one line, as every command prints them."""
    source = "estimated" if params.sigma_estimated else "given"
    chroma = "" if params.h_chroma is None else f" h_chroma={params.h_chroma:.4g}"
    kernel = "" if params.patch_kernel == "uniform" else f" patch_kernel={params.patch_kernel}"
    line = (
        f"f={_radii_text(params.f)} r={_radii_text(params.r)} h={params.h:.4g}{chroma} "
        f"sigma={params.sigma:.4g} ({source}) method={params.method}{kernel}"
    )
    if params.components:
        # The terms of the combination, weight·estimate (luminance/chrominance weights for colour).
        line += " = " + " ".join(str(component) for component in params.components)
    if params.noise_model is not None:
        line = f"{params.noise_model.describe()}; stabilised: {line}"
    return line


def axes_record(picture) -> dict:
    """Return the axes record of a Picture (JSON), empty for None.

    ``{"axes": "TYX", "axes_source": "metadata", "shape": [...]}``.
    """
    if picture is None:
        return {}
    return {
        "axes": picture.layout,
        "axes_source": picture.axes_source,
        "shape": list(picture.pixels.shape),
    }


def _radii_text(value) -> str:
    """Return a radius as the command line takes it: ``3``, or ``0,3,3`` per axis."""
    return ",".join(map(str, value)) if isinstance(value, tuple) else str(value)


# ------------------------------------------------------------------ compare


def _cell(value: float | None, spec: str, suffix: str = "") -> str:
    return "-" if value is None else f"{value:{spec}}{suffix}"


def rows_table(rows: list[Row]) -> str:
    """Return method | PSNR | SSIM | seconds | speed-up vs scikit-image, aligned."""
    lines = [f"{'method':<14}{'PSNR dB':>9}{'SSIM':>8}{'seconds':>10}{'vs scikit-image':>17}"]
    for row in rows:
        lines.append(
            f"{row.method:<14}{row.psnr:>9.2f}{_cell(row.ssim, '.4f'):>8}"
            f"{_cell(row.seconds, '.3f'):>10}{_cell(row.speedup, '.1f', '×'):>17}"
        )
    return "\n".join(lines)


def _shape_words(shape: tuple) -> str:
    kind = "gray" if len(shape) == 2 else {3: "RGB"}.get(shape[2], f"{shape[2]} channels")
    return f"{shape[1]}×{shape[0]} {kind}"


def comparison_text(comparison: Comparison, noise: str) -> str:
    """Return the human report of one image: header, table, each method's parameters."""
    from .evaluate import SSIM_WINDOW

    lines = [
        f"{comparison.name} ({_shape_words(comparison.shape)}), {noise}",
        f"parameters: {params_line(comparison.params)}"
        + (
            ""
            if comparison.tuning_seconds is None
            else f", tuned by SURE in {comparison.tuning_seconds:.3f}s (not in the time below)"
        ),
        rows_table(comparison.rows),
    ]
    if any(row.ssim is None for row in comparison.rows):
        lines.append(
            f"  SSIM: left out (-), the image is smaller than its {SSIM_WINDOW}×{SSIM_WINDOW} "
            "window"
        )
    for name, parameters in comparison.method_parameters.items():
        if name != "nlmeans":
            words = " ".join(
                f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                for k, v in parameters.items()
            )
            lines.append(f"  {name}: {words}")
    return "\n".join(lines)


def comparison_record(comparison: Comparison) -> dict:
    return {
        "image": comparison.name,
        "shape": list(comparison.shape),
        "params": params_record(comparison.params),
        "tuning_seconds": comparison.tuning_seconds,
        "method_parameters": comparison.method_parameters,
        "results": [asdict(row) for row in comparison.rows],
    }


def comparisons_csv(comparisons: list[Comparison], means: list[Row] | None) -> str:
    """One CSV line per (image, method), then the means (image "mean") when given."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["image", "method", "psnr", "ssim", "seconds", "speedup_vs_skimage"])
    blocks = [(c.name, c.rows) for c in comparisons] + ([("mean", means)] if means else [])
    for name, rows in blocks:
        for row in rows:
            writer.writerow([name, row.method, row.psnr, row.ssim, row.seconds, row.speedup])
    return buffer.getvalue()


# -------------------------------------------------------------------- batch


class PlainProgress:
    """One line per file: done and skipped on ``stream`` (unless quiet), failures on stderr."""

    def __init__(self, total: int, stream: TextIO, quiet: bool):
        self.total, self.stream, self.quiet = total, stream, quiet
        self.count = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        return None

    def started(self, relative: str) -> None:
        return None

    def finished(self, result: ItemResult) -> None:
        from .batch import DONE, FAILED

        self.count += 1
        width = len(str(self.total))
        head = f"[{self.count:>{width}}/{self.total}] {result.status:<7} {result.item.relative}"
        if result.status == FAILED:
            print(f"{head}: {result.reason}", file=sys.stderr, flush=True)
        elif not self.quiet:
            if result.status == DONE:
                stack = result.axes not in (None, "YX", "YXC")  # plain images need no word
                tail = f" {result.seconds:.2f}s" + (f" axes={result.axes}" if stack else "")
            else:
                tail = f" ({result.reason})"
            print(head + tail, file=self.stream, flush=True)


class BarProgress:
    """A rich progress bar on stderr: count, current file, elapsed and ETA; failures above it."""

    def __init__(self, total: int):
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.progress = Progress(
            TextColumn("denoising"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[current]}"),
            console=Console(stderr=True),
        )
        self.task = self.progress.add_task("batch", total=total, current="")

    def __enter__(self):
        self.progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.stop()

    def started(self, relative: str) -> None:
        self.progress.update(self.task, current=relative)

    def finished(self, result: ItemResult) -> None:
        from .batch import FAILED

        if result.status == FAILED:
            self.progress.console.print(
                f"failed {result.item.relative}: {result.reason}", markup=False, highlight=False
            )
        self.progress.advance(self.task)


class SlabProgress:
    """A rich progress bar on stderr for one long denoise (a volume, a stack).

    Called as ``progress(done, total)`` by :func:`nlmeans.denoise`; the bar
    appears only once a run has taken :data:`SHOW_AFTER_S`, so quick images
    print nothing extra.
    """

    SHOW_AFTER_S = 1.0

    def __init__(self, label: str):
        import time

        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        self._clock = time.perf_counter
        self._start = self._clock()
        self.progress = Progress(
            TextColumn(label),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TextColumn("eta"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self.task = None

    def __call__(self, done: int, total: int) -> None:
        if self.task is None:
            if self._clock() - self._start < self.SHOW_AFTER_S:
                return
            self.progress.start()
            self.task = self.progress.add_task("denoise", total=total)
        self.progress.update(self.task, completed=done)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        if self.task is not None:
            self.progress.stop()


def summary_text(summary: Summary) -> str:
    """Done / skipped / failed, total and per-image time, images/s, and the failures."""
    line = (
        f"done {summary.done}, skipped {summary.skipped}, failed {summary.failed} "
        f"in {summary.seconds:.2f}s"
    )
    if summary.done:
        line += (
            f" ({summary.seconds_per_image:.2f}s per image, "
            f"{summary.images_per_second:.2f} images/s)"
        )
    lines = [line]
    if summary.failures:
        lines.append("failed:")
        lines += [f"  {r.item.relative}: {r.reason}" for r in summary.failures]
    return "\n".join(lines)


def item_record(result: ItemResult) -> dict:
    return {
        "input": str(result.item.source),
        "output": str(result.item.target),
        "status": result.status,
        "reason": result.reason,
        "seconds": result.seconds,
        "axes": result.axes,
        "params": None if result.params is None else params_record(result.params),
    }


def summary_record(summary: Summary) -> dict:
    return {
        "done": summary.done,
        "skipped": summary.skipped,
        "failed": summary.failed,
        "seconds": summary.seconds,
        "seconds_per_image": summary.seconds_per_image,
        "images_per_second": summary.images_per_second,
    }
