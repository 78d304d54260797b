"""Renaming a file or folder into place only if nothing is there: no check-then-rename race.

Used to publish outputs (image files, ``.zarr`` stores) without replacing one
that another process created meanwhile.
"""

from __future__ import annotations

import contextlib
import errno
import os

_RENAME_NOREPLACE = 1
_AT_FDCWD = -100
_renameat2 = None


def _renameat2_function():
    """Load glibc's ``renameat2`` through ctypes, or None where it is missing (not Linux)."""
    global _renameat2
    if _renameat2 is None:
        _renameat2 = False
        with contextlib.suppress(Exception):
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            function = libc.renameat2
            function.argtypes = [
                ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint
            ]  # fmt: skip
            function.restype = ctypes.c_int
            _renameat2 = function
    return _renameat2 or None


def rename_no_replace(source, target) -> bool:
    """Rename ``source`` to ``target`` atomically unless ``target`` exists.

    Returns True when renamed, False where the system has no atomic no-replace
    rename (the caller falls back); raises FileExistsError when ``target``
    exists and OSError for any other failure.
    """
    renameat2 = _renameat2_function()
    if renameat2 is None:
        return False
    import ctypes

    source, target = os.fsencode(source), os.fsencode(target)
    if renameat2(_AT_FDCWD, source, _AT_FDCWD, target, _RENAME_NOREPLACE) == 0:
        return True
    code = ctypes.get_errno()
    if code == errno.EEXIST:
        raise FileExistsError(code, os.strerror(code), os.fsdecode(target))
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EPERM):
        return False
    raise OSError(code, os.strerror(code), os.fsdecode(target))


def rename_folder_no_replace(source, target) -> None:
    """Move the folder ``source`` to ``target`` unless ``target`` exists (FileExistsError).

    Atomic where the system allows (:func:`rename_no_replace`); elsewhere a plain
    rename, which the system refuses onto a file or a non-empty folder, after
    an existence check for an empty one.
    """
    if rename_no_replace(source, target):
        return
    if os.path.lexists(target):
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), os.fsdecode(target))
    try:
        os.rename(source, target)
    except OSError as error:
        if error.errno in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR):
            raise FileExistsError(error.errno, os.strerror(error.errno), str(target)) from None
        raise
