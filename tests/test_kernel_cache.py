"""A read-only installation: Numba cannot write its kernel cache anywhere it looks.

Numba keeps compiled kernels beside their module, in the user's cache folder or
in NUMBA_CACHE_DIR; a process that can write none of them (a read-only
site-packages and HOME) used to fail on every command with "cannot cache
function". The subprocess below makes every one of Numba's cache folders
unwritable (except the temporary one nlmeans falls back to), as a read-only
file system would, whatever user the tests run as.
"""

import subprocess
import sys

import numpy as np
from skimage import data

from nlmeans.io import write_image

READ_ONLY = """
import sys, tempfile
import numba.core.caching as caching

writable = caching._CacheLocator.ensure_cache_path

def read_only(locator):
    path = locator.get_cache_path()
    if not path.startswith(tempfile.gettempdir() + "/nlmeans-kernels-"):
        raise PermissionError(30, "Read-only file system", path)
    writable(locator)

caching._CacheLocator.ensure_cache_path = read_only
sys.argv = ["nlmeans", *sys.argv[1:]]
from nlmeans._entry import main
main()
"""


def run_read_only(*args):
    return subprocess.run(
        [sys.executable, "-c", READ_ONLY, *args], capture_output=True, text=True, timeout=600
    )


def test_every_command_works_with_read_only_cache_folders(tmp_path):
    image = tmp_path / "small.png"
    write_image(image, np.ascontiguousarray(data.camera()[:48, :48]))
    info = run_read_only("info")
    assert info.returncode == 0, info.stderr
    assert "backends:" in info.stdout
    out = tmp_path / "out.png"
    done = run_read_only("denoise", str(image), "-o", str(out), "--r", "2")
    assert done.returncode == 0, done.stderr
    assert out.exists()
    notes = [line for line in done.stderr.splitlines() if "read-only" in line]
    assert len(notes) == 1 and notes[0].startswith("note: ")
    assert "Traceback" not in done.stderr
