"""The records of a batch: a file to denoise, what happened to it, the counts."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..params import Params

#: Status of one file in a batch.
DONE, SKIPPED, FAILED = "done", "skipped", "failed"


@dataclass(frozen=True)
class Item:
    """One input file and where its output goes."""

    source: Path
    relative: Path
    target: Path
    #: Why this file is not processed (a symbolic link out of INPUT_DIR), else None.
    skip_reason: str | None = None
    #: Why this entry failed before any work (a folder that cannot be listed, a
    #: symbolic link loop or a broken link), else None: reported as a failure.
    error: str | None = None


@dataclass
class ItemResult:
    """What happened to one file: ``status`` is done, skipped or failed."""

    item: Item
    status: str
    reason: str | None = None
    seconds: float | None = None
    params: Params | None = None
    #: The axes of the file as read (e.g. ``YXC``, ``TYX``), when it was read.
    axes: str | None = None


@dataclass
class Summary:
    """Counts and times of a finished (or interrupted) batch."""

    done: int = 0
    skipped: int = 0
    failed: int = 0
    seconds: float = 0.0
    failures: list[ItemResult] = field(default_factory=list)

    def add(self, result: ItemResult) -> None:
        if result.status == DONE:
            self.done += 1
        elif result.status == SKIPPED:
            self.skipped += 1
        else:
            self.failed += 1
            self.failures.append(result)

    @property
    def seconds_per_image(self) -> float | None:
        """Wall time per denoised image (reading, denoising and writing included)."""
        return self.seconds / self.done if self.done else None

    @property
    def images_per_second(self) -> float | None:
        return self.done / self.seconds if self.done and self.seconds > 0 else None
