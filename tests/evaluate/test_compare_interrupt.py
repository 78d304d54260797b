"""Ctrl-C stops ``compare`` while a peer holds the GIL: exit 130, one line, no output.

scikit-image's ``denoise_nl_means`` is replaced, in every Python process the
command starts (a ``sitecustomize`` module on PYTHONPATH), by a function that
sends SIGINT to the command, as a terminal's Ctrl-C does, and then never
returns while holding the GIL. Nothing depends on timing: the command can only
end by honouring the interrupt while the peer still runs.
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

#: The command, told its own PID (the helper processes it starts inherit the variable).
LAUNCH = (
    "import os, sys; os.environ['NLMEANS_TEST_COMMAND_PID'] = str(os.getpid()); "
    "sys.argv[0] = 'nlmeans'; from nlmeans._entry import main; sys.exit(main())"
)

SITECUSTOMIZE = textwrap.dedent(
    """
    import collections, itertools, os, signal
    import skimage.restoration

    def hostile(*args, **kwargs):
        # Leave this process's PID for the test's clean-up, then Ctrl-C the command.
        open(os.path.join(os.path.dirname(__file__), f"held.{os.getpid()}"), "w").close()
        os.kill(int(os.environ["NLMEANS_TEST_COMMAND_PID"]), signal.SIGINT)
        collections.deque(itertools.repeat(0), maxlen=0)  # never returns, GIL held

    skimage.restoration.denoise_nl_means = hostile
    """
)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.skipif(not hasattr(os, "killpg"), reason="needs POSIX process groups")
def test_ctrl_c_while_the_peer_holds_the_gil(tmp_path):
    image = np.random.default_rng(0).integers(0, 256, (48, 56), dtype=np.uint8)
    iio.imwrite(tmp_path / "g.png", image)
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(SITECUSTOMIZE)
    csv, montage = tmp_path / "out.csv", tmp_path / "montage.png"
    command = [sys.executable, "-c", LAUNCH, "compare", str(tmp_path / "g.png")]
    command += ["--sigma", "10", "--r", "2", "--f", "1", "--csv", str(csv)]
    paths = [str(hooks), *filter(None, [os.environ.get("PYTHONPATH")])]
    process = subprocess.Popen(
        [*command, "--montage", str(montage)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group: killed as one below
        env={**os.environ, "PYTHONPATH": os.pathsep.join(paths)},
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
        held = [int(p.suffix[1:]) for p in hooks.glob("held.*")]
        left_running = [pid for pid in held if _alive(pid)]
        for pid in left_running:
            os.kill(pid, signal.SIGKILL)
    assert held, err  # the peer ran and sent the interrupt
    assert not left_running, "the peer's process was left running"
    assert process.returncode == 130, (out, err)
    lines = [line for line in err.splitlines() if not line.startswith("compiling kernels")]
    assert lines == ["error: interrupted"], err
    assert not csv.exists() and not montage.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.png", "hooks"]
