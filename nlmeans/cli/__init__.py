"""The ``nlmeans`` command line (Typer): one module per command.

- :mod:`.denoise`, :mod:`.batch`, :mod:`.compare`, :mod:`.info`: the commands;
- :mod:`.common`: the app, the shared options, exit codes and error handling.
"""

from __future__ import annotations

from . import batch, compare, denoise, info  # noqa: F401  (importing registers the commands)
from .common import app

__all__ = ["app", "main"]


def main() -> None:
    """Console entry point."""
    app(prog_name="nlmeans")
