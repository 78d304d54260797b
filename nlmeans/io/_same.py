"""Whether an output path is one of the inputs: the check every command makes before writing.

Two paths name the same file when their real paths (symbolic links followed)
are equal, or when both exist and share device and inode numbers (hard links,
bind mounts, case-insensitive file systems).
"""

from __future__ import annotations

import os
from pathlib import Path

from ._picture import ImageFileError


def same_file(a, b) -> bool:
    """Tell whether paths ``a`` and ``b`` reach the same file (or folder).

    Parameters
    ----------
    a, b : path-like
        The paths to compare (missing paths are compared by name).

    Returns
    -------
    bool
    """
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        first, second = os.stat(a), os.stat(b)
    except OSError:
        return False
    return (first.st_dev, first.st_ino) == (second.st_dev, second.st_ino)


def refuse_input_as_output(output, inputs, what: str = "output") -> None:
    """Raise ImageFileError (one line) when ``output`` reaches any path in ``inputs``.

    ``what`` names the output in the message (``--csv``, ``--montage``, ``-o``).

    Parameters
    ----------
    output : path-like
        The path about to be written.
    inputs : iterable of path-like
        The paths read.
    what : str
        The output's name in the message.
    """
    for source in inputs:
        if source is not None and same_file(output, source):
            raise ImageFileError(
                Path(output),
                f"{what} is the input file {source}; writing it would destroy the input, "
                "choose another path",
            )
