"""The help text as users read it: ``--help`` of every command, rendered at a fixed width.

Extras' names (``nlmeans[video]``) must survive rendering, boolean options must
read as flags (``--overwrite``, not ``--overwrite <bool>``), and usage lines
must name arguments as they are typed (``INPUT``, not ``{INPUT}``).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
import typer
from typer.testing import CliRunner

from nlmeans.cli import app

GROUP = typer.main.get_command(app)
COMMANDS = sorted(GROUP.commands)
WIDTH = "80"


def render(*args: str) -> str:
    result = CliRunner().invoke(app, [*args, "--help"], prog_name="nlmeans", env={"COLUMNS": WIDTH})
    assert result.exit_code == 0, result.output
    return result.output


def flat(text: str) -> str:
    """The text with its line breaks and indentation folded into single spaces."""
    return " ".join(text.split())


def test_every_command_is_covered():
    assert set(COMMANDS) == {"batch", "compare", "denoise", "info"}


@pytest.mark.parametrize("name", COMMANDS)
def test_usage_line_names_arguments_without_braces(name):
    usage = render(name).splitlines()[0]
    assert usage.startswith(f"Usage: nlmeans {name} [OPTIONS]")
    assert "{" not in usage and "}" not in usage
    for param in GROUP.commands[name].params:
        if param.param_type_name == "argument":
            assert f" {param.metavar or param.name.upper()}" in usage


@pytest.mark.parametrize("name", COMMANDS)
def test_boolean_options_read_as_flags(name):
    text = render(name)
    assert "<bool>" not in text
    flags = [p for p in GROUP.commands[name].params if getattr(p, "is_flag", False)]
    assert flags or name == "info"
    for param in flags:
        longest = max(param.opts, key=len)
        # The option's line in the table: the flag, then straight to its help.
        line = next(row for row in text.splitlines() if re.search(rf"{longest}\b", row))
        after = line.split(longest, 1)[1]
        assert not after.lstrip().startswith("<"), line


@pytest.mark.parametrize("name", COMMANDS)
def test_extras_names_are_printed(name):
    text = flat(render(name))
    assert "(needs nlmeans)" not in text
    written = [
        extra
        for param in GROUP.commands[name].params
        for extra in re.findall(r"nlmeans\[\w+\]", getattr(param, "help", None) or "")
    ]
    for extra in written:
        assert extra in text


def test_extras_of_denoise_and_batch():
    for name in ("denoise", "batch"):
        text = flat(render(name))
        assert "nlmeans[video]" in text and "nlmeans[dask]" in text


def test_help_in_a_fresh_process():
    env = {**os.environ, "COLUMNS": WIDTH}
    done = subprocess.run(
        [sys.executable, "-m", "nlmeans", "denoise", "--help"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Usage: nlmeans denoise [OPTIONS] INPUT\n")
    assert "nlmeans[video]" in flat(done.stdout)
    assert re.search(r"^\s+--overwrite\s+Replace", done.stdout, re.MULTILINE)
    assert max(len(line) for line in done.stdout.splitlines()) <= int(WIDTH)
