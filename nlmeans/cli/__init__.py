"""The ``nlmeans`` command line (Typer): one module per command.

- :mod:`._denoise`, :mod:`._batch`, :mod:`._compare`, :mod:`._info`: the commands;
- :mod:`._common`: the app, the shared options, exit codes and error handling.
"""

from __future__ import annotations

# Importing the command modules registers their commands on the app.
from . import _batch, _compare, _denoise, _info  # noqa: F401
from ._common import app

__all__ = ["app", "main"]


def main() -> None:
    """Console entry point."""
    app(prog_name="nlmeans")
