"""Finding a batch's files: folder checks, name patterns, mirrored output paths.

:func:`discover` lists the images of INPUT_DIR (optionally recursive), each
with its target in OUTPUT_DIR, symbolic links and unreadable folders reported
rather than followed or skipped silently; :func:`check_inside` refuses an
output folder that leads outside OUTPUT_DIR.
"""

from __future__ import annotations

import errno
import fnmatch
import os
from pathlib import Path

from ..errors import NLMeansError
from ..io import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS, ImageFileError
from ._records import Item


def check_folders(input_dir: Path, output_dir: Path, recursive: bool) -> None:
    """Refuse folder pairs that cannot work or would feed outputs back as inputs.

    Raises NLMeansError when INPUT_DIR is missing or not a folder, when both are
    the same folder, when OUTPUT_DIR is inside INPUT_DIR with ``recursive`` (the
    outputs would be found as inputs by the next run), or when OUTPUT_DIR exists
    and is not a folder.
    """
    if not input_dir.exists():
        raise NLMeansError(f"{input_dir}: no such folder")
    if not input_dir.is_dir():
        raise NLMeansError(f"{input_dir}: is a file, expected a folder of images")
    if output_dir.exists() and not output_dir.is_dir():
        raise NLMeansError(f"{output_dir}: is a file, expected the output folder")
    source, target = input_dir.resolve(), output_dir.resolve()
    if source == target:
        raise NLMeansError(
            f"{output_dir}: OUTPUT_DIR is INPUT_DIR; choose another folder for the outputs"
        )
    if recursive and source in target.parents:
        raise NLMeansError(
            f"{output_dir}: OUTPUT_DIR is inside INPUT_DIR, so with --recursive the outputs "
            "would be read as inputs; choose a folder outside INPUT_DIR"
        )


def wanted(name: str, pattern: str | None) -> bool:
    """Return True for a file name the batch takes.

    ``pattern`` (a glob on the name) or an image extension nlmeans reads.
    Hidden files (``.name``, e.g. unfinished temporary outputs) never match.
    """
    if name.startswith("."):
        return False
    if pattern is not None:
        return fnmatch.fnmatch(name, pattern)
    extension = os.path.splitext(name)[1].lower()
    if extension in VIDEO_EXTENSIONS:
        return _video_extra()  # videos are looked for with the video extra only
    return extension in IMAGE_EXTENSIONS


def _video_extra() -> bool:
    """Return True when PyAV (the video extra) is installed."""
    import importlib.util

    return importlib.util.find_spec("av") is not None


def discover(
    input_dir: Path,
    output_dir: Path,
    pattern: str | None = None,
    recursive: bool = False,
    follow_links: bool = False,
) -> list[Item]:
    """Return the files to denoise, sorted by relative path, each with its mirrored target.

    Symbolic links to folders are never descended. A symbolic link to a file
    outside INPUT_DIR is listed with a ``skip_reason`` unless ``follow_links``.
    """
    items = []
    root = input_dir.resolve()

    def unreadable(error: OSError) -> None:
        # os.walk skips a folder it cannot list; its files would silently be left out.
        folder = Path(error.filename) if error.filename else input_dir
        relative = folder.relative_to(input_dir) if folder != input_dir else Path(".")
        why = error.strerror or str(error)
        items.append(
            Item(folder, relative, output_dir / relative, error=f"folder cannot be read ({why}); "
                 "its files were left out")
        )  # fmt: skip

    for folder, subfolders, names in os.walk(input_dir, onerror=unreadable):
        subfolders[:] = sorted(d for d in subfolders if not d.startswith(".")) if recursive else []
        for name in names:
            source = Path(folder) / name
            if not wanted(name, pattern):
                continue
            relative = source.relative_to(input_dir)
            if not source.is_file():
                if os.path.islink(source):  # a loop or a broken link: say so
                    problem = _link_problem(source)
                    items.append(Item(source, relative, output_dir / relative, error=problem))
                continue
            try:
                outside = not follow_links and root not in source.resolve().parents
            except (RuntimeError, OSError):  # a link loop created meanwhile
                items.append(Item(source, relative, output_dir / relative, error="symbolic link "
                                  "loop (it never reaches a file)"))  # fmt: skip
                continue
            reason = "symbolic link out of INPUT_DIR, not followed" if outside else None
            items.append(Item(source, relative, output_dir / relative, reason))
    return sorted(items, key=lambda item: item.relative.as_posix())


def _link_problem(link: Path) -> str:
    """Why a symbolic link named like an image is not a file: a loop or a broken link."""
    try:
        os.stat(link)
    except OSError as error:
        if error.errno == errno.ELOOP:
            return "is a symbolic link loop (it never reaches a file)"
        if error.errno == errno.ENOENT:
            return "is a broken symbolic link"
        return f"cannot be read ({error.strerror or error})"
    return "is not a regular file"


def check_inside(item: Item) -> None:
    """Raise ImageFileError when ``item``'s output folder resolves outside OUTPUT_DIR.

    That is, a symbolic link inside OUTPUT_DIR leading elsewhere. Call before creating it.
    """
    root = item.target.parents[len(item.relative.parts) - 1].resolve()  # OUTPUT_DIR
    folder = item.target.parent.resolve()  # follows links in the parts that exist
    if folder != root and root not in folder.parents:
        raise ImageFileError(
            item.target, f"output folder leads outside OUTPUT_DIR (to {folder}); not written"
        )
