"""The ``nlmeans`` command line (Typer): one module per command.

- :mod:`._denoise` (with :mod:`._streamed` for videos and :mod:`._maps` for σ
  maps and masks), :mod:`._batch`, :mod:`._compare`, :mod:`._info`: the commands;
- :mod:`._app`: the app, its exit codes and its one error boundary;
- :mod:`._options`: the options the commands that denoise share, named as the
  fields of the request record each command builds from them once;
- :mod:`._common`: warming the backend a request runs on, JSON and report files.
"""

from __future__ import annotations

# Importing the command modules registers their commands on the app.
from . import _batch, _compare, _denoise, _info  # noqa: F401
from ._app import app, run

__all__ = ["app", "main"]


def main(process_ends: bool = False) -> None:
    """Console entry point; ``process_ends`` when the process ends with the command."""
    run(process_ends)
