"""``nlmeans info``: versions, threads, cache and backends."""

import json
import subprocess
import sys

import imageio.v3 as iio
import numba
import numpy as np
import pytest
from typer.testing import CliRunner

import nlmeans
from nlmeans.backends import REGISTRY
from nlmeans.cli import app

runner = CliRunner()


def test_info_names_the_cpu_backend_and_versions():
    result = runner.invoke(app, ["info"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert any(line.split()[:2] == ["cpu", "available:"] for line in lines)
    assert f"nlmeans {nlmeans.__version__}" in result.stdout
    assert f"numpy {np.__version__}" in result.stdout
    assert "CPU threads:" in result.stdout and "kernel cache:" in result.stdout


def test_info_json_lists_every_backend():
    result = runner.invoke(app, ["info", "--json"])
    document = json.loads(result.stdout)
    assert list(document["backends"]) == list(REGISTRY)  # in registry order
    assert document["backends"]["cpu"]["available"] is True
    for state in document["backends"].values():
        assert state["available"] or state["detail"]  # an unavailable backend says why
    assert document["versions"]["numba"] == numba.__version__
    assert 1 <= document["cpu_threads"] <= numba.config.NUMBA_NUM_THREADS


@pytest.mark.parametrize("command", ["denoise", "batch", "compare"])
def test_threads_option_reaches_numba(tmp_path, command):
    source = tmp_path / "in" / "a.png"
    source.parent.mkdir()
    iio.imwrite(source, np.random.default_rng(0).integers(0, 256, (16, 16), dtype=np.uint8))
    args = {
        "denoise": [str(source), "-o", str(tmp_path / "out.png")],
        "batch": [str(source.parent), str(tmp_path / "out")],
        "compare": [str(source), "--sigma", "10", "--no-opencv"],
    }[command]
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        result = runner.invoke(app, [command, *args, "--threads", "1"])
        assert result.exit_code == 0, result.output
        assert numba.get_num_threads() == 1
    finally:
        numba.set_num_threads(before)


def test_help_is_fast_and_light():
    """``nlmeans --help`` does not import Numba or scikit-image."""
    code = (
        "import sys; from nlmeans.cli import app; "
        "from typer.testing import CliRunner; CliRunner().invoke(app, ['--help']); "
        "print(sorted(m for m in ('numba', 'skimage', 'cv2') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
