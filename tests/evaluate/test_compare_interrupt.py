"""Ctrl-C stops ``compare`` while a peer holds the GIL: exit 130, one line, no output.

The peer is replaced (in every process of the command: the script below is
what a spawned helper process runs first too) by a function that sends
SIGINT to the command's process group, as a terminal's Ctrl-C does, and then
never returns while holding the GIL. Nothing depends on timing: the command
can only end by honouring the interrupt while the peer still runs.
"""

import os
import signal
import subprocess
import sys
import textwrap

import imageio.v3 as iio
import numpy as np
import pytest

pytest.importorskip("skimage")

SCRIPT = textwrap.dedent(
    """
    import collections, itertools, os, signal
    import skimage.restoration

    def hostile(*args, **kwargs):
        os.killpg(os.getpgrp(), signal.SIGINT)  # Ctrl-C: the whole process group
        collections.deque(itertools.repeat(0), maxlen=0)  # never returns, GIL held

    skimage.restoration.denoise_nl_means = hostile

    if __name__ == "__main__":
        import sys
        from nlmeans._entry import main
        sys.argv[0] = "nlmeans"
        sys.exit(main())
    """
)


@pytest.mark.skipif(not hasattr(os, "killpg"), reason="needs POSIX process groups")
def test_ctrl_c_while_the_peer_holds_the_gil(tmp_path):
    image = np.random.default_rng(0).integers(0, 256, (48, 56), dtype=np.uint8)
    iio.imwrite(tmp_path / "g.png", image)
    (tmp_path / "run.py").write_text(SCRIPT)
    csv, montage = tmp_path / "out.csv", tmp_path / "montage.png"
    command = [sys.executable, str(tmp_path / "run.py"), "compare", str(tmp_path / "g.png")]
    command += ["--sigma", "10", "--r", "2", "--f", "1", "--csv", str(csv)]
    process = subprocess.Popen(
        [*command, "--montage", str(montage)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group: the SIGINT stays inside it
    )
    try:
        out, err = process.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        pytest.fail("compare did not honour Ctrl-C while the peer held the GIL")
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 130, (out, err)
    lines = [line for line in err.splitlines() if not line.startswith("compiling kernels")]
    assert lines == ["error: interrupted"], err
    assert not csv.exists() and not montage.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.png", "run.py"]
