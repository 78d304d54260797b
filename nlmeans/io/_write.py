"""Writing a file: encoded in memory, then published atomically (or not at all).

The file is encoded in memory first, written to a hidden temporary file in
the output's folder, flushed to disk and renamed into place: an interrupted
or failed run leaves either the old file or the complete new one, never a
partial one. Without replacing, the rename is a no-replace one
(:func:`publish_new`), so a file another process created meanwhile is kept.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import signal
import tempfile
import threading
from pathlib import Path

import numpy as np

from ..errors import NLMeansError
from . import _png16 as png16
from ._formats import JPEG_QUALITY, VIDEO_EXTENSIONS, check_format, check_picture_format
from ._noreplace import rename_no_replace
from ._picture import ImageFileError, Picture, error_reason


def encode_image(
    path: Path, array: np.ndarray, like: Picture | None = None, codec: str | None = None
) -> bytes:
    """Encode ``array`` in the format ``path``'s extension names.

    ``like``: the :class:`Picture` the array was computed from (its axes and
    the metadata the format keeps: compression, resolution, spacing, frame
    rate); None for a single image without metadata. ``codec``: videos only
    (:func:`nlmeans.io._video.encode_video`).

    Parameters
    ----------
    path : Path
        The output path; its extension names the format.
    array : ndarray
        The pixels.
    like : Picture, optional
        The picture the array was computed from.
    codec : str, optional
        The video codec.

    Returns
    -------
    bytes
        The whole file.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if like is None:
        check_format(path, array.dtype, 1 if array.ndim == 2 else array.shape[-1])
    else:
        check_picture_format(path, Picture(array, None, like.layout if like.is_stack else None))
    if suffix == ".npy":
        buffer = io.BytesIO()
        np.save(buffer, array, allow_pickle=False)
        return buffer.getvalue()
    if suffix in VIDEO_EXTENSIONS:
        from ._video import encode_video

        return encode_video(path, array, like, codec)
    if suffix in (".tif", ".tiff"):
        from ._tiff import encode_tiff

        return encode_tiff(array, like)
    if suffix == ".png" and array.dtype == np.uint16:
        return png16.encode(array)
    from PIL import Image

    buffer = io.BytesIO()
    options = {"quality": JPEG_QUALITY} if suffix in (".jpg", ".jpeg") else {}
    Image.fromarray(np.ascontiguousarray(array)).save(
        buffer, format={".jpg": "JPEG", ".jpeg": "JPEG"}.get(suffix, suffix[1:].upper()), **options
    )
    return buffer.getvalue()


class OutputExistsError(ImageFileError):
    """The output appeared while it was being computed, and may not be replaced."""


@contextlib.contextmanager
def final_publish(final: bool = True):
    """Hold interrupts around the rename that publishes a command's last output.

    Ctrl-C and SIGTERM are held from just before it and, once it succeeded, stay held
    (the run is done; the process exits 0 and drops them), so that an interrupt never
    lands between a published output and the end of the run. If the rename fails they
    are released (a pending one is then raised). No effect unless ``final``, off the
    main thread or where signals cannot be blocked.

    Held twice over: blocked in the main thread, and their Python handlers replaced by
    one that only notes them. Blocking alone does not hold them while other threads
    run (Numba's workers, a helper's readers): the kernel then hands the signal to one
    of those, and Python still runs the handler in the main thread.
    """
    held = (signal.SIGINT, signal.SIGTERM)
    usable = hasattr(signal, "pthread_sigmask")
    if not (final and usable and threading.current_thread() is threading.main_thread()):
        yield
        return
    noted: list = []
    handlers = {signum: signal.signal(signum, lambda n, _: noted.append(n)) for signum in held}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    except BaseException as error:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
        if noted:
            raise KeyboardInterrupt from error
        raise
    if not _held_since:
        _held_since.append((previous, handlers))


#: The signal mask and handlers before :func:`final_publish` held the interrupts (empty:
#: none held).
_held_since: list = []


def hold_until_exit() -> None:
    """Ignore Ctrl-C and SIGTERM for good once a command's last output is published.

    For a process that ends with the command: at its finalization Python resets the
    handlers it set to the default, under which a held signal that reaches another
    thread would still kill the process after its output was published.
    """
    if _held_since:
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_IGN)


def release_held_signals() -> None:
    """Drop the interrupts held since a command's last output was published; hold no more.

    For a command run inside a longer-lived process (tests, a Python
    caller), whose later work and child processes must see Ctrl-C again.
    """
    if not _held_since:
        return
    held = {signal.SIGINT, signal.SIGTERM}
    while held & signal.sigpending():
        signal.sigtimedwait(held, 0)  # consume it: the run it would interrupt is done
    mask, handlers = _held_since.pop()
    signal.pthread_sigmask(signal.SIG_SETMASK, mask)
    for signum, handler in handlers.items():
        signal.signal(signum, handler)


def write_image(
    path,
    array: np.ndarray,
    *,
    replace: bool = True,
    like: Picture | None = None,
    codec: str | None = None,
    final: bool = False,
) -> None:
    """Write ``array`` to ``path`` atomically, in the format its extension names.

    ``like`` is the :class:`Picture` the array was computed from: the output
    keeps its axes and the metadata the format carries (:func:`encode_image`);
    ``codec`` chooses a video's codec.

    The file is encoded in memory, written to a hidden temporary file in the
    same folder, flushed to disk and renamed over ``path``; on any failure or
    interruption the temporary file is removed and ``path`` is untouched. A
    replaced file keeps its permission bits; a new one gets the usual ones
    (0o666 minus the umask).

    With ``replace=False`` the file is published only if ``path`` does not
    exist at that very moment (:func:`publish_new`, no check-then-rename race):
    a file another process created meanwhile is kept and
    :class:`OutputExistsError` is raised.

    ``final``: the command line's last output; interrupts are held from its
    rename on (:func:`final_publish`).

    Parameters
    ----------
    path : path-like
        The output; its extension names the format.
    array : ndarray
        The pixels.
    replace : bool
        Whether an existing ``path`` is replaced.
    like : Picture, optional
        The picture the array was computed from.
    codec : str, optional
        The video codec.
    final : bool
        Whether this is the command's last output (:func:`final_publish`).
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise ImageFileError(path, f"output folder {path.parent} does not exist")
    try:
        data = encode_image(path, array, like, codec)
    except NLMeansError:
        raise
    except Exception as error:
        raise ImageFileError(path, f"cannot encode ({error_reason(error)})") from error
    mode = new_file_mode(path)
    handle, temp_name = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}"
    )
    try:
        with os.fdopen(handle, "wb") as temp:
            temp.write(data)
            temp.flush()
            os.fsync(temp.fileno())
        publish_file(temp_name, path, mode, replace=replace, final=final)
    except BaseException as error:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        if isinstance(error, FileExistsError):
            raise OutputExistsError(
                path, "already exists (it appeared meanwhile); pass --overwrite to replace it"
            ) from None
        if isinstance(error, OSError):
            raise ImageFileError(path, f"cannot write ({error.strerror or error})") from error
        raise
    sync_folder(path.parent)


def publish_file(temp, path, mode: int, *, replace: bool, final: bool) -> None:
    """Give the complete file ``temp`` the bits ``mode`` and move it to ``path``.

    ``mode``: :func:`new_file_mode` of ``path`` (``mkstemp`` makes ``temp`` private).
    ``replace``: an existing ``path`` is replaced, else :func:`publish_new` refuses to.
    ``final``: the command's last output (:func:`final_publish`).
    """
    os.chmod(temp, mode)
    with final_publish(final):
        if replace:
            os.replace(temp, path)
        else:
            publish_new(temp, path)


def publish_new(temp, path) -> None:
    """Move ``temp`` to ``path`` only if ``path`` does not exist; FileExistsError if it does.

    Atomic where the system allows: ``renameat2(RENAME_NOREPLACE)`` (Linux),
    else a hard link of the temporary file then its removal (the link fails
    if ``path`` exists), else, on file systems with neither, an existence
    check right before the rename.

    Parameters
    ----------
    temp : path-like
        The complete temporary file.
    path : path-like
        Where it is published.
    """
    if rename_no_replace(temp, path):
        return
    try:
        os.link(temp, path)  # FileExistsError if path exists
    except FileExistsError:
        raise
    except OSError as error:  # no hard links here (e.g. FAT, some network shares)
        if error.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
            raise
        if os.path.lexists(path):
            raise FileExistsError(
                errno.EEXIST, os.strerror(errno.EEXIST), os.fsdecode(path)
            ) from None
        os.rename(temp, path)
        return
    os.unlink(temp)


def new_file_mode(path: Path, folder: bool = False) -> int:
    """Permission bits for ``path``: its own if it exists, else 0o666 (0o777) minus the umask."""
    if path.exists():
        return path.stat().st_mode & 0o7777
    umask = os.umask(0)
    os.umask(umask)
    return (0o777 if folder else 0o666) & ~umask


def sync_folder(folder: Path) -> None:
    """Flush the rename to disk where the platform allows opening a folder."""
    with contextlib.suppress(OSError, AttributeError):
        handle = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(handle)
        finally:
            os.close(handle)
